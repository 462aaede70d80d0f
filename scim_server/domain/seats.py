"""Seat rules (SEATS.md §2, §4): pure functions over counts, no I/O.

The database enforces the invariant (seats held <= seats purchased) with
conditional updates; these functions decide *which* seat a member should get and
whether a requested change fits, so that every caller asks the same question the
same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .plans import Plan

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Allocation:
    """Seats purchased and held, per seat type, for one organization at one instant."""

    purchased: Mapping[str, int]
    assigned: Mapping[str, int] = field(default_factory=dict)

    def available(self, seat_type: str) -> int:
        return self.purchased.get(seat_type, 0) - self.assigned.get(seat_type, 0)

    def taking(self, seat_type: str) -> Allocation:
        """This allocation after one more seat of `seat_type` is held."""
        if seat_type == UNASSIGNED:
            return self
        assigned = dict(self.assigned)
        assigned[seat_type] = assigned.get(seat_type, 0) + 1
        return Allocation(self.purchased, assigned)


class SeatUnavailable(Exception):
    """No seat of the requested type is free: the answer a program can act on (SEATS.md §4).

    For a batch, `needed` is what its final state would hold of the type: the batch is
    `short` of that many minus those purchased.
    """

    def __init__(
        self, seat_type: str, purchased: int, assigned: int, needed: int | None = None
    ) -> None:
        self.seat_type = seat_type
        self.purchased = purchased
        self.assigned = assigned
        self.needed = needed
        if needed is None:
            message = f"no {seat_type} seat is available: {assigned} of {purchased} are assigned"
        else:
            message = (
                f"the batch needs {needed} {seat_type} seats and {purchased} are purchased: "
                f"it is {self.short} short"
            )
        super().__init__(message)

    @property
    def short(self) -> int | None:
        return None if self.needed is None else self.needed - self.purchased


class UnknownSeatType(ValueError):
    pass


@dataclass(frozen=True)
class Resolution:
    """The outcome of automatic assignment, with the reason the audit log records."""

    seat_type: str
    reason: str

    @property
    def waiting(self) -> bool:
        return self.seat_type == UNASSIGNED


def check_seat_type(plan: Plan, seat_type: str) -> None:
    if seat_type != UNASSIGNED and plan.seat_type(seat_type) is None:
        known = ", ".join([s.id for s in plan.seat_types] + [UNASSIGNED])
        raise UnknownSeatType(f"{seat_type!r} is not a seat type of {plan.id} ({known})")


def highest_available(plan: Plan, allocation: Allocation) -> str | None:
    """SEATS.md §4 rule 2: the highest-ranked seat type with a seat free."""
    for seat_type in sorted(plan.seat_types, key=lambda s: s.rank, reverse=True):
        if allocation.available(seat_type.id) > 0:
            return seat_type.id
    return None


def resolve(
    plan: Plan, allocation: Allocation, mapped: str | None = None, mapped_by: str | None = None
) -> Resolution:
    """Automatic assignment (SEATS.md §4): the mapped type if free, else the highest free."""
    if mapped is not None and mapped != UNASSIGNED:
        check_seat_type(plan, mapped)
        if allocation.available(mapped) > 0:
            return Resolution(mapped, f"mapped by group {mapped_by}" if mapped_by else "mapped")
    highest = highest_available(plan, allocation)
    if highest is None:
        return Resolution(UNASSIGNED, "no seat of any type available; waiting for a seat")
    if mapped is not None and mapped != UNASSIGNED:
        return Resolution(highest, f"no {mapped} seat available; highest available seat type")
    return Resolution(highest, "highest available seat type")


def check_manual(plan: Plan, allocation: Allocation, current: str, requested: str) -> None:
    """An admin's explicit change fails loudly when the requested type is full."""
    check_seat_type(plan, requested)
    if requested in (UNASSIGNED, current):
        return
    if allocation.available(requested) <= 0:
        raise SeatUnavailable(
            requested, allocation.purchased.get(requested, 0), allocation.assigned.get(requested, 0)
        )


def check_batch(
    plan: Plan, allocation: Allocation, changes: Iterable[tuple[str, str]]
) -> dict[str, int]:
    """A batch of (before, after) changes, judged on its final state (SEATS.md §4).

    Returns the seats held per type afterwards. Raises SeatUnavailable for the first
    seat type (highest rank first) that would hold more than was purchased.
    """
    final = dict(allocation.assigned)
    for before, after in changes:
        check_seat_type(plan, after)
        if before != UNASSIGNED:
            final[before] = final.get(before, 0) - 1
        if after != UNASSIGNED:
            final[after] = final.get(after, 0) + 1
    for seat_type in sorted(plan.seat_types, key=lambda s: s.rank, reverse=True):
        held, bought = final.get(seat_type.id, 0), allocation.purchased.get(seat_type.id, 0)
        if held > bought and held > allocation.assigned.get(seat_type.id, 0):
            assigned = allocation.assigned.get(seat_type.id, 0)
            raise SeatUnavailable(seat_type.id, bought, assigned, needed=held)
    return final


def serve_waiting(
    plan: Plan, allocation: Allocation, waiting: Iterable[tuple[str, str | None, str | None]]
) -> list[tuple[str, Resolution]]:
    """Seats for the waiting line, oldest first, by the automatic rules (SEATS.md §4 rule 3).

    `waiting` yields (member, mapped seat type or None, mapping rule or None), oldest
    first. Stops at the first member no seat can serve: there is none left of any type.
    """
    served: list[tuple[str, Resolution]] = []
    for member, mapped, rule in waiting:
        resolution = resolve(plan, allocation, mapped, rule)
        if resolution.waiting:
            break
        served.append((member, resolution))
        allocation = allocation.taking(resolution.seat_type)
    return served
