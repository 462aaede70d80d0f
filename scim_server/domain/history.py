"""The seat history of a term (SEATS.md §2, §8), rebuilt from the audit log. Pure arithmetic.

The counts of today are exact (the allocation's counters); the log says what changed each
day. Walking back from today, undoing each day's moves and purchases, gives the counts at
the end of every day of the term, without trusting the log to be complete since the
organization began (members created before migration 0003 left no seat events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Flow:
    """`count` members moved from one seat type (or unassigned) to another on `day`."""

    day: date
    from_type: str
    to_type: str
    count: int


@dataclass(frozen=True)
class AllocationChange:
    day: date
    before: Mapping[str, int]


@dataclass(frozen=True)
class Point:
    """The counts at the end of `day`."""

    day: date
    assigned: Mapping[str, int]
    purchased: Mapping[str, int]


def seat_history(
    seat_types: Sequence[str],
    start: date,
    end: date,
    assigned: Mapping[str, int],
    purchased: Mapping[str, int],
    flows: Iterable[Flow],
    changes: Iterable[AllocationChange],
) -> list[Point]:
    """One point per day from `start` to `end`, oldest first; `changes` oldest first."""
    moves: dict[date, list[Flow]] = defaultdict(list)
    for flow in flows:
        moves[flow.day].append(flow)
    first_change: dict[date, AllocationChange] = {}
    for change in changes:
        first_change.setdefault(change.day, change)
    held = {t: assigned.get(t, 0) for t in seat_types}
    bought = {t: purchased.get(t, 0) for t in seat_types}
    points = []
    day = end
    while day >= start:
        points.append(Point(day, dict(held), dict(bought)))
        for flow in moves.get(day, ()):
            _shift(held, flow.to_type, -flow.count)
            _shift(held, flow.from_type, flow.count)
        if day in first_change:
            bought = {t: first_change[day].before.get(t, 0) for t in seat_types}
        day -= timedelta(days=1)
    return points[::-1]


def _shift(counts: dict[str, int], seat_type: str, by: int) -> None:
    # `unassigned` and types of another plan are not charted; a log older than the
    # counters (members from before the seat columns) must not chart a negative count.
    if seat_type in counts:
        counts[seat_type] = max(0, counts[seat_type] + by)
