"""SCIM Groups, with membership kept as rows (see scim/patch.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from scim2_models import Context, InvalidValueException
from sqlalchemy.orm import Session

from ..domain.mappings import GroupRef
from ..persistence.db import Reader
from ..persistence.membership import change_one_member
from ..persistence.models import GroupRow
from ..persistence.repositories import GroupRepository, UserRepository
from ..persistence.types import utcnow
from ..scim import patch as scim_patch
from ..scim.requests import validate
from ..scim.resources import group_columns, group_model, group_payload
from ..scim.schema import GroupModel
from . import group_mappings
from .resources import ResourceService, check_version, stamp, touch


class GroupService(ResourceService):
    resource_type = "Group"
    endpoint = "Groups"
    repository_class = GroupRepository

    def create(self, body: Any) -> dict[str, Any]:
        model = validate(GroupModel, body, Context.RESOURCE_CREATION_REQUEST)
        with self.db.unit_of_work(write=True) as session:
            row = stamp(GroupRow(**group_columns(model)))
            self.repository(session).add(row, f"a group named {model.display_name!r}")
            named = self._named(session, model.members)
            self.repository(session).add_members(row.pk, named)
            if self._mapped(session, row):
                self._reevaluate(session, named.keys())
            return self.payloads(session, [row], True)[0]

    def replace(self, group_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        model = validate(GroupModel, body, Context.RESOURCE_REPLACEMENT_REQUEST)
        with self.db.unit_of_work(write=True) as session:
            row = self._locked(session, group_id)
            check_version(row, if_match)
            before = _refs(row)
            mapped = self._mapped(session, row)
            moved = self._set_members(session, row.pk, self._named(session, model.members))
            self._write(session, row, group_columns(model))
            self._after_change(session, row, before, mapped, moved)
            return self.payloads(session, [row], True)[0]

    def patch(
        self, group_id: str, body: Any, if_match: str | None = None, with_members: bool = True
    ) -> dict[str, Any]:
        parsed = scim_patch.parse_group_patch(body, group_id)
        if if_match is None and not with_members:
            quick = self._one_member(group_id, parsed)
            if quick is not None:
                return quick
        with self.db.unit_of_work(write=True) as session:
            row = self._locked(session, group_id)
            check_version(row, if_match)
            before = _refs(row)
            mapped = self._mapped(session, row)
            moved = self._apply_member_changes(session, row.pk, parsed.member_changes, mapped)
            changed: dict[str, Any] = {}
            if parsed.other is not None:
                model = group_model(self.payloads(session, [row], False)[0])
                if scim_patch.apply(parsed.other, model):
                    changed = group_columns(model)
            if moved or changed:
                self._write(session, row, changed)
                self._after_change(session, row, before, mapped, moved)
            return self.payloads(session, [row], with_members)[0]

    def _one_member(self, group_id: str, parsed: scim_patch.GroupPatch) -> dict[str, Any] | None:
        """The PATCH that adds or removes one member, in one statement where the database
        allows it and no group mapping is stored (persistence/membership.py); None when
        the full PATCH must run."""
        changes = parsed.member_changes
        if parsed.other is not None or len(changes) != 1:
            return None
        (change,) = changes
        if change.action not in ("add", "remove") or change.ids is None or len(change.ids) != 1:
            return None
        with self.db.one_statement() as connection:
            if connection is None:
                return None
            (user_id,) = change.ids
            now = utcnow()
            adding = change.action == "add"
            display = dict(change.displays).get(user_id)
            done = change_one_member(
                connection, self.org_pk, group_id, user_id, adding, display, now
            )
            if done.mapped:
                return None  # the membership may move a seat: the full PATCH re-evaluates
            row = SimpleNamespace(**self.found(done.group, group_id))
            if adding and not done.user_found:
                raise _unknown_members([user_id])
            if done.changed:
                row.version, row.last_modified = row.version + 1, now  # as touch() does
            return self.payloads(connection, [row], False)[0]

    def delete(self, resource_id: str, if_match: str | None = None) -> None:
        """Its members leave it: those a rule routed by it are re-evaluated (SEATS.md §5)."""
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, resource_id, for_update=True)
            check_version(row, if_match)
            members = (
                self.repository(session).member_pks(row.pk) if self._mapped(session, row) else set()
            )
            self.repository(session).delete(row)
            self._reevaluate(session, members)

    # --- group mappings (SEATS.md §5) ------------------------------------------------------

    def _mapped(self, session: Session, row: Any) -> bool:
        return group_mappings.maps_any(session, self.org_pk, [_refs(row)])

    def _reevaluate(self, session: Session, member_pks: Iterable[int]) -> None:
        tenant = self.tenant
        group_mappings.reevaluate(session, self.org_pk, tenant.plan, tenant.actor, member_pks)

    def _after_change(
        self, session: Session, row: Any, before: GroupRef, mapped: bool, moved: Changed
    ) -> None:
        """Re-evaluate the members whose groups changed, or all, if the group's names did.

        A membership change costs the members it names (issue: "in proportion to the
        members named"); a rename or new externalId of a mapped group can change the rule
        of every member, so then all its members are re-evaluated.
        """
        renamed = _refs(row) != before
        if renamed and (mapped or self._mapped(session, row)):
            self._reevaluate(session, self.repository(session).member_pks(row.pk) | moved.pks)
        elif mapped and moved.pks:
            self._reevaluate(session, moved.pks)

    def payloads(
        self, session: Reader, rows: list[Any], with_relations: bool
    ) -> list[dict[str, Any]]:
        members = (
            self.repository(session).members_of([r.pk for r in rows]) if with_relations else {}
        )
        return [group_payload(r, members.get(r.pk), self.locate) for r in rows]

    def _apply_member_changes(
        self,
        session: Session,
        group_pk: int,
        changes: list[scim_patch.MemberChange],
        track: bool,
    ) -> Changed:
        """Apply RFC 7644 §3.5.2 member operations; with `track`, say whom they named."""
        repository = self.repository(session)
        result = Changed()
        for change in changes:
            if change.action == "remove" and change.ids is None:
                pks = repository.member_pks(group_pk) if track else set()
                result.add(repository.remove_members(group_pk) > 0, pks)
            elif change.action == "remove":
                found = UserRepository(session, self.org_pk).pks_by_id(change.ids or ())
                result.add(repository.remove_members(group_pk, found.values()) > 0, found.values())
            elif change.action == "add":
                members = self._users(session, change.ids, change.displays)
                result.add(repository.add_members(group_pk, members) > 0, members.keys())
            else:
                members = self._users(session, change.ids, change.displays)
                result.merge(self._set_members(session, group_pk, members))
        return result

    def _set_members(
        self, session: Session, group_pk: int, wanted: dict[int, str | None]
    ) -> Changed:
        """Exactly the members wanted; those already in keep their display (it is immutable)."""
        repository = self.repository(session)
        current = repository.member_pks(group_pk)
        leaving = current - wanted.keys()
        removed = repository.remove_members(group_pk, leaving) if leaving else 0
        joining = {pk: d for pk, d in wanted.items() if pk not in current}
        added = repository.add_members(group_pk, joining)
        return Changed(bool(removed or added), leaving | joining.keys())

    def _named(self, session: Session, members: Any) -> dict[int, str | None]:
        """The members of a validated Group model, as _users gives them."""
        members = members or []
        return self._users(session, [m.value for m in members], scim_patch.displays(members))

    def _users(
        self,
        session: Session,
        ids: Iterable[str | None] | None,
        displays: Iterable[tuple[str, str]] = (),
    ) -> dict[int, str | None]:
        """Row key -> display given, of the named users of this organization; an unknown id is refused."""
        wanted = [i for i in ids or () if i]
        found = UserRepository(session, self.org_pk).pks_by_id(wanted)
        unknown = sorted(set(wanted) - set(found))
        if unknown:
            raise _unknown_members(unknown)
        given = dict(displays)
        return {pk: given.get(user_id) for user_id, pk in found.items()}

    def _locked(self, session: Session, group_id: str) -> Any:
        """The group's core row, locked for this unit of work, to change and `_write`.

        Not an ORM object: loading one and flushing its new version cost more than the
        SELECT ... FOR UPDATE and the UPDATE themselves, on every PATCH.
        """
        found = self.found(self.repository(session).read(group_id, for_update=True), group_id)
        return SimpleNamespace(**found._asdict())

    def _write(self, session: Session, row: Any, columns: dict[str, Any]) -> None:
        """New columns (maybe none: a membership change) and a new version, in one UPDATE."""
        for key, value in columns.items():
            setattr(row, key, value)
        touch(row)
        self.repository(session).update(
            row.pk, {**columns, "version": row.version, "last_modified": row.last_modified}
        )


@dataclass
class Changed:
    """Whether member operations changed the group, and the members they named."""

    changed: bool = False
    pks: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return self.changed

    def add(self, changed: bool, pks: Iterable[int]) -> None:
        self.changed |= changed
        self.pks.update(pks)

    def merge(self, other: Changed) -> None:
        self.add(other.changed, other.pks)


def _unknown_members(unknown: list[str]) -> InvalidValueException:
    return InvalidValueException(
        detail=f"members must be users of this organization; unknown: {', '.join(unknown[:5])}"
    )


def _refs(row: Any) -> GroupRef:
    return GroupRef(row.display_name, row.external_id, row.id)
