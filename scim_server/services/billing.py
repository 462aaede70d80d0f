"""The organization's seats and their billing: read, review, buy, extra usage (SEATS.md §2, §7).

Reading the allocation is open to every member; billing and buying are the owners'
(SEATS.md §3). Each use case is one unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from ..domain import billing
from ..domain.billing import ReductionDuringTerm, Review
from ..domain.plans import CATALOG, AllocationError, Plan
from ..domain.seats import UNASSIGNED, Allocation
from ..domain.terms import Renewal
from ..errors import InvalidInput, NotFound, ReductionRefused
from ..persistence.db import Database
from ..persistence.models import Organization
from ..persistence.repositories import OrganizationRepository
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit, terms
from .access import Acting
from .seats import SeatDesk

T = TypeVar("T")


@dataclass(frozen=True)
class OrganizationState:
    slug: str
    name: str
    plan: Plan
    term_start: datetime
    term_end: datetime
    extra_usage: bool
    allocation: Allocation
    unassigned: int  # active members holding no seat
    waiting: int
    waiting_since: datetime | None  # the oldest wait: the line is served oldest first
    renewal: Renewal | None  # the counts agreed for the next term, if any (SEATS.md §2)


@dataclass(frozen=True)
class Purchase:
    allocation: Allocation
    served: int  # members of the waiting line seated by the purchase
    # Seats added per type, in the plan's order; empty when the totals were already so
    # (totals are absolute: the same purchase sent twice buys once).
    added: dict[str, int]


def organization_state(db: Database, acting: Acting) -> OrganizationState:
    acting.require("read_organization")
    with db.unit_of_work() as session:
        return state(session, organization(session, acting))


def billing_state(db: Database, acting: Acting) -> OrganizationState:
    acting.require("read_billing")
    with db.unit_of_work() as session:
        return state(session, organization(session, acting))


def review(db: Database, acting: Acting, requested: Mapping[str, int]) -> Review:
    """Step one of buying: what would be added and what it costs; changes nothing (§2)."""
    acting.require("buy_seats")
    with db.unit_of_work() as session:
        org = organization(session, acting)
        current = SeatRepository(session, org.pk).allocation().purchased
        return checked(
            lambda: billing.review(CATALOG[org.plan], current, requested, utcnow(), org.term_end)
        )


def purchase(db: Database, acting: Acting, requested: Mapping[str, int]) -> Purchase:
    """Step two ("Upgrade"): the new counts, audited, then the waiting line is served (§4)."""
    acting.require("buy_seats")
    with db.unit_of_work(write=True) as session:
        org = organization(session, acting)
        plan = CATALOG[org.plan]
        repository = SeatRepository(session, org.pk)
        repository.lock()
        current = dict(repository.allocation().purchased)
        final = checked(lambda: billing.check_purchase(plan, current, requested))
        served = 0
        added = {t: n - current.get(t, 0) for t, n in final.items() if n > current.get(t, 0)}
        if final != current:
            repository.set_purchased(final)
            audit.record(
                session, org.pk, acting.actor, "allocation.changed", ("organization", org.slug),
                {"seats": current}, {"seats": final}, "purchased by an owner",
            )  # fmt: skip
            served = SeatDesk(session, org.pk, plan, acting.actor).serve_waiting_line()
        return Purchase(repository.allocation(), served, added)


def set_extra_usage(db: Database, acting: Acting, enabled: bool) -> bool:
    """SEATS.md §7: an owner's switch, on plans that offer it."""
    acting.require("change_extra_usage")
    with db.unit_of_work(write=True) as session:
        org = organization(session, acting)
        plan = CATALOG[org.plan]
        if not plan.extra_usage_available:
            message = f"extra usage is not available on the {plan.name} plan ({plan.id})"
            raise InvalidInput(message, fields={"enabled": [message]})
        if org.extra_usage != enabled:
            before = {"extra_usage": org.extra_usage}
            org.extra_usage = enabled
            audit.record(
                session, org.pk, acting.actor, "extra_usage.changed", ("organization", org.slug),
                before, {"extra_usage": enabled}, "changed by an owner",
            )  # fmt: skip
        return org.extra_usage


def organization(session: Session, acting: Acting) -> Organization:
    org = OrganizationRepository(session).by_pk(acting.org_pk)
    if org is None:  # deleted since the token was checked
        raise NotFound("no such organization")
    return org


def state(session: Session, org: Organization) -> OrganizationState:
    repository = SeatRepository(session, org.pk)
    counts = repository.counts()
    return OrganizationState(
        org.slug, org.name, CATALOG[org.plan], org.term_start, org.term_end, org.extra_usage,
        repository.allocation(), counts.get(UNASSIGNED, 0), counts["waiting"],
        repository.first_waiting_since(), terms.pending(session, org),
    )  # fmt: skip


def checked(step: Callable[[], T]) -> T:
    """The domain's allocation errors as 422s naming the `seats` field (SEATS.md §2)."""
    try:
        return step()
    except ReductionDuringTerm as exc:
        raise ReductionRefused(
            str(exc), fields={"seats": [str(exc)]}, seat_types=list(exc.seat_types)
        ) from exc
    except AllocationError as exc:
        raise InvalidInput(str(exc), fields={"seats": [str(exc)]}) from exc
