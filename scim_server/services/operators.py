"""What only an operator does (SEATS.md §2, §7): renewals, plan migrations, API tokens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..domain import billing
from ..domain.plans import CATALOG, MIGRATIONS, AllocationError
from ..domain.terms import Renewal, Term
from ..errors import InvalidInput, UnknownMember
from ..persistence.db import Database
from ..persistence.models import SeatAllocation, UserRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit, terms, tokens
from .audit import OPERATOR


def issue_api_token(db: Database, slug: str, email: str) -> tokens.IssuedToken:
    """A personal API token for the member with this userName or primary email."""
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        member = member_by_email(session, org.pk, email)
        label = tokens.label(email, "personal")
        issued = tokens.issue(session, org.pk, "api", label, member_pk=member.pk)
        return issued


@dataclass(frozen=True)
class RenewalSet:
    """A renewal as set: the term it follows, the counts now, and what it replaced."""

    slug: str
    term: Term  # the current term, at whose end the renewal takes effect
    seats: dict[str, int]  # purchased now
    in_use: dict[str, int]
    renewal: Renewal | None  # None: cancelled, the next term keeps the counts it ends with
    replaced: dict[str, int] | None  # the counts of the renewal it replaced


def renew(
    db: Database, slug: str, seats: Mapping[str, int] | None, now: datetime | None = None
) -> RenewalSet:
    """The next term's counts (SEATS.md §2): they take effect when the current term ends,
    not before; renewing again before then replaces them. Not below 20 in total nor below
    the seats in use now. `seats=None` cancels the renewal set."""
    now = now or utcnow()
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        # A term that has ended starts first: a renewal is for the term after the current.
        terms.start_due(session, org.pk, now)  # and the allocation's lock is held from here
        repository = SeatRepository(session, org.pk)
        current = repository.allocation()
        plan = CATALOG[org.plan]
        final = None
        if seats is not None:
            final = _checked(
                lambda: billing.check_renewal(plan, current.purchased, seats, current.assigned)
            )
        term, replaced = Term(org.term_start, org.term_end), repository.renewal()
        if final != replaced:
            repository.set_renewal(final)
            audit.record(
                session, org.pk, OPERATOR, "renewal.set", ("organization", slug),
                _renewal(term, replaced), _renewal(term, final), _why(final, replaced),
            )  # fmt: skip
        following = Renewal(term.following(), final) if final is not None else None
        return RenewalSet(
            slug, term, dict(current.purchased), dict(current.assigned), following, replaced
        )


def _renewal(term: Term, counts: Mapping[str, int] | None) -> dict[str, Any]:
    following = term.following()
    return {
        "renewal": None
        if counts is None
        else {
            "term_start": following.start.isoformat(),
            "term_end": following.end.isoformat(),
            "seats": dict(counts),
        }
    }


def _why(final: Mapping[str, int] | None, replaced: Mapping[str, int] | None) -> str:
    if final is None:
        return "renewal cancelled by an operator: the next term keeps the counts this one ends with"
    replacing = "; it replaces the renewal set before" if replaced is not None else ""
    return f"renewal set by an operator: takes effect when the current term ends{replacing}"


def migrate(db: Database, slug: str, target: str) -> dict[str, Any]:
    """Legacy -> current plan: every allocation and assignment carried over, in one transaction."""
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        mapping = MIGRATIONS.get((org.plan, target))
        if mapping is None:
            raise InvalidInput(f"no migration from {org.plan} to {target}")
        terms.start_due(session, org.pk, utcnow())  # the counts of the current term, locked
        before = {"plan": org.plan, "seats": _purchased(session, org.pk)}
        moved = _move_members(session, org.pk, mapping)
        _move_allocations(session, org.pk, mapping)
        org.plan = target
        after = {"plan": target, "seats": _purchased(session, org.pk)}
        audit.record(
            session, org.pk, OPERATOR, "plan.migrated", ("organization", slug), before, after,
            f"migrated on the customer's request; {moved} members' seats carried over",
        )  # fmt: skip
        return {**after, "members_moved": moved}


def _move_members(session: Session, org_pk: int, mapping: dict[str, str]) -> int:
    """Each member's held and pinned seat type renamed, with one audit event per member."""
    old_types = list(mapping)
    members = session.execute(
        select(UserRow.id, UserRow.seat_type, UserRow.pinned_seat_type).where(
            UserRow.org_pk == org_pk,
            or_(UserRow.seat_type.in_(old_types), UserRow.pinned_seat_type.in_(old_types)),
        )
    ).all()
    for column in (UserRow.seat_type, UserRow.pinned_seat_type):
        for old, new in mapping.items():
            session.execute(
                update(UserRow)
                .where(UserRow.org_pk == org_pk, column == old)
                .values({column.key: new})
                .execution_options(synchronize_session=False)
            )
    for member_id, held, pinned in members:
        audit.record(
            session, org_pk, OPERATOR, "seat.changed", ("member", member_id),
            {"seat_type": held, "pinned_seat_type": pinned},
            {"seat_type": mapping.get(held, held), "pinned_seat_type": mapping.get(pinned or "", pinned)},
            "plan migrated",
        )  # fmt: skip
    return len(members)


def _move_allocations(session: Session, org_pk: int, mapping: dict[str, str]) -> None:
    """Each type's counts, and its pending renewal, carried to the type it becomes."""
    rows = list(session.scalars(select(SeatAllocation).where(SeatAllocation.org_pk == org_pk)))
    carried = [
        SeatAllocation(
            org_pk=org_pk,
            seat_type=mapping.get(r.seat_type, r.seat_type),
            purchased=r.purchased,
            assigned=r.assigned,
            renewal=r.renewal,
        )
        for r in rows
    ]
    for row in rows:
        session.delete(row)
    session.flush()
    session.add_all(carried)
    session.flush()


def _purchased(session: Session, org_pk: int) -> dict[str, int]:
    return dict(SeatRepository(session, org_pk).allocation().purchased)


def member_by_email(session: Session, org_pk: int, email: str) -> UserRow:
    member = session.scalar(
        select(UserRow).where(
            UserRow.org_pk == org_pk, func.lower(UserRow.user_name) == email.lower()
        )
    )
    if member is None:
        raise UnknownMember(f"no member with userName {email!r}")
    return member


def _checked(check: Any) -> dict[str, int]:
    try:
        return dict(check())
    except AllocationError as exc:
        raise InvalidInput(str(exc)) from exc
