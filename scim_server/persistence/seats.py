"""Seat counters and the waiting line. The invariant is enforced here, in SQL.

Taking a seat is one conditional UPDATE (``assigned < purchased``): two requests
racing for the last seat, in any process or host, cannot both match, because the
database serialises writes to the row (PostgreSQL re-evaluates the condition after
the row lock; SQLite writers are serialised by BEGIN IMMEDIATE). The CHECK
constraint on the table is the last line behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update

from ..domain.seats import UNASSIGNED, Allocation
from .db import Reader, orm_session
from .models import Organization, SeatAllocation, UserRow
from .prepared import Prepared

# On the table, not the mapped class: no ORM object of the allocation is ever loaded here.
_SEATS = cast(Table, SeatAllocation.__table__)

# Every create and seat change runs these: compiled once and run on the driver (see
# prepared.py). An UPDATE's parameters may not take its columns' names.
_COUNTERS = (_SEATS.c.seat_type, _SEATS.c.purchased, _SEATS.c.assigned)
_ALLOCATION = Prepared(select(*_COUNTERS).where(_SEATS.c.org_pk == bindparam("org_pk")))
_TAKE = Prepared(
    update(_SEATS)
    .where(
        _SEATS.c.org_pk == bindparam("b_org_pk"),
        _SEATS.c.seat_type == bindparam("b_seat_type"),
        _SEATS.c.assigned < _SEATS.c.purchased,
    )
    .values(assigned=_SEATS.c.assigned + 1)
)
_RELEASE = Prepared(
    update(_SEATS)
    .where(
        _SEATS.c.org_pk == bindparam("b_org_pk"),
        _SEATS.c.seat_type == bindparam("b_seat_type"),
        _SEATS.c.assigned > 0,
    )
    .values(assigned=_SEATS.c.assigned - 1)
)


class SeatRepository:
    """Counters run on a session or a connection; loading rows as objects needs a session."""

    def __init__(self, session: Reader, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def allocation(self) -> Allocation:
        rows = _ALLOCATION.rows(self.session, {"org_pk": self.org_pk})
        return Allocation(
            {seat_type: purchased for seat_type, purchased, _ in rows},
            {seat_type: assigned for seat_type, _, assigned in rows},
        )

    def take(self, seat_type: str) -> bool:
        """Hold one more seat of `seat_type` if one is free; False when none is."""
        if seat_type == UNASSIGNED:
            return True
        return bool(_TAKE.count(self.session, {"b_org_pk": self.org_pk, "b_seat_type": seat_type}))

    def release(self, seat_type: str) -> None:
        if seat_type == UNASSIGNED:
            return
        _RELEASE.count(self.session, {"b_org_pk": self.org_pk, "b_seat_type": seat_type})

    def take_many(self, seat_type: str, count: int) -> bool:
        """Hold `count` more seats of `seat_type` at once if that many are free (a batch)."""
        if seat_type == UNASSIGNED or count == 0:
            return True
        result = self.session.execute(
            update(SeatAllocation)
            .where(
                SeatAllocation.org_pk == self.org_pk,
                SeatAllocation.seat_type == seat_type,
                SeatAllocation.assigned + count <= SeatAllocation.purchased,
            )
            .values(assigned=SeatAllocation.assigned + count)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_many(self, seat_type: str, count: int) -> None:
        if seat_type == UNASSIGNED or count == 0:
            return
        self.session.execute(
            update(SeatAllocation)
            .where(
                SeatAllocation.org_pk == self.org_pk,
                SeatAllocation.seat_type == seat_type,
                SeatAllocation.assigned >= count,
            )
            .values(assigned=SeatAllocation.assigned - count)
            .execution_options(synchronize_session=False)
        )

    def lock(self) -> None:
        """Serialise with every other seat change of this organization (purchases, renewals).

        PostgreSQL: row locks on the allocation; SQLite: the unit of work already holds
        the database's write lock (BEGIN IMMEDIATE).
        """
        self.session.execute(
            select(SeatAllocation.seat_type)
            .where(SeatAllocation.org_pk == self.org_pk)
            .with_for_update()
        ).all()

    def set_purchased(self, counts: Mapping[str, int]) -> None:
        existing = {
            row.seat_type: row
            for row in orm_session(self.session).scalars(
                select(SeatAllocation).where(SeatAllocation.org_pk == self.org_pk)
            )
        }
        for seat_type, count in counts.items():
            if seat_type in existing:
                existing[seat_type].purchased = count
            else:
                orm_session(self.session).add(
                    SeatAllocation(
                        org_pk=self.org_pk, seat_type=seat_type, purchased=count, assigned=0
                    )
                )
        orm_session(self.session).flush()

    def renewal(self) -> dict[str, int] | None:
        """The counts agreed for the next term, or None when no renewal is set."""
        rows = self.session.execute(
            select(SeatAllocation.seat_type, SeatAllocation.renewal).where(
                SeatAllocation.org_pk == self.org_pk, SeatAllocation.renewal.is_not(None)
            )
        ).all()
        return {seat_type: count for seat_type, count in rows if count is not None} or None

    def set_renewal(self, counts: Mapping[str, int] | None) -> None:
        """Replace the renewal (None: none is set); a type it does not name gets 0."""
        counts = counts or {}
        for row in orm_session(self.session).scalars(
            select(SeatAllocation).where(SeatAllocation.org_pk == self.org_pk)
        ):
            row.renewal = counts.get(row.seat_type, 0) if counts else None
        orm_session(self.session).flush()

    def waiting(self, limit: int) -> list[UserRow]:
        """Active members waiting for a seat, oldest first.

        A member another transaction has locked is skipped (it is being changed; it
        stays in the line for the next release or purchase). Waiting on that lock
        while holding the allocation's would invert the order member-then-allocation
        that SCIM and admin changes take, and PostgreSQL would abort one as a deadlock.
        """
        query = (
            select(UserRow)
            .where(UserRow.org_pk == self.org_pk, UserRow.waiting_since.is_not(None))
            .order_by(UserRow.waiting_since, UserRow.pk)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(orm_session(self.session).scalars(query))

    def counts(self) -> dict[str, int]:
        """Members per seat type held, and how many wait (for the organization's summary)."""
        rows = self.session.execute(
            select(UserRow.seat_type, func.count())
            .where(UserRow.org_pk == self.org_pk, UserRow.active.is_(True))
            .group_by(UserRow.seat_type)
        ).all()
        waiting = self.session.scalar(
            select(func.count()).where(
                UserRow.org_pk == self.org_pk, UserRow.waiting_since.is_not(None)
            )
        )
        return {**{seat_type: n for seat_type, n in rows}, "waiting": waiting or 0}

    def first_waiting_since(self) -> datetime | None:
        return self.session.scalar(
            select(func.min(UserRow.waiting_since)).where(
                UserRow.org_pk == self.org_pk, UserRow.waiting_since.is_not(None)
            )
        )


@dataclass(frozen=True)
class OrganizationSeats:
    slug: str
    allocation: Allocation
    waiting: int  # members in the waiting line
    waiting_since: datetime | None  # when its longest-waiting member joined it


def census(session: Reader) -> list[OrganizationSeats]:
    """Every organization's allocation and waiting line, in two statements for them all:
    the counters and the line SeatRepository reads, across organizations (the line
    through its partial index, ix_users_org_waiting)."""
    counts: dict[tuple[int, str], tuple[dict[str, int], dict[str, int]]] = {}
    for org_pk, slug, seat_type, purchased, assigned in session.execute(
        select(Organization.pk, Organization.slug, *_COUNTERS)
        .join(_SEATS, _SEATS.c.org_pk == Organization.pk)
        .order_by(Organization.slug, _SEATS.c.seat_type)
    ):
        bought, held = counts.setdefault((org_pk, slug), ({}, {}))
        bought[seat_type], held[seat_type] = purchased, assigned
    line = session.execute(
        select(UserRow.org_pk, func.count(), func.min(UserRow.waiting_since))
        .where(UserRow.waiting_since.is_not(None))
        .group_by(UserRow.org_pk)
    )
    waiting = {org_pk: (count, since) for org_pk, count, since in line}
    return [
        OrganizationSeats(slug, Allocation(bought, held), *waiting.get(org_pk, (0, None)))
        for (org_pk, slug), (bought, held) in counts.items()
    ]
