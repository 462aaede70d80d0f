"""The stored group mapping of an organization, and what a mapping needs to know of members."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Executable, Table, bindparam, select, update
from sqlalchemy.orm import Session

from ..domain.mappings import GroupRef, Mapping
from ..mappings_file import from_json
from .models import GroupMappingRow, GroupMember, GroupRow, UserRow
from .repositories import chunks
from .types import utcnow


@dataclass(frozen=True)
class MemberFacts:
    """A member as a mapping sees them: the seat held, how it came, and their groups."""

    pk: int
    id: str
    user_name: str
    seat_type: str
    seat_source: str | None
    pinned: bool
    active: bool
    claim_groups: tuple[str, ...]
    groups: tuple[tuple[str, str | None, str], ...]  # (displayName, externalId, id)

    def refs(self) -> tuple[GroupRef, ...]:
        """Every name a rule may match: SCIM groups, then the groups claim (SEATS.md §5)."""
        scim = [
            GroupRef(name, external_id, group_id) for name, external_id, group_id in self.groups
        ]
        return tuple(scim + [GroupRef.claim(value) for value in self.claim_groups])


@cache
def _mapping_row(for_update: bool) -> Executable:
    """Every group change asks for it: built once (see repositories.py)."""
    query = select(GroupMappingRow).where(GroupMappingRow.org_pk == bindparam("org_pk"))
    return query.with_for_update() if for_update else query


@cache
def _mapping_rules() -> Executable:
    """The rules column alone, on the table: no mapped object to load (see repositories.py)."""
    table = cast(Table, GroupMappingRow.__table__)
    return select(table.c.rules).where(table.c.org_pk == bindparam("org_pk"))


class GroupMappingRepository:
    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def get(self, for_update: bool = False) -> GroupMappingRow | None:
        return self.session.scalar(_mapping_row(for_update), {"org_pk": self.org_pk})

    def mapping(self) -> Mapping | None:
        """The stored rules, as the domain knows them; None when none is stored.

        Read once per unit of work (a group write asks several times), kept in the
        session's `info`, which lives as long as the transaction.
        """
        key = ("group_mapping", self.org_pk)
        if key not in self.session.info:
            rules = self.session.scalar(_mapping_rules(), {"org_pk": self.org_pk})
            self.session.info[key] = from_json(rules) if rules is not None else None
        mapping: Mapping | None = self.session.info[key]
        return mapping

    def put(self, row: GroupMappingRow) -> None:
        row.org_pk = self.org_pk
        self.session.add(row)
        self.session.flush()
        self.session.info.pop(("group_mapping", self.org_pk), None)

    def members(
        self, pks: Iterable[int] | None = None, for_update: bool = False
    ) -> Iterator[MemberFacts]:
        """The named members of this organization (every member when None), with groups.

        With `for_update`, their rows are locked in key order, before any seat is: the
        order every other seat change takes (member, then allocation), so no deadlock.
        """
        if pks is None:
            yield from self._facts(None, for_update)
            return
        for batch in chunks(sorted(set(pks))):
            yield from self._facts(batch, for_update)

    def _facts(self, pks: list[int] | None, for_update: bool) -> Iterator[MemberFacts]:
        query = select(
            UserRow.pk,
            UserRow.id,
            UserRow.user_name,
            UserRow.seat_type,
            UserRow.seat_source,
            UserRow.pinned_seat_type,
            UserRow.active,
            UserRow.claim_groups,
        ).where(UserRow.org_pk == self.org_pk)
        if pks is not None:
            query = query.where(UserRow.pk.in_(pks))
        if for_update:
            query = query.with_for_update()
        rows = self.session.execute(query.order_by(UserRow.pk)).all()
        groups = self._groups([row.pk for row in rows] if pks is not None else None)
        for row in rows:
            yield MemberFacts(
                row.pk,
                row.id,
                row.user_name,
                row.seat_type,
                row.seat_source,
                row.pinned_seat_type is not None,
                row.active,
                tuple(row.claim_groups or ()),
                tuple(groups.get(row.pk, ())),
            )

    def _groups(self, pks: list[int] | None) -> dict[int, list[tuple[str, str | None, str]]]:
        query = (
            select(GroupMember.user_pk, GroupRow.display_name, GroupRow.external_id, GroupRow.id)
            .join(GroupRow, GroupRow.pk == GroupMember.group_pk)
            .where(GroupRow.org_pk == self.org_pk)
        )
        if pks is not None:
            query = query.where(GroupMember.user_pk.in_(pks))
        found: dict[int, list[tuple[str, str | None, str]]] = {}
        for user_pk, display_name, external_id, group_id in self.session.execute(query):
            found.setdefault(user_pk, []).append((display_name, external_id, group_id))
        return found

    def set_seats(self, pks: Iterable[int], seat_type: str, source: str, seated: bool) -> None:
        """The seat of many members at once; `seated` ends their wait for a seat.

        Only the seat columns, and the version of the SCIM resource that shows them: the
        counters are the SeatRepository's, and the caller (SeatDesk) changes both in the
        same transaction.
        """
        values: dict[str, Any] = {
            "seat_type": seat_type,
            "seat_source": source,
            "version": UserRow.version + 1,
            "last_modified": utcnow(),
        }
        if seated:
            values["waiting_since"] = None
        for batch in chunks(sorted(pks)):
            self.session.execute(
                update(UserRow)
                .where(UserRow.org_pk == self.org_pk, UserRow.pk.in_(batch))
                .values(**values)
            )
