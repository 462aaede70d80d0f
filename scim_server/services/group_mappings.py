"""Group mappings (SEATS.md §5): check, store, plan and apply; re-evaluate on group changes.

`plan` and `apply` make the same decision with the same function (domain.mappings.
plan_moves) on the same state: what `plan` shows is what `apply` then does, unless
members or seats changed in between. `apply` decides on the allocation it has locked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from .. import progress
from ..domain.mappings import GroupRef, Mapping, Member, MovePlan, Rule, plan_moves
from ..domain.plans import CATALOG, Plan
from ..errors import InvalidInput, VersionMismatch
from ..mappings_file import dump_json, from_json, load_mapping
from ..persistence.db import Database
from ..persistence.mappings import GroupMappingRepository, MemberFacts
from ..persistence.members import MemberRepository
from ..persistence.models import GroupMappingRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit, terms
from .access import Acting
from .audit import OPERATOR, Actor
from .seats import SeatDesk

T = TypeVar("T")
MEDIA_TYPES = ("application/yaml", "application/json")


@dataclass(frozen=True)
class StoredMapping:
    source: str  # the text as the admin submitted it
    media_type: str  # application/yaml | application/json
    mapping: Mapping
    version: int
    updated_at: datetime
    updated_by: str | None  # the member's id; None for an operator
    # Their names, for people reading it; None for an operator or a member removed since.
    updated_by_user_name: str | None = None
    updated_by_display_name: str | None = None


@dataclass(frozen=True)
class Preview:
    """What applying a mapping does (a plan) or did (an apply)."""

    plan: MovePlan
    applied: bool
    names: dict[str, str]  # member id -> userName, for people reading the report
    purchased: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "applied": self.applied,
            "sufficient": plan.sufficient,
            "moves": [
                {
                    **self._who(m.member),
                    "from": m.from_type,
                    "to": m.to_type,
                    "rule": _rule_json(m.rule),
                    "reason": m.reason,
                }
                for m in plan.moves
            ],
            "blocked": [
                {
                    **self._who(b.member),
                    "seat_type": b.seat_type,
                    "wanted": b.wanted,
                    "rule": _rule_json(b.rule),
                    "reason": b.reason,
                }
                for b in plan.blocked
            ],
            "released": [
                {**self._who(r.member), "seat_type": r.seat_type, "reason": r.reason}
                for r in plan.released
            ],
            "held": dict(plan.held),
            "purchased": dict(self.purchased),
            "shortfalls": [
                {"seat_type": s.seat_type, "missing": s.missing} for s in plan.shortfalls
            ],
        }

    def _who(self, member_id: str) -> dict[str, Any]:
        return {"member": member_id, "userName": self.names.get(member_id)}


def _rule_json(rule: Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"group": rule.group, "seat_type": rule.seat_type, "line": rule.line}


def check(text: str, plan_id: str | None = None) -> Mapping:
    """The file's rules, or MappingErrors naming every problem with its line."""
    return load_mapping(text, plan_id)


# --- the admin API: the acting member's organization, admin and higher (SEATS.md §3) ---------


def stored(db: Database, acting: Acting) -> StoredMapping | None:
    acting.require("edit_mappings")
    with db.unit_of_work() as session:
        return _stored(session, acting.org_pk)


def preview(db: Database, acting: Acting, text: str) -> Preview:
    acting.require("edit_mappings")
    with db.unit_of_work() as session:
        return _preview(session, acting.org_pk, acting.plan, text)


def apply(
    db: Database, acting: Acting, text: str, media_type: str, if_version: int | None = None
) -> Preview:
    """With `if_version`, only over that stored version (0: none stored yet), else 412."""
    acting.require("edit_mappings")
    with db.unit_of_work(write=True) as session:
        return _apply(
            session, acting.org_pk, acting.plan, acting.actor, text, media_type, if_version
        )


# --- the operator's commands, by organization slug -------------------------------------------


def stored_for(db: Database, slug: str) -> StoredMapping | None:
    return _for(db, slug, lambda session, org_pk, plan: _stored(session, org_pk))


def check_for(db: Database, slug: str, text: str) -> Mapping:
    """`check` against the organization's plan; reads nothing but the organization."""
    return _for(db, slug, lambda session, org_pk, plan: check(text, plan.id))


def preview_for(db: Database, slug: str, text: str) -> Preview:
    terms.catch_up_named(db, slug)  # decided on the seats of the current term
    return _for(db, slug, lambda session, org_pk, plan: _preview(session, org_pk, plan, text))


def apply_for(db: Database, slug: str, text: str, media_type: str = "application/yaml") -> Preview:
    terms.catch_up_named(db, slug)  # decided on the seats of the current term
    return _for(
        db,
        slug,
        lambda session, org_pk, plan: _apply(session, org_pk, plan, OPERATOR, text, media_type),
        write=True,
    )


def _for(db: Database, slug: str, use: Callable[[Session, int, Plan], T], write: bool = False) -> T:
    with db.unit_of_work(write=write) as session:
        org = OrganizationRepository(session).named(slug)
        return use(session, org.pk, CATALOG[org.plan])


# --- inside a unit of work: SCIM group changes and JIT sign-in call these ---------------------


def mapped_seat(session: Session, org_pk: int, groups: Iterable[str]) -> tuple[str, str] | None:
    """(seat type, group of the winning rule) for these groups-claim values, if a rule matches."""
    mapping = current_mapping(session, org_pk)
    return mapping.route(GroupRef.claim(v) for v in groups) if mapping else None


def maps_any(session: Session, org_pk: int, groups: Iterable[GroupRef]) -> bool:
    """Whether a rule names one of these groups: if not, their membership decides nothing."""
    mapping = current_mapping(session, org_pk)
    if mapping is None:
        return False
    refs = tuple(groups)
    return any(rule.matches(ref) for rule in mapping.rules for ref in refs)


def reevaluate(
    session: Session, org_pk: int, plan: Plan, actor: Actor, member_pks: Iterable[int]
) -> MovePlan | None:
    """Re-apply the stored mapping to these members only (SEATS.md §5), in this transaction."""
    mapping = current_mapping(session, org_pk)
    pks = set(member_pks)
    if mapping is None or not pks:
        return None
    planned, facts = _decide(session, org_pk, plan, mapping, pks, lock=True)
    _execute(session, org_pk, plan, actor, planned, facts)
    return planned


def current_mapping(session: Session, org_pk: int) -> Mapping | None:
    return GroupMappingRepository(session, org_pk).mapping()


# --- the use cases ----------------------------------------------------------------------------


def _stored(session: Session, org_pk: int) -> StoredMapping | None:
    row = GroupMappingRepository(session, org_pk).get()
    if row is None:
        return None
    name = MemberRepository(session, org_pk).names([row.updated_by]).get(row.updated_by or "")
    return StoredMapping(
        row.source,
        row.media_type,
        from_json(row.rules),
        row.version,
        row.updated_at,
        row.updated_by,
        name.user_name if name else None,
        name.display_name if name else None,
    )


def _preview(session: Session, org_pk: int, plan: Plan, text: str) -> Preview:
    mapping = check(text, plan.id)
    planned, facts = _decide(session, org_pk, plan, mapping, None, lock=False)
    return _report(session, org_pk, planned, facts, applied=False)


def _apply(
    session: Session,
    org_pk: int,
    plan: Plan,
    actor: Actor,
    text: str,
    media_type: str,
    if_version: int | None = None,
) -> Preview:
    """Store the mapping, then move every member it moves: one transaction (SEATS.md §5)."""
    if media_type not in MEDIA_TYPES:
        raise InvalidInput(f"media type {media_type!r} is not one of {', '.join(MEDIA_TYPES)}")
    mapping = check(text, plan.id)
    repository = GroupMappingRepository(session, org_pk)
    row = repository.get(for_update=True)
    # Compared under the row's lock: two admins editing at once cannot both win.
    if if_version is not None and if_version != (row.version if row else 0):
        stored = f"version {row.version}" if row else "no mapping"
        raise VersionMismatch(f"the stored group mapping is {stored}, not version {if_version}")
    before = _summary(row) if row else None
    planned, facts = _decide(session, org_pk, plan, mapping, None, lock=True)
    row = row or GroupMappingRow(version=0)
    row.version += 1
    row.source, row.media_type, row.rules = text, media_type, dump_json(mapping)
    row.updated_at, row.updated_by = utcnow(), actor.id
    repository.put(row)
    audit.record(
        session, org_pk, actor, "mapping.changed", ("group_mapping", str(row.version)),
        before, _summary(row), f"mapping applied: {len(planned.moves)} member(s) move",
    )  # fmt: skip
    _execute(session, org_pk, plan, actor, planned, facts)
    return _report(session, org_pk, planned, facts, applied=True)


def _summary(row: GroupMappingRow) -> dict[str, Any]:
    return {"version": row.version, **row.rules}


def _decide(
    session: Session,
    org_pk: int,
    plan: Plan,
    mapping: Mapping,
    pks: Iterable[int] | None,
    lock: bool,
) -> tuple[MovePlan, dict[str, MemberFacts]]:
    """The plan for these members (all when None); with `lock`, members then seats locked."""
    found = GroupMappingRepository(session, org_pk).members(pks, lock)
    facts = {f.id: f for f in progress.counted(found, "reading members")}
    seats = SeatRepository(session, org_pk)
    if lock:
        seats.lock()
    members = [_member(f) for f in facts.values()]
    progress.report("deciding who moves", None, None)
    return plan_moves(plan, seats.allocation(), mapping, members), facts


def _member(facts: MemberFacts) -> Member:
    mapped = facts.seat_source == "group_mapping"
    return Member(facts.id, facts.seat_type, facts.pinned, facts.active, facts.refs(), mapped)


def _execute(
    session: Session,
    org_pk: int,
    plan: Plan,
    actor: Actor,
    planned: MovePlan,
    facts: dict[str, MemberFacts],
) -> None:
    if not planned.moves and not planned.released:
        return
    mapping_actor = Actor(actor.kind, actor.id, "group_mapping")
    SeatDesk(session, org_pk, plan, mapping_actor).apply_mapping(planned, facts)


def _report(
    session: Session,
    org_pk: int,
    planned: MovePlan,
    facts: dict[str, MemberFacts],
    applied: bool,
) -> Preview:
    named = {m.member for m in planned.moves} | {b.member for b in planned.blocked}
    named |= {r.member for r in planned.released}
    purchased = dict(SeatRepository(session, org_pk).allocation().purchased)
    return Preview(planned, applied, {i: facts[i].user_name for i in named}, purchased)
