"""What only an operator does (SEATS.md §2, §7): renewals, plan migrations, API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..domain import billing
from ..domain.plans import CATALOG, MIGRATIONS, AllocationError
from ..errors import InvalidInput, NotFound
from ..persistence.db import Database
from ..persistence.models import Organization, SeatAllocation, UserRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit, tokens
from .audit import OPERATOR
from .seats import SeatDesk


def issue_api_token(db: Database, slug: str, email: str) -> tokens.IssuedToken:
    """A personal API token for the member with this userName or primary email."""
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        member = member_by_email(session, org.pk, email)
        issued = tokens.issue(session, org.pk, "api", f"{email} (personal)", member_pk=member.pk)
        return issued


def renew(
    db: Database, slug: str, seats: dict[str, int], start: datetime | None = None
) -> dict[str, Any]:
    """A new annual term; counts may go down, not below 20 nor below the seats in use."""
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        plan = CATALOG[org.plan]
        repository = SeatRepository(session, org.pk)
        repository.lock()
        current = repository.allocation()
        final = _checked(lambda: billing.check_renewal(plan, seats, current.assigned))
        before = _term(org, current.purchased)
        org.term_start = start or max(utcnow(), org.term_end)
        org.term_end = org.term_start + timedelta(days=365)
        repository.set_purchased(final)
        audit.record(
            session, org.pk, OPERATOR, "allocation.renewed", ("organization", slug),
            before, _term(org, final), "renewed by an operator",
        )  # fmt: skip
        SeatDesk(session, org.pk, plan, OPERATOR).serve_waiting_line()
        return _term(org, final)


def migrate(db: Database, slug: str, target: str) -> dict[str, Any]:
    """Legacy -> current plan: every allocation and assignment carried over, in one transaction."""
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        mapping = MIGRATIONS.get((org.plan, target))
        if mapping is None:
            raise InvalidInput(f"no migration from {org.plan} to {target}")
        SeatRepository(session, org.pk).lock()
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
    rows = list(session.scalars(select(SeatAllocation).where(SeatAllocation.org_pk == org_pk)))
    carried = [(mapping.get(r.seat_type, r.seat_type), r.purchased, r.assigned) for r in rows]
    for row in rows:
        session.delete(row)
    session.flush()
    for seat_type, purchased, assigned in carried:
        session.add(
            SeatAllocation(
                org_pk=org_pk, seat_type=seat_type, purchased=purchased, assigned=assigned
            )
        )
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
        raise NotFound(f"no member with userName {email!r}")
    return member


def _term(org: Organization, seats: Any) -> dict[str, Any]:
    return {
        "term_start": org.term_start.isoformat(),
        "term_end": org.term_end.isoformat(),
        "seats": dict(seats),
    }


def _checked(check: Any) -> dict[str, int]:
    try:
        return dict(check())
    except AllocationError as exc:
        raise InvalidInput(str(exc)) from exc
