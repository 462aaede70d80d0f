"""Annual terms and renewals (SEATS.md §2): when a term ends, and what the next one holds.

A renewal is the *next* term: its counts take effect when the current term ends, never
before. A term that ends with no renewal set renews with the same counts, as SaaS
contracts do. Seats held beyond a renewal's count when it takes effect are kept: the
count is raised to what is held and the difference is an *overage* (docs/renewal.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


def year_after(moment: datetime) -> datetime:
    """The same calendar date and time a year later: a term is a year, not 365 days.

    29 February has no twin in a common year: the term ends on 28 February, a day short
    rather than running into March, and the terms after it keep 28 February.
    """
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + 1, day=28)


@dataclass(frozen=True)
class Term:
    start: datetime
    end: datetime

    @classmethod
    def starting(cls, start: datetime) -> Term:
        return cls(start, year_after(start))

    def following(self) -> Term:
        """The term that starts when this one ends."""
        return Term.starting(self.end)

    def over(self, now: datetime) -> bool:
        return now >= self.end


@dataclass(frozen=True)
class Renewal:
    """Counts agreed for the term after the current one; nothing changes until it starts."""

    term: Term
    seats: Mapping[str, int]


@dataclass(frozen=True)
class TermStart:
    """A term that has begun: its counts, where they came from, and what was kept."""

    term: Term
    seats: dict[str, int]
    renewed: bool  # the counts of a renewal set for it; else the previous term's
    overage: dict[str, int] = field(default_factory=dict)  # held beyond the counts, kept


def terms_begun(
    current: Term,
    purchased: Mapping[str, int],
    renewal: Mapping[str, int] | None,
    held: Mapping[str, int],
    now: datetime,
) -> list[TermStart]:
    """Every term that has begun by `now` after `current`, oldest first; [] while it runs.

    The first takes the renewal's counts if one was set, the rest the counts before them
    (no renewal: the same counts). No count goes below the seats held of its type.
    """
    begun: list[TermStart] = []
    term, counts, agreed = current, dict(purchased), renewal
    while term.over(now):
        term = term.following()
        base = dict(agreed) if agreed is not None else counts
        seats = {t: max(n, held.get(t, 0)) for t, n in base.items()}
        overage = {t: seats[t] - base[t] for t in seats if seats[t] > base[t]}
        begun.append(TermStart(term, seats, agreed is not None, overage))
        counts, agreed = seats, None
    return begun
