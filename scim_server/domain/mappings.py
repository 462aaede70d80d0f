"""Group mappings (SEATS.md §5): which seat type a member's groups route them to.

Pure rules over values: the file format and its validation live in
`scim_server.mappings_file`; loading members and groups, and applying a plan, belong to
the services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from unicodedata import normalize

from .plans import Plan
from .seats import UNASSIGNED, Allocation, UnknownSeatType


def name_key(value: str) -> str:
    """The case-insensitive form of a group displayName (RFC 7643 §4.2, caseExact false).

    The same NFC, lowercase, NFC form as `scim.resources.name_key`, which fills the
    groups' `display_name_key` column: a rule finds exactly the groups a `displayName eq`
    filter finds. (The domain cannot import scim2-models, hence the copy.)
    """
    return normalize("NFC", normalize("NFC", value).lower())


@dataclass(frozen=True)
class GroupRef:
    """The names a member's group goes by; any may be unknown."""

    display_name: str | None = None
    external_id: str | None = None
    id: str | None = None

    @classmethod
    def claim(cls, value: str) -> GroupRef:
        """An OIDC groups-claim value (SEATS.md §6): IdPs send names or ids, so it is all three."""
        return cls(value, value, value)


@dataclass(frozen=True)
class Rule:
    group: str
    seat_type: str
    priority: int | None = None
    line: int | None = None  # in the mapping file: for messages and the audit log

    def matches(self, group: GroupRef) -> bool:
        """displayName case-insensitively; externalId and id exactly (RFC 7643 §3.1)."""
        if group.display_name is not None and name_key(group.display_name) == name_key(self.group):
            return True
        return self.group in (group.external_id, group.id)


@dataclass(frozen=True)
class Mapping:
    """One organization's rules, in file order.

    Precedence, which decides between rules a member matches: the higher `priority`
    first, a rule without one counting as 0; between equal priorities, the rule earlier
    in the file. So with no priorities the first matching rule wins; a positive priority
    lifts a rule above every rule without one; a negative one puts a catch-all below them.
    """

    plan: str
    rules: tuple[Rule, ...] = ()

    def ranked(self) -> tuple[Rule, ...]:
        """The rules in precedence order, the one that wins first."""
        order = sorted(enumerate(self.rules), key=lambda item: precedence(*item))
        return tuple(rule for _, rule in order)

    def seat_type_for(self, groups: Iterable[GroupRef]) -> tuple[str, Rule] | None:
        """The seat type the winning rule maps to, and that rule; None when no rule matches."""
        refs = tuple(groups)
        for rule in self.ranked():
            if any(rule.matches(ref) for ref in refs):
                return rule.seat_type, rule
        return None


def precedence(position: int, rule: Rule) -> tuple[int, int]:
    """Sort key of the rule at `position` in the file: the rule that wins sorts first."""
    return -(rule.priority or 0), position


@dataclass(frozen=True)
class Member:
    id: str
    seat_type: str  # held now; UNASSIGNED when none
    pinned: bool = False
    active: bool = True
    groups: tuple[GroupRef, ...] = ()


@dataclass(frozen=True)
class Move:
    member: str
    from_type: str
    to_type: str
    rule: Rule
    reason: str  # as the audit log records it


@dataclass(frozen=True)
class Blocked:
    """A member a rule maps to a type with no seat left: they keep the seat they hold."""

    member: str
    seat_type: str
    wanted: str
    rule: Rule
    reason: str


@dataclass(frozen=True)
class Shortfall:
    seat_type: str
    missing: int  # seats to buy so that every member mapped to this type gets one


@dataclass(frozen=True)
class MovePlan:
    moves: tuple[Move, ...]
    blocked: tuple[Blocked, ...]
    held: dict[str, int]  # seats held per seat type once the moves are made
    shortfalls: tuple[Shortfall, ...]

    @property
    def sufficient(self) -> bool:
        return not self.shortfalls


@dataclass(frozen=True)
class _Want:
    member: str
    current: str
    target: str
    rule: Rule


def plan_moves(
    plan: Plan, allocation: Allocation, mapping: Mapping, members: Iterable[Member]
) -> MovePlan:
    """What applying `mapping` does to every member (SEATS.md §4 automatic rules, §5).

    Pinned and inactive members never move; members no rule matches stay where they are.
    Every other member the winning rule maps to another type wants that type. Members are
    taken in order of id, whatever the order given, so that a plan and the apply after
    it decide alike. Seats are handed out in rounds: each round gives the seats free at
    its start to the members who want them, in order; the seats those members leave are
    free in the next round. When a round moves nobody, the members left who only trade
    seats (one leaves A for B while another leaves B for A, or around a longer cycle)
    move together, which needs no free seat. Whoever is left keeps their seat (a waiting
    member stays unassigned) and counts in the shortfall of the type they wanted.

    A mapping only moves members to their mapped type: falling back to the highest type
    free is for provisioning (`seats.resolve`), and serving the waiting line is for
    purchases and deprovisioning (SEATS.md §4), not for a change of mapping.

    The moves fit on their final state: releasing every seat they leave, then taking
    every seat they go to, never holds more than was purchased.
    """
    _check_rules(plan, mapping)
    free = {seat_type.id: allocation.available(seat_type.id) for seat_type in plan.seat_types}
    taken, pending = _take_in_rounds(_wants(mapping, members), free)
    traded, blocked = _trades(pending)
    moves = taken + traded
    return MovePlan(
        moves=tuple(
            Move(w.member, w.current, w.target, w.rule, f"mapped by group {w.rule.group}")
            for w in moves
        ),
        blocked=tuple(_blocked(w) for w in blocked),
        held=_held(plan, allocation, moves),
        shortfalls=_shortfalls(plan, blocked),
    )


def _check_rules(plan: Plan, mapping: Mapping) -> None:
    if mapping.plan != plan.id:
        raise ValueError(f"a mapping for {mapping.plan} cannot apply to {plan.id}")
    for rule in mapping.rules:
        if plan.seat_type(rule.seat_type) is None:
            raise UnknownSeatType(f"{rule.seat_type!r} is not a seat type of {plan.id}")


def _wants(mapping: Mapping, members: Iterable[Member]) -> list[_Want]:
    wants: list[_Want] = []
    seen: set[str] = set()
    for member in sorted(members, key=lambda m: m.id):
        if member.id in seen:
            raise ValueError(f"member {member.id} is listed twice")
        seen.add(member.id)
        found = None if member.pinned or not member.active else mapping.seat_type_for(member.groups)
        if found is not None and found[0] != member.seat_type:
            wants.append(_Want(member.id, member.seat_type, found[0], found[1]))
    return wants


def _take_in_rounds(wants: list[_Want], free: dict[str, int]) -> tuple[list[_Want], list[_Want]]:
    taken: list[_Want] = []
    while True:
        freed: Counter[str] = Counter()
        pending: list[_Want] = []
        for want in wants:
            if free[want.target] > 0:
                free[want.target] -= 1
                freed[want.current] += 1
                taken.append(want)
            else:
                pending.append(want)
        if len(pending) == len(wants):
            return taken, pending
        for seat_type, count in freed.items():
            if seat_type in free:
                free[seat_type] += count
        wants = pending


def _trades(pending: list[_Want]) -> tuple[list[_Want], list[_Want]]:
    """Cycles of members who take each other's seats: all of a cycle move, or none."""
    traded: list[_Want] = []
    while (cycle := _cycle(pending)) is not None:
        traded += cycle
        pending = [want for want in pending if want not in cycle]
    return traded, pending


def _cycle(pending: list[_Want]) -> list[_Want] | None:
    """The first cycle found by following, from each type, the first member who leaves it."""
    leaving: dict[str, _Want] = {}
    for want in pending:
        leaving.setdefault(want.current, want)
    for start in pending:
        path: list[_Want] = []
        at: dict[str, int] = {}
        step: _Want | None = start
        while step is not None and step.current not in at:
            at[step.current] = len(path)
            path.append(step)
            step = leaving.get(step.target)
        if step is not None:
            return path[at[step.current] :]
    return None


def _blocked(want: _Want) -> Blocked:
    keeps = "stays unassigned" if want.current == UNASSIGNED else f"keeps {want.current}"
    reason = f"no {want.target} seat available; {keeps}"
    return Blocked(want.member, want.current, want.target, want.rule, reason)


def _held(plan: Plan, allocation: Allocation, moves: list[_Want]) -> dict[str, int]:
    held = {s.id: allocation.assigned.get(s.id, 0) for s in plan.seat_types}
    for want in moves:
        if want.current in held:
            held[want.current] -= 1
        held[want.target] += 1
    return held


def _shortfalls(plan: Plan, blocked: list[_Want]) -> tuple[Shortfall, ...]:
    missing = Counter(want.target for want in blocked)
    return tuple(Shortfall(s.id, missing[s.id]) for s in plan.seat_types if missing[s.id])
