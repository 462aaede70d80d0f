"""Organizations, as an operator creates, lists and sees them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..domain.plans import CATALOG, AllocationError, check_allocation
from ..domain.terms import Term
from ..errors import InvalidInput
from ..inputs import refuse_too_long
from ..persistence.db import Database
from ..persistence.models import Organization, SeatAllocation, UserRow
from ..persistence.repositories import OrganizationRepository, TokenRepository, UserRepository
from ..persistence.types import utcnow
from ..scim.resources import email_user_columns, name_key
from . import audit, billing, terms, tokens
from .audit import OPERATOR
from .billing import OrganizationState
from .resources import stamp
from .seats import SeatDesk

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class CreatedOrganization:
    org: dict[str, Any]
    scim_token: str
    owner_api_token: str


def create(
    db: Database, name: str, slug: str, plan: str, seats: dict[str, int], owner_email: str
) -> CreatedOrganization:
    _check(name, slug, plan, seats, owner_email)
    term = Term.starting(utcnow())
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).add(
            Organization(
                slug=slug,
                name=name,
                plan=plan,
                term_start=term.start,
                term_end=term.end,
                extra_usage=False,
                # A row per seat type of the plan, so that every type can be bought later.
                allocations=[
                    SeatAllocation(seat_type=t.id, purchased=seats.get(t.id, 0), assigned=0)
                    for t in CATALOG[plan].seat_types
                ],
            )
        )
        audit.record(
            session, org.pk, OPERATOR, "organization.created", ("organization", slug),
            None, {"plan": plan, "seats": seats}, "created by an operator",
        )  # fmt: skip
        owner = _owner(owner_email)
        what = f"a user with userName {owner_email!r}"
        SeatDesk(session, org.pk, CATALOG[plan], OPERATOR).provision(
            owner, lambda: UserRepository(session, org.pk).add(owner, what)
        )
        scim = tokens.issue(session, org.pk, "scim", "default")
        label = tokens.label(owner_email, "owner")
        api = tokens.issue(session, org.pk, "api", label, member_pk=owner.pk)
        return CreatedOrganization(describe(org), scim.secret, api.secret)


@dataclass(frozen=True)
class Overview:
    """What an operator sees of one organization (`scim-server org show`)."""

    state: OrganizationState
    tokens: dict[str, dict[str, int]]  # kind (scim, api) -> {"active": n, "revoked": n}


def overview(db: Database, slug: str, now: datetime | None = None) -> Overview:
    """Plan, term, renewal, seats and tokens; a term that has ended starts first (§2)."""
    terms.catch_up_named(db, slug, now)
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(slug)
        counts = {kind: _token_counts(session, org.pk, kind) for kind in ("scim", "api")}
        return Overview(billing.state(session, org), counts)


def listing(db: Database, now: datetime | None = None) -> list[OrganizationState]:
    """Every organization by slug, each in its current term (`scim-server org list`)."""
    with db.unit_of_work() as session:
        ends = [(org.pk, org.term_end) for org in OrganizationRepository(session).all()]
    for org_pk, term_end in ends:
        terms.catch_up(db, org_pk, term_end, now)
    with db.unit_of_work() as session:
        return [billing.state(session, org) for org in OrganizationRepository(session).all()]


def _token_counts(session: Session, org_pk: int, kind: str) -> dict[str, int]:
    issued = TokenRepository(session).of_org(org_pk, kind)
    revoked = sum(1 for token in issued if token.revoked_at is not None)
    return {"active": len(issued) - revoked, "revoked": revoked}


def describe(org: Organization) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "plan": org.plan,
        "term_start": org.term_start.isoformat(),
        "term_end": org.term_end.isoformat(),
        "seats": {a.seat_type: a.purchased for a in org.allocations},
    }


def _owner(email: str) -> UserRow:
    return stamp(UserRow(**email_user_columns(email), role="primary_owner"))


def _check(name: str, slug: str, plan: str, seats: dict[str, int], owner_email: str) -> None:
    refuse_too_long(name, Organization.name.type.length, "name")
    refuse_too_long(owner_email, UserRow.user_name.type.length, "owner email")
    refuse_too_long(name_key(owner_email), UserRow.user_name_key.type.length, "owner email")
    if not SLUG.match(slug):
        raise InvalidInput(f"slug {slug!r} must be lowercase letters, digits and dashes")
    if plan not in CATALOG:
        raise InvalidInput(f"unknown plan {plan!r}; plans: {', '.join(CATALOG)}")
    if "@" not in owner_email:
        raise InvalidInput(f"owner email {owner_email!r} is not an email address")
    try:
        check_allocation(CATALOG[plan], seats)
    except AllocationError as exc:
        raise InvalidInput(str(exc)) from exc
