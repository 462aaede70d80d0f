"""What the console's pages read (docs/console.md), over the same rules as the admin API.

The console signs a member in with a session, then acts as them through `access.acting_as`,
like a token does, with `console` as the channel the audit log records. Each function
checks the action its page shows (SEATS.md §3), so a page cannot show more than the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..domain import history
from ..domain.roles import Role
from ..errors import Unauthorized
from ..persistence.audit import SEAT_MOVES, AuditRepository
from ..persistence.db import Database
from ..persistence.members import MemberRepository
from ..persistence.repositories import OrganizationRepository
from ..persistence.types import utcnow
from . import access, billing, members, terms
from .access import Acting

CHANNEL = "console"
# Whom "My seat" names as the people to ask for another seat type (SEATS.md §3: admins
# reassign seats, owners buy them), highest role first.
CONTACT_ROLES = (Role.primary_owner, Role.owner, Role.admin)
MAX_CONTACTS = 10


@dataclass(frozen=True)
class Visitor:
    """The signed-in member, as the database holds them at this request."""

    acting: Acting
    org_name: str
    member: members.Member


@dataclass(frozen=True)
class Overview:
    state: billing.OrganizationState
    history: list[history.Point]
    today: date


@dataclass(frozen=True)
class MySeat:
    member: members.Member
    since: datetime | None  # when they got the seat type they hold, as the audit log says
    contacts: list[members.Member]


def visitor(db: Database, slug: str, member_id: str) -> Visitor:
    """Unauthorized when the organization or the member is gone, or the member deactivated.
    Every console request passes here, as every API request passes a token's check: a term
    that has ended starts first (services/terms.py)."""
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).by_slug(slug)
        if org is None:
            raise Unauthorized("this organization no longer exists")
        row = MemberRepository(session, org.pk).by_id(member_id)
        acting = access.acting_as(row, org.pk, org.slug, org.plan, CHANNEL)
        assert row is not None  # acting_as refuses a missing member
        seen, term_end = Visitor(acting, org.name, members.describe(row, acting.plan)), org.term_end
    terms.catch_up(db, acting.org_pk, term_end)
    return seen


def overview(db: Database, acting: Acting) -> Overview:
    """The seats of the term: counts now, and each day's since the term began."""
    acting.require("read_organization")
    today = utcnow().date()
    with db.unit_of_work() as session:
        state = billing.state(session, billing.organization(session, acting))
        start = min(state.term_start.date(), today)
        log = AuditRepository(session, acting.org_pk)
        since = datetime.combine(start, datetime.min.time(), state.term_start.tzinfo)
        flows = [history.Flow(*flow) for flow in log.seat_flows(since)]
        sets = [history.AllocationChange(*change) for change in log.allocation_sets(since)]
    points = history.seat_history(
        [s.id for s in acting.plan.seat_types], start, today, state.allocation.assigned,
        state.allocation.purchased, flows, sets,
    )  # fmt: skip
    return Overview(state, points, today)


def my_seat(db: Database, acting: Acting) -> MySeat:
    acting.require("read_own_seat")
    with db.unit_of_work() as session:
        row = members.load(session, acting, acting.member_id)
        event = AuditRepository(session, acting.org_pk).latest(row.id, SEAT_MOVES)
        found = MemberRepository(session, acting.org_pk).with_roles(
            [role.name for role in CONTACT_ROLES], MAX_CONTACTS
        )
        contacts = sorted(found, key=lambda m: (-Role[m.role], m.pk))
        return MySeat(
            members.describe(row, acting.plan),
            event.at if event else None,
            [members.describe(contact, acting.plan) for contact in contacts],
        )
