"""The start of a new term (SEATS.md §2), applied in one place, once, whoever comes first.

No process watches the calendar: several hosts and workers share the database. A term
whose end has passed is closed by the first request or command that reads its
organization (`catch_up`: a token checked, a sign-in, an operator's command), in a
writing unit of work, under the allocation's lock, after reading the term again: the
others find it started and do nothing. Each term started is audited once (§8).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.plans import CATALOG
from ..domain.terms import Renewal, Term, TermStart, terms_begun
from ..persistence.db import Database
from ..persistence.models import Organization
from ..persistence.repositories import OrganizationRepository
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit
from .audit import SYSTEM
from .seats import SeatDesk


def catch_up(db: Database, org_pk: int, term_end: datetime, now: datetime | None = None) -> bool:
    """Start the terms due by `now`, if any: with the term's end known, a running term
    costs a comparison; only a term that has ended opens a unit of work. Whether the term
    had ended (its counts may have changed since `term_end` was read, here or elsewhere)."""
    now = now or utcnow()
    if term_end > now:
        return False
    with db.unit_of_work(write=True) as session:
        start_due(session, org_pk, now)
    return True


def catch_up_named(db: Database, slug: str, now: datetime | None = None) -> None:
    """`catch_up` for the organization an operator names (UnknownOrganization if none)."""
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(slug)
        org_pk, term_end = org.pk, org.term_end
    catch_up(db, org_pk, term_end, now)


def start_due(session: Session, org_pk: int, now: datetime) -> list[TermStart]:
    """In a writing unit of work: every term begun by `now`, with its counts, audited; then
    the waiting line is served if they add seats. Idempotent: the term is read again
    under the lock, so a second caller finds nothing due."""
    seats = SeatRepository(session, org_pk)
    seats.lock()
    org = locked(session, org_pk)
    allocation = seats.allocation()
    term = Term(org.term_start, org.term_end)
    begun = terms_begun(term, allocation.purchased, seats.renewal(), allocation.assigned, now)
    if begun:
        _record(session, org, term, dict(allocation.purchased), begun)
        _begin(session, org, seats, allocation.purchased, begun[-1])
    return begun


def _record(
    session: Session, org: Organization, term: Term, seats: dict[str, int], begun: list[TermStart]
) -> None:
    """One term.started event per term begun, each from the counts of the one before."""
    for started in begun:
        before = {**_term(term), "seats": seats}
        after = {**_term(started.term), "seats": started.seats, "overage": started.overage}
        audit.record(
            session, org.pk, SYSTEM, "term.started", ("organization", org.slug),
            before, after, reason(started),
        )  # fmt: skip
        term, seats = started.term, started.seats


def _begin(
    session: Session,
    org: Organization,
    seats: SeatRepository,
    purchased: Mapping[str, int],
    last: TermStart,
) -> None:
    org.term_start, org.term_end = last.term.start, last.term.end
    seats.set_purchased(last.seats)
    seats.set_renewal(None)
    if any(n > purchased.get(t, 0) for t, n in last.seats.items()):
        # Seats added are served to the line, as a purchase's are; a seat an admin freed
        # stays theirs to redistribute (SEATS.md §4): no seat added, no one served.
        SeatDesk(session, org.pk, CATALOG[org.plan], SYSTEM).serve_waiting_line()


def pending(session: Session, org: Organization) -> Renewal | None:
    """The renewal set for the term after the current one, if any."""
    counts = SeatRepository(session, org.pk).renewal()
    if counts is None:
        return None
    return Renewal(Term(org.term_start, org.term_end).following(), counts)


def locked(session: Session, org_pk: int) -> Organization:
    """The organization as committed now, its row locked (PostgreSQL) for this unit of work."""
    query = (
        select(Organization)
        .where(Organization.pk == org_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.execute(query).scalar_one()


def reason(started: TermStart) -> str:
    why = (
        "the renewal set for this term took effect"
        if started.renewed
        else "the term ended with no renewal set: renewed with the same counts"
    )
    kept = ", ".join(
        f"{n} {seat_type} seat{'s' if n != 1 else ''}" for seat_type, n in started.overage.items()
    )
    if kept:
        why += f"; {kept} held beyond the renewal kept as an overage (the count is what is held)"
    return why


def _term(term: Term) -> dict[str, str]:
    return {"term_start": term.start.isoformat(), "term_end": term.end.isoformat()}
