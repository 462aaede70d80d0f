"""Members through the admin API: read, reassign seats, change roles, transfer ownership.

Each use case is one unit of work. Seats change only through SeatDesk (SEATS.md §4),
which holds the invariant and records the audit; role changes are recorded here (§8).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..domain import roles, seats
from ..domain.plans import CATALOG, Plan
from ..errors import InvalidInput, NotFound
from ..persistence.db import Database
from ..persistence.members import MemberFilter, MemberRepository
from ..persistence.models import UserRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.types import utcnow
from ..scim.resources import primary_email, search_key
from . import audit, terms
from .access import Acting
from .billing import organization
from .resources import touch
from .seats import SeatDesk

# PATCH {"seat_type": "auto"}: unpin, and let the automatic rules decide again (SEATS.md §4).
AUTO = "auto"
AUTO_IN_A_BATCH = (
    '"auto" is for one member at a time (PATCH /api/v1/members/{id} {"seat_type": "auto"}, '
    "or Automatic in the member's row of the console): it hands them back to the automatic "
    "rules, where a batch pins the seats it assigns"
)
# An export reads this many members per unit of work (`every`).
EXPORT_BATCH = 500


@dataclass(frozen=True)
class Member:
    id: str
    user_name: str
    display_name: str | None
    email: str | None
    role: str
    active: bool
    seat_type: str
    seat_source: str | None
    pinned: bool
    pinned_seat_type: str | None
    waiting: bool
    entitlements: list[str]
    waiting_since: datetime | None = None
    last_sign_in_at: datetime | None = None  # None: never signed in


@dataclass(frozen=True)
class OrganizationRef:
    slug: str
    name: str


@dataclass(frozen=True)
class Me:
    """The caller of the admin API: the member their token acts as, and their organization."""

    member: Member
    organization: OrganizationRef


@dataclass(frozen=True)
class MemberPage:
    """Members in userName order; `after`/`before` are the cursors of the next and
    previous pages (a member id), None at either end."""

    members: list[Member]
    total: int
    total_exact: bool  # False: at least `total` match (a common search prefix)
    after: str | None
    before: str | None


def describe(row: UserRow, plan: Plan) -> Member:
    # A deactivated member holds no seat, so has no access (SEATS.md §4, releasing seats).
    entitlements = sorted(plan.entitlements(row.seat_type)) if row.active else []
    return Member(
        id=row.id,
        user_name=row.user_name,
        display_name=row.display_name,
        email=primary_email(row.data),
        role=row.role,
        active=row.active,
        seat_type=row.seat_type,
        seat_source=row.seat_source,
        pinned=row.pinned_seat_type is not None,
        pinned_seat_type=row.pinned_seat_type,
        waiting=row.waiting_since is not None,
        entitlements=entitlements,
        waiting_since=row.waiting_since,
        last_sign_in_at=row.last_sign_in_at,
    )


def signed_in(row: UserRow, at: datetime) -> None:
    """Every sign-in (OIDC, or a console link) records when: owners find idle seats by it."""
    row.last_sign_in_at = at


def listing(
    db: Database,
    acting: Acting,
    wanted: MemberFilter,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    counted: bool = True,
) -> MemberPage:
    """A page of members, searched and filtered in SQL (MemberRepository.page). A cursor
    names the member a page starts after (or ends before); one removed since starts over.
    Not `counted`: `total` is only the page's, and the count's query is not run."""
    acting.require("read_members")
    return page(db, acting.org_pk, acting.plan, wanted, limit, after, before, counted)


def listing_for(
    db: Database, slug: str, wanted: MemberFilter, limit: int, after: str | None = None
) -> MemberPage:
    """`listing` for an operator, by organization slug (`scim-server members list`)."""
    if after is None:  # the first page: who waits depends on the current term's seats
        terms.catch_up_named(db, slug)
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(slug)
        org_pk, plan = org.pk, CATALOG[org.plan]
    return page(db, org_pk, plan, wanted, limit, after)


def page(
    db: Database,
    org_pk: int,
    plan: Plan,
    wanted: MemberFilter,
    limit: int,
    after: str | None = None,
    before: str | None = None,
    counted: bool = True,
) -> MemberPage:
    if wanted.seat_type is not None:
        check_seat_type(plan, wanted.seat_type, "seat_type")
    with db.unit_of_work() as session:
        repository = MemberRepository(session, org_pk)
        after_key = repository.key_of(after) if after is not None else None
        before_key = repository.key_of(before) if before is not None and after is None else None
        found = repository.page(wanted, limit, after_key, before_key, counted)
        members = [describe(row, plan) for row in found.rows]
        first, last = (found.rows[0].id, found.rows[-1].id) if found.rows else (None, None)
        if before_key is None:  # forwards: earlier pages exist when this one has a cursor
            more_after, more_before = found.more, after_key is not None
        else:  # backwards: the member named by the cursor follows this page
            more_after, more_before = True, found.more
        return MemberPage(
            members,
            found.total,
            found.exact,
            after=last if more_after else None,
            before=first if more_before else None,
        )


def every(
    db: Database, acting: Acting, wanted: MemberFilter, batch: int = EXPORT_BATCH
) -> Iterator[Member]:
    """Every member the criteria admit, in userName order, read `batch` at a time through
    `listing` (a unit of work each, no count): an export holds one page in memory."""
    after: str | None = None
    while True:
        found = listing(db, acting, wanted, batch, after, counted=False)
        yield from found.members
        if found.after is None:
            return
        after = found.after


def search_filter(
    query: str | None = None,
    email: str | None = None,
    not_seen_days: int | None = None,
    **criteria: Any,
) -> MemberFilter:
    """A listing's criteria, with a search and an email as the keys they are compared by,
    and "not seen for N days" as the instant N days ago."""
    query = query.strip() if query else None
    since = utcnow() - timedelta(days=not_seen_days) if not_seen_days is not None else None
    return MemberFilter(
        search=search_key(query),
        email=search_key(email.strip()) if email else None,
        not_seen_since=since,
        **criteria,
    )


def roles_offered(acting: Acting, member: Member) -> list[str]:
    """The roles `acting` may set this member to, their current one included when they may
    keep it (roles.check_role_change decides); none when their role is not theirs to
    change. What a role picker offers, so that it offers no change the service refuses."""
    return [role.name for role in roles.assignable(acting.role, roles.parse(member.role))]


def get(db: Database, acting: Acting, member_id: str) -> Member:
    """SEATS.md §3: a member sees their own seat and access; admins see everyone's."""
    if member_id != acting.member_id:
        acting.require("read_members")
    with db.unit_of_work() as session:
        return describe(load(session, acting, member_id), acting.plan)


def me(db: Database, acting: Acting) -> Me:
    """SEATS.md §3: any member sees their own seat and access."""
    acting.require("read_own_seat")
    with db.unit_of_work() as session:
        row = load(session, acting, acting.member_id)
        org = organization(session, acting)
        return Me(describe(row, acting.plan), OrganizationRef(org.slug, org.name))


def update(
    db: Database,
    acting: Acting,
    member_id: str,
    seat_type: str | None = None,
    role: str | None = None,
) -> Member:
    """A seat type and/or a role, both or neither: a refused seat undoes the role change."""
    with db.unit_of_work(write=True) as session:
        member = load(session, acting, member_id, for_update=True)
        if role is not None:
            change_role(session, acting, member, role)
        if seat_type is not None:
            change_seat(session, acting, member, seat_type)
        return describe(member, acting.plan)


def assign_batch(
    db: Database, acting: Acting, assignments: Sequence[tuple[str, str]]
) -> list[Member]:
    """All or nothing, judged on the final state: the article's swap is one request (§4)."""
    acting.require("reassign_seats")
    with db.unit_of_work(write=True) as session:
        found = MemberRepository(session, acting.org_pk).by_ids(
            [member for member, _ in assignments], for_update=True
        )
        check_assignments(acting.plan, assignments, found)
        desk(session, acting).assign_batch([(found[m], t) for m, t in assignments])
        ordered = list(dict.fromkeys(member for member, _ in assignments))
        for member_id in ordered:
            touch(found[member_id])
        return [describe(found[member_id], acting.plan) for member_id in ordered]


def transfer_ownership(db: Database, acting: Acting, member_id: str) -> tuple[Member, Member]:
    """The target becomes primary owner and the caller an owner, together (SEATS.md §3)."""
    acting.require("transfer_primary_ownership")
    with db.unit_of_work(write=True) as session:
        rows = MemberRepository(session, acting.org_pk).by_ids(
            {acting.member_id, member_id}, for_update=True
        )
        current, target = rows.get(acting.member_id), rows.get(member_id)
        # Re-read under lock: a transfer that won a race has already made the caller an owner.
        if current is None or current.role != roles.Role.primary_owner.name:
            raise roles.NotPermitted(
                "only the primary owner transfers primary ownership", roles.Role.primary_owner
            )
        target = check_transfer_target(target, current, member_id)
        reason = "primary ownership transferred by the primary owner"
        set_role(session, acting, target, roles.Role.primary_owner, reason)
        set_role(session, acting, current, roles.Role.owner, reason)
        return describe(target, acting.plan), describe(current, acting.plan)


# --- the steps ------------------------------------------------------------------------------


def load(session: Session, acting: Acting, member_id: str, for_update: bool = False) -> UserRow:
    """Unknown and another organization's are the same answer: nothing is revealed (§3)."""
    row = MemberRepository(session, acting.org_pk).by_id(member_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no member {member_id!r}")
    return row


def desk(session: Session, acting: Acting) -> SeatDesk:
    return SeatDesk(session, acting.org_pk, acting.plan, acting.actor)


def change_seat(session: Session, acting: Acting, member: UserRow, seat_type: str) -> None:
    acting.require("reassign_seats")
    if seat_type == AUTO:
        desk(session, acting).reset_to_automatic(member)
    else:
        check_seat_type(acting.plan, seat_type, "seat_type")
        desk(session, acting).assign(member, seat_type, pin=True)
    # The SCIM representation carries the seat: the desk gave it a new version when it
    # changed (RFC 7644 §3.14; SeatDesk._save), in the same UPDATE as the seat.


def change_role(session: Session, acting: Acting, member: UserRow, requested: str) -> None:
    wanted = parse_role(requested)
    roles.check_role_change(acting.role, roles.parse(member.role), wanted)
    if wanted.name != member.role:
        set_role(session, acting, member, wanted, "changed by an admin")


def set_role(
    session: Session, acting: Acting, member: UserRow, role: roles.Role, reason: str
) -> None:
    before = {"role": member.role}
    member.role = role.name
    session.flush()
    audit.record(
        session, acting.org_pk, acting.actor, "role.changed", ("member", member.id),
        before, {"role": member.role}, reason,
    )  # fmt: skip


def parse_role(value: str) -> roles.Role:
    try:
        return roles.parse(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"role": [str(exc)]}) from exc


def check_seat_type(plan: Plan, seat_type: str, field: str) -> None:
    try:
        seats.check_seat_type(plan, seat_type)
    except seats.UnknownSeatType as exc:
        raise InvalidInput(str(exc), fields={field: [str(exc)]}) from exc


def check_assignments(
    plan: Plan, assignments: Sequence[tuple[str, str]], found: dict[str, UserRow]
) -> None:
    """Every entry names a member of this organization and a seat type of its plan; not
    "auto", which unpins one member, where a batch pins every seat it assigns."""
    problems: dict[str, list[str]] = {}
    for index, (member_id, seat_type) in enumerate(assignments):
        if member_id not in found:
            problems[f"assignments.{index}.member"] = [f"no member {member_id!r}"]
        if seat_type == AUTO:
            problems[f"assignments.{index}.seat_type"] = [AUTO_IN_A_BATCH]
            continue
        try:
            seats.check_seat_type(plan, seat_type)
        except seats.UnknownSeatType as exc:
            problems[f"assignments.{index}.seat_type"] = [str(exc)]
    if problems:
        listed = [f"{field}: {messages[0]}" for field, messages in problems.items()]
        more = f"; and {len(listed) - 3} more (fields)" if len(listed) > 3 else ""
        message = f"the batch changes nothing: {'; '.join(listed[:3])}{more}"
        raise InvalidInput(message, fields=problems)


def check_transfer_target(target: UserRow | None, current: UserRow, member_id: str) -> UserRow:
    if target is None:
        raise NotFound(f"no member {member_id!r}")
    if target is current:
        message = "you are already the primary owner"
        raise InvalidInput(message, fields={"member": [message]})
    if not target.active:
        message = "a deactivated member cannot become the primary owner"
        raise InvalidInput(message, fields={"member": [message]})
    return target
