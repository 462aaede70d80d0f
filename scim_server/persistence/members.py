"""Members as the admin API reads them: by id, in batches, and filtered pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from .models import UserRow
from .repositories import chunks


@dataclass(frozen=True)
class MemberFilter:
    seat_type: str | None = None
    role: str | None = None
    active: bool | None = None


class MemberRepository:
    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def by_pk(self, pk: int, for_update: bool = False) -> UserRow | None:
        return self.session.scalar(self._one(UserRow.pk == pk, for_update))

    def by_id(self, member_id: str, for_update: bool = False) -> UserRow | None:
        if "\x00" in member_id:  # no id holds NUL, and PostgreSQL text cannot be asked for it
            return None
        return self.session.scalar(self._one(UserRow.id == member_id, for_update))

    def by_ids(self, ids: Iterable[str], for_update: bool = False) -> dict[str, UserRow]:
        """The named members of this organization, locked in key order (no deadlocks)."""
        found: dict[str, UserRow] = {}
        for batch in chunks(sorted(set(ids))):
            query = self._one(UserRow.id.in_(batch), for_update).order_by(UserRow.pk)
            found.update({row.id: row for row in self.session.scalars(query)})
        return found

    def page(self, wanted: MemberFilter, offset: int, limit: int) -> list[UserRow]:
        # Key order: stable across pages whatever changes between requests.
        query = self._filtered(select(UserRow), wanted).order_by(UserRow.pk)
        return list(self.session.scalars(query.offset(offset).limit(limit)))

    def with_roles(self, roles: Iterable[str], limit: int) -> list[UserRow]:
        """Active members holding one of `roles`, the earliest first, at most `limit`."""
        query = self._one(UserRow.role.in_(list(roles)), for_update=False).where(
            UserRow.active.is_(True)
        )
        return list(self.session.scalars(query.order_by(UserRow.pk).limit(limit)))

    def count(self, wanted: MemberFilter) -> int:
        query = self._filtered(select(func.count()).select_from(UserRow), wanted)
        return self.session.scalar(query) or 0

    def _one(self, criterion: ColumnElement[bool], for_update: bool) -> Select[UserRow]:
        query = select(UserRow).where(UserRow.org_pk == self.org_pk, criterion)
        return query.with_for_update() if for_update else query

    def _filtered(self, query: Select[Any], wanted: MemberFilter) -> Select[Any]:
        query = query.where(UserRow.org_pk == self.org_pk)
        if wanted.seat_type is not None:
            query = query.where(UserRow.seat_type == wanted.seat_type)
        if wanted.role is not None:
            query = query.where(UserRow.role == wanted.role)
        if wanted.active is not None:
            query = query.where(UserRow.active.is_(wanted.active))
        return query
