"""Buying seats and renewing terms (SEATS.md §2): pure checks and the review's arithmetic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from . import labels
from .plans import AllocationError, Plan, check_allocation


class ReductionDuringTerm(AllocationError):
    """Seats cannot be removed during the annual term."""

    def __init__(self, message: str, seat_types: tuple[str, ...]) -> None:
        super().__init__(message)
        self.seat_types = seat_types  # the ids of the types lowered, in the plan's order


@dataclass(frozen=True)
class Line:
    seat_type: str
    current: int
    requested: int
    added: int
    cost_cents: int


@dataclass(frozen=True)
class Review:
    """What confirming a purchase would change; computing it changes nothing."""

    lines: tuple[Line, ...]
    total_cents: int
    currency: str
    days_remaining: int
    term_end: datetime

    @property
    def changes_anything(self) -> bool:
        return any(line.added for line in self.lines)


def check_purchase(
    plan: Plan, current: Mapping[str, int], requested: Mapping[str, int]
) -> dict[str, int]:
    """The allocation after a purchase: types not named keep their count; none may go down."""
    final = {s.id: current.get(s.id, 0) for s in plan.seat_types}
    final.update(requested)
    check_allocation(plan, final)
    lowered = [t for t, n in final.items() if n < current.get(t, 0)]
    if lowered:
        # Named for the person reading (the console shows this message as it is); the ids
        # are in `seat_types` for programs.
        details = ", ".join(
            f"{labels.seat_type(plan, t)} from {current.get(t, 0)} to {final[t]}" for t in lowered
        )
        raise ReductionDuringTerm(
            f"seats cannot be removed during the annual term ({details}); "
            "contact your account manager to adjust the allocation at renewal",
            tuple(lowered),
        )
    return final


def days_remaining(now: datetime, term_end: datetime) -> int:
    """Whole days left in the term: what a purchase made now is charged for."""
    return max(0, (term_end - now).days)


def review(
    plan: Plan,
    current: Mapping[str, int],
    requested: Mapping[str, int],
    now: datetime,
    term_end: datetime,
) -> Review:
    """Seats added per type and their price for the rest of the term, prorated by day."""
    final = check_purchase(plan, current, requested)
    days = days_remaining(now, term_end)
    lines = []
    for seat_type in plan.seat_types:
        added = final[seat_type.id] - current.get(seat_type.id, 0)
        # A year of 365 days is twelve months: price x 12 x days / 365, rounded to the cent.
        cost = round(added * seat_type.monthly_price_cents * 12 * days / 365)
        lines.append(
            Line(seat_type.id, current.get(seat_type.id, 0), final[seat_type.id], added, cost)
        )
    return Review(
        tuple(lines), sum(line.cost_cents for line in lines), plan.currency, days, term_end
    )


def check_renewal(
    plan: Plan,
    current: Mapping[str, int],
    counts: Mapping[str, int],
    in_use: Mapping[str, int],
) -> dict[str, int]:
    """The next term's counts: types not named keep this term's count; counts may go down,
    but not below 20 in total nor below the seats in use (SEATS.md §2)."""
    final = {s.id: current.get(s.id, 0) for s in plan.seat_types}
    final.update(counts)
    check_allocation(plan, final)
    short = [t for t, n in final.items() if n < in_use.get(t, 0)]
    if short:
        details = ", ".join(f"{t}: {final[t]} < {in_use.get(t, 0)} in use" for t in short)
        raise AllocationError(f"a renewal cannot go below the seats in use ({details})")
    return final
