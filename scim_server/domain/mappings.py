"""Group mappings (SEATS.md §5): which seat type a member's groups route them to.

Pure rules over values: the file format and its validation live in
`scim_server.mappings_file`; loading members and groups, and applying a plan, belong to
the services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
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

    def route(self, groups: Iterable[GroupRef]) -> tuple[str, str] | None:
        """(seat type, group of the winning rule): what automatic assignment is given."""
        found = self.seat_type_for(groups)
        return (found[0], found[1].group) if found else None


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
    mapped: bool = False  # the seat held was given by a rule (seat_source group_mapping)


@dataclass(frozen=True)
class Move:
    member: str
    from_type: str
    to_type: str
    rule: Rule | None  # None: the member left every mapped group (automatic rules)
    reason: str  # as the audit log records it

    @property
    def mapped(self) -> bool:
        """The member lands on the type their rule maps to (not a fallback)."""
        return self.rule is not None and self.to_type == self.rule.seat_type


@dataclass(frozen=True)
class Released:
    """A member no rule matches any more, whose seat a rule gave: back to the automatic rules.

    They keep the seat they hold (their own seat is free to them, and no higher one is);
    only where their seat came from changes.
    """

    member: str
    seat_type: str
    reason: str


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
    released: tuple[Released, ...]
    held: dict[str, int]  # seats held per seat type once the moves are made
    shortfalls: tuple[Shortfall, ...]

    @property
    def sufficient(self) -> bool:
        return not self.shortfalls


@dataclass(frozen=True)
class _Want:
    member: str
    current: str
    target: str | None  # None: back to the automatic rules, no rule matching
    rule: Rule | None


def plan_moves(
    plan: Plan, allocation: Allocation, mapping: Mapping, members: Iterable[Member]
) -> MovePlan:
    """What applying `mapping` does to these members (SEATS.md §4 automatic rules, §5).

    Pinned and inactive members never move. A member whose winning rule maps to another
    type than the one held wants that type; a member no rule matches stays where they
    are, unless a rule gave them their seat: they go back to the automatic rules.

    Members are taken in order of id, whatever the order given, so that a plan and the
    apply after it decide alike. Mapped types first, in rounds: each round gives the
    seats free at its start to the members who want them, in order; the seats those
    members leave are free in the next round. When a round moves nobody, members who
    only trade seats (one leaves A for B while another leaves B for A, or around a longer
    cycle) move together, which needs no free seat.

    Then the automatic rules, in order of id, for whoever is left (SEATS.md §4: "the
    mapped type if a seat of it is available, otherwise the highest seat type with a seat
    available"): the mapped type if a seat of it has been freed meanwhile, otherwise the
    highest type with a seat free if it ranks above the seat held (the member's own seat
    is free to them, so they never go lower). A member who gets neither keeps their seat
    (a waiting member stays unassigned). Every member who did not get their mapped type
    counts in the shortfall of that type.

    Serving the waiting line is for purchases and deprovisioning (SEATS.md §4), not for a
    change of mapping: like an admin's change, a mapping redistributes seats.

    The moves fit on their final state: releasing every seat they leave, then taking
    every seat they go to, never holds more than was purchased.
    """
    _check_rules(plan, mapping)
    free = {seat_type.id: allocation.available(seat_type.id) for seat_type in plan.seat_types}
    wants = _wants(mapping, members)
    taken, pending = _take_in_rounds([w for w in wants if w.target is not None], free)
    traded, pending = _trades(pending)
    left = sorted(pending + [w for w in wants if w.target is None], key=lambda w: w.member)
    fallen, blocked, released = _automatic(plan, left, free)
    moves = taken + traded + fallen
    return MovePlan(
        moves=tuple(_move(w) for w in moves),
        blocked=tuple(_blocked(w) for w in blocked),
        released=tuple(
            Released(w.member, w.current, f"no longer in a mapped group; keeps {w.current}")
            for w in released
        ),
        held=_held(plan, allocation, moves),
        shortfalls=_shortfalls(plan, [w for w in fallen if not _lands(w)] + blocked),
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
        if member.pinned or not member.active:
            continue
        found = mapping.seat_type_for(member.groups)
        if found is None and member.mapped:
            wants.append(_Want(member.id, member.seat_type, None, None))
        elif found is not None and found[0] != member.seat_type:
            wants.append(_Want(member.id, member.seat_type, found[0], found[1]))
    return wants


def _take_in_rounds(wants: list[_Want], free: dict[str, int]) -> tuple[list[_Want], list[_Want]]:
    taken: list[_Want] = []
    while True:
        freed: Counter[str] = Counter()
        pending: list[_Want] = []
        for want in wants:
            assert want.target is not None
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
            step = leaving.get(step.target) if step.target is not None else None
        if step is not None:
            return path[at[step.current] :]
    return None


def _automatic(
    plan: Plan, left: list[_Want], free: dict[str, int]
) -> tuple[list[_Want], list[_Want], list[_Want]]:
    """SEATS.md §4 for the members the rounds left: mapped type if freed, else highest free.

    In passes, in order of id, until a pass moves nobody (a seat one member leaves may be
    the one an earlier member wanted). Returns the members who move (with the type they
    get), those who keep their seat although a rule maps them elsewhere, and those
    released to the automatic rules.
    """
    rank = {s.id: s.rank for s in plan.seat_types}
    moved: list[_Want] = []
    while True:
        stay: list[_Want] = []
        for want in left:
            target = want.target if want.target is not None and free[want.target] > 0 else None
            if target is None:
                best = highest_free(plan, free)
                if best is not None and rank[best] > rank.get(want.current, -1):
                    target = best
            if target is None:
                stay.append(want)
                continue
            free[target] -= 1
            if want.current in free:
                free[want.current] += 1
            moved.append(replace(want, target=target))
        if len(stay) == len(left):
            break
        left = stay
    blocked = [w for w in left if w.rule is not None]
    return moved, blocked, [w for w in left if w.rule is None]


def highest_free(plan: Plan, free: dict[str, int]) -> str | None:
    for seat_type in sorted(plan.seat_types, key=lambda s: s.rank, reverse=True):
        if free.get(seat_type.id, 0) > 0:
            return seat_type.id
    return None


def _lands(want: _Want) -> bool:
    """Released members, and members who got their mapped type, miss no seat."""
    return want.rule is None or want.target == want.rule.seat_type


def _move(want: _Want) -> Move:
    assert want.target is not None
    if want.rule is None:
        reason = f"no longer in a mapped group; highest available {want.target}"
    elif want.target == want.rule.seat_type:
        reason = f"mapped by group {want.rule.group}"
    else:
        reason = (
            f"mapped by group {want.rule.group}; no {want.rule.seat_type} seat available, "
            f"highest available {want.target}"
        )
    return Move(want.member, want.current, want.target, want.rule, reason)


def _blocked(want: _Want) -> Blocked:
    assert want.target is not None and want.rule is not None
    keeps = "stays unassigned" if want.current == UNASSIGNED else f"keeps {want.current}"
    reason = f"no {want.target} seat available; {keeps}"
    return Blocked(want.member, want.current, want.target, want.rule, reason)


def _held(plan: Plan, allocation: Allocation, moves: list[_Want]) -> dict[str, int]:
    held = {s.id: allocation.assigned.get(s.id, 0) for s in plan.seat_types}
    for want in moves:
        assert want.target is not None
        if want.current in held:
            held[want.current] -= 1
        held[want.target] += 1
    return held


def _shortfalls(plan: Plan, short: list[_Want]) -> tuple[Shortfall, ...]:
    """Seats to buy per type so that every member a rule maps there would get one."""
    missing = Counter(want.rule.seat_type for want in short if want.rule is not None)
    return tuple(Shortfall(s.id, missing[s.id]) for s in plan.seat_types if missing[s.id])
