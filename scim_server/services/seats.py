"""Seat changes inside an open unit of work: the domain decides, SQL enforces, audit records.

Every path that gives or takes a seat goes through SeatDesk, so the invariant, the
waiting line and the audit log cannot be bypassed by one caller.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from .. import progress
from ..domain import seats
from ..domain.mappings import Move, MovePlan
from ..domain.plans import Plan
from ..domain.seats import UNASSIGNED, Allocation, SeatUnavailable
from ..persistence.db import Reader, orm_session
from ..persistence.mappings import GroupMappingRepository, MemberFacts
from ..persistence.models import UserRow
from ..persistence.repositories import UserRepository, chunks
from ..persistence.seats import SeatRepository
from ..persistence.types import utcnow
from . import audit
from .audit import Actor
from .resources import touch


def rule_reason(move: Move) -> str:
    """The audit log's why, with the rule that caused the move (SEATS.md §8)."""
    if move.rule is None or move.rule.line is None:
        return move.reason
    return f"{move.reason} (rule at line {move.rule.line})"


def seat_state(member: UserRow) -> dict[str, Any]:
    return {
        "seat_type": member.seat_type,
        "seat_source": member.seat_source,
        "pinned": member.pinned_seat_type is not None,
    }


class SeatDesk:
    """Seat changes in a unit of work: a session, or for a create a `Database.writing()`
    connection (core statements only; see `_save`)."""

    def __init__(self, session: Reader, org_pk: int, plan: Plan, actor: Actor) -> None:
        self.session = session
        self.org_pk = org_pk
        self.actor = actor
        self.plan = plan
        self.repository = SeatRepository(session, org_pk)

    # --- automatic (SEATS.md §4) -------------------------------------------------------

    def provision(
        self,
        member: UserRow,
        insert: Callable[[], object],
        requested: str | None = None,
        mapped: tuple[str, str] | None = None,
        together: Callable[[str | None, dict[str, Any]], object] | None = None,
        allocation: Allocation | None = None,
    ) -> None:
        """A new member's seat: an explicit request fails loudly, else the automatic rules.

        The seat is decided before `insert` writes the member, so that the INSERT carries
        it (no second write of the row), and taken after it: the member's row, then the
        allocation, the order every seat change locks in. The decision is read without a
        lock; if another transaction takes the seat first (PostgreSQL; SQLite writers are
        serialised), the automatic rules run again on the inserted member.

        `together(seat type to take or None, audit event)` writes the member, the seat and
        the event in one statement instead (persistence/joining.py), or nothing: it raises
        SeatGone when the seat was taken meanwhile, and the caller starts again without it.
        `allocation`, the counters if they were read already (with the request's token), saves
        reading them: the decision is the same unlocked read's, checked by the take.
        """
        member.seat_type = member.seat_type or UNASSIGNED  # the column's default, before the INSERT
        if not member.active:
            insert()
            return
        before = seat_state(member)
        if requested is not None:
            seats.check_seat_type(self.plan, requested)
            member.pinned_seat_type = requested
            decided, source, reason = requested, "manual", "assigned by an admin"
            action = "seat.changed"
        else:
            mapped_type, rule = mapped if mapped else (None, None)
            counters = allocation or self.repository.allocation()
            resolution = seats.resolve(self.plan, counters, mapped_type, rule)
            decided, reason = resolution.seat_type, resolution.reason
            source = self._automatic_source()
            if resolution.waiting:
                member.waiting_since = utcnow()
                action = "seat.waiting"
            else:
                # A seat a rule gave is the mapping's: leaving the group releases it (§5).
                source = "group_mapping" if decided == mapped_type else source
                action = "seat.changed"
        member.seat_type, member.seat_source = decided, source
        if together is not None:
            taking = None if decided == UNASSIGNED or member.waiting_since else decided
            event = audit.event(
                self.actor, action, ("member", member.id), before, seat_state(member), reason
            )
            together(taking, event)
            return
        insert()
        if not self.repository.take(decided):
            if requested is not None:
                raise self._unavailable(requested)
            member.seat_type, member.seat_source = UNASSIGNED, before["seat_source"]
            self.automatic(member, mapped)
            return
        audit.record(
            self.session, self.org_pk, self.actor, action, ("member", member.id),
            before, seat_state(member), reason,
        )  # fmt: skip

    def automatic(
        self, member: UserRow, mapped: tuple[str, str] | None = None, reason: str | None = None
    ) -> None:
        """Mapped type if free, else highest free, else the waiting line."""
        mapped_type, rule = mapped if mapped else (None, None)
        # A take can lose a race to another transaction; re-read and decide again.
        for _ in range(len(self.plan.seat_types) + 2):
            resolution = seats.resolve(self.plan, self.repository.allocation(), mapped_type, rule)
            if resolution.waiting:
                self._wait(member, reason or resolution.reason)
                return
            if self.repository.take(resolution.seat_type):
                # A seat a rule gave is the mapping's: leaving the group releases it (§5).
                source = "group_mapping" if resolution.seat_type == mapped_type else None
                self._hold(member, resolution.seat_type, reason or resolution.reason, source)
                return
        self._wait(member, "no seat could be taken")

    def reactivate(self, member: UserRow) -> None:
        """A pinned type if free, otherwise the automatic rules (SEATS.md §4)."""
        pinned = member.pinned_seat_type
        if pinned and pinned != UNASSIGNED and self.repository.take(pinned):
            self._hold(member, pinned, "reactivated on the pinned seat type", source="manual")
            return
        if pinned == UNASSIGNED:
            self._change(member, UNASSIGNED, "reactivated; pinned to unassigned", "manual")
            return
        self.automatic(member, self._mapped(member), reason=None)

    def release(self, member: UserRow, reason: str) -> None:
        """Deprovisioning frees the seat, and the waiting line is served (SEATS.md §4)."""
        held = member.seat_type
        member.waiting_since = None
        if held == UNASSIGNED:
            return
        self.repository.release(held)
        self._change(member, UNASSIGNED, reason, self.actor.source)
        self.serve_waiting_line()

    def serve_waiting_line(self) -> int:
        """Oldest first, as many as there are free seats; returns how many were seated."""
        allocation = self.repository.allocation()
        free = sum(max(0, allocation.available(t.id)) for t in self.plan.seat_types)
        served = 0
        for member in self.repository.waiting(limit=free) if free else []:
            self.automatic(member, self._mapped(member), reason=None)
            if member.waiting_since is not None:
                break
            served += 1
        return served

    def _mapped(self, member: UserRow) -> tuple[str, str] | None:
        """The seat type the stored mapping routes this member to, and the rule's group."""
        repository = GroupMappingRepository(self._unit(), self.org_pk)
        mapping = repository.mapping()
        if mapping is None:
            return None
        facts = next(repository.members([member.pk]), None)
        return mapping.route(facts.refs()) if facts else None

    # --- manual (SEATS.md §4) ----------------------------------------------------------

    def assign(self, member: UserRow, requested: str, pin: bool = True) -> None:
        """An explicit choice: the type asked for or an error; a freed seat stays free.

        A deactivated member holds no seat: the choice is pinned and taken at reactivation.
        """
        seats.check_seat_type(self.plan, requested)
        if not member.active:
            before = seat_state(member)
            member.pinned_seat_type = requested
            self._set(member, UNASSIGNED, "manual", before, f"pinned to {requested} while inactive")
            return
        if requested != member.seat_type and not self.repository.take(requested):
            raise self._unavailable(requested)
        if requested != member.seat_type:
            self.repository.release(member.seat_type)
        before = seat_state(member)
        member.pinned_seat_type = requested if pin else member.pinned_seat_type
        member.waiting_since = None
        self._set(member, requested, "manual", before, "assigned by an admin")

    def reset_to_automatic(self, member: UserRow) -> None:
        """Unpin: the member's seat is decided by the automatic rules again.

        The unpinning is recorded first, then the automatic decision, whose `before` is the
        seat held until now (SEATS.md §8: what it was before and after).
        """
        if member.pinned_seat_type is not None:
            before = seat_state(member)
            member.pinned_seat_type = None
            self._save(member)  # a deactivated member's resource shows the pinned type
            audit.record(
                self.session, self.org_pk, self.actor, "seat.unpinned", ("member", member.id),
                before, seat_state(member), "reset to automatic assignment",
            )  # fmt: skip
        if member.active:
            self.repository.release(member.seat_type)
            self.automatic(member, reason="reset to automatic assignment")

    def assign_batch(self, changes: Iterable[tuple[UserRow, str]]) -> None:
        """All or nothing, judged on the final state (SEATS.md §4)."""
        final: dict[int, tuple[UserRow, str]] = {}
        for member, requested in changes:
            seats.check_seat_type(self.plan, requested)
            final[member.pk] = (member, requested)
        # Deactivated members hold no seat; their choice is only pinned (see assign).
        moves = [(m, r) for m, r in final.values() if r != m.seat_type and m.active]
        seats.check_batch(
            self.plan, self.repository.allocation(), [(m.seat_type, r) for m, r in moves]
        )
        for member, _ in moves:
            self.repository.release(member.seat_type)
        for _member, requested in moves:
            if not self.repository.take(requested):
                raise self._unavailable(requested)
        for member, requested in final.values():
            before = seat_state(member)
            member.pinned_seat_type = requested
            member.waiting_since = None
            held = requested if member.active else UNASSIGNED
            self._set(member, held, "manual", before, "assigned by an admin (batch)")

    # --- group mappings (SEATS.md §5) --------------------------------------------------

    def apply_mapping(self, planned: MovePlan, members: Mapping[str, MemberFacts]) -> None:
        """A mapping's moves at once, as an admin batch: release every seat, then take.

        In bulk, as a mapping can move 50,000 members: two statements per seat type for
        the counters, one UPDATE per thousand members, one audit INSERT per thousand
        events. `planned` was made on this transaction's locked allocation and members, so
        every take succeeds; if one did not, nothing is changed.
        """
        leaving = Counter(m.from_type for m in planned.moves)
        for seat_type, count in leaving.items():
            self.repository.release_many(seat_type, count)
        for seat_type, count in Counter(m.to_type for m in planned.moves).items():
            if not self.repository.take_many(seat_type, count):
                raise self._unavailable(seat_type)
        automatic = self._automatic_source()
        updates: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
        changes = []
        for move in planned.moves:
            source = "group_mapping" if move.mapped else automatic
            changes.append(
                self._bulk(members[move.member], move.to_type, source, rule_reason(move))
            )
            updates[(move.to_type, source, True)].append(members[move.member].pk)
        for released in planned.released:
            member = members[released.member]
            changes.append(self._bulk(member, member.seat_type, automatic, released.reason))
            updates[(member.seat_type, automatic, False)].append(member.pk)
        repository = GroupMappingRepository(self._unit(), self.org_pk)
        moved, total = 0, sum(len(pks) for pks in updates.values())
        for (seat_type, source, seated), pks in updates.items():
            for batch in chunks(pks):
                repository.set_seats(batch, seat_type, source, seated)
                moved += len(batch)
                progress.report("moving members", moved, total)
        audited = progress.counted(changes, "recording the audit log", len(changes))
        audit.record_many(self._unit(), self.org_pk, self.actor, "seat.changed", audited)

    @staticmethod
    def _bulk(
        member: MemberFacts, seat_type: str, source: str, reason: str
    ) -> tuple[tuple[str, str], dict[str, Any], dict[str, Any], str]:
        before = {"seat_type": member.seat_type, "seat_source": member.seat_source}
        after = {"seat_type": seat_type, "seat_source": source}
        pinned = {"pinned": member.pinned}
        return ("member", member.id), before | pinned, after | pinned, reason

    # --- recording ---------------------------------------------------------------------

    def _hold(
        self, member: UserRow, seat_type: str, reason: str, source: str | None = None
    ) -> None:
        member.waiting_since = None
        self._change(member, seat_type, reason, source or self._automatic_source())

    def _wait(self, member: UserRow, reason: str) -> None:
        """No seat of any type: the member exists, unassigned, and joins the line."""
        if member.waiting_since is None:
            member.waiting_since = utcnow()
        self._change(member, UNASSIGNED, reason, self._automatic_source(), action="seat.waiting")

    def _change(
        self,
        member: UserRow,
        seat_type: str,
        reason: str,
        source: str,
        action: str = "seat.changed",
    ) -> None:
        self._set(member, seat_type, source, seat_state(member), reason, action)

    def _set(
        self,
        member: UserRow,
        seat_type: str,
        source: str,
        before: dict[str, Any],
        reason: str,
        action: str = "seat.changed",
    ) -> None:
        member.seat_type = seat_type
        member.seat_source = source
        self._save(member)
        audit.record(
            self.session, self.org_pk, self.actor, action, ("member", member.id),
            before, seat_state(member), reason,
        )  # fmt: skip

    def _save(self, member: UserRow) -> None:
        """The member's seat columns, written before the next statement reads them: the
        session's flush for a loaded member, one UPDATE for a row created on a connection.

        The seat is part of the member's SCIM resource (its seat extension), so the
        resource gets a new meta.version and lastModified: a client's ETag goes stale.
        """
        touch(member)
        if isinstance(self.session, Session):
            self.session.flush()
            return
        UserRepository(self.session, self.org_pk).update(
            member.pk,
            {
                "seat_type": member.seat_type,
                "seat_source": member.seat_source,
                "pinned_seat_type": member.pinned_seat_type,
                "waiting_since": member.waiting_since,
                "version": member.version,
                "last_modified": member.last_modified,
            },
        )

    def _unit(self) -> Session:
        """The session that group mappings' reads and bulk moves need."""
        return orm_session(self.session)

    def _unavailable(self, seat_type: str) -> SeatUnavailable:
        """The 409 of an explicit request with no seat of its type free, with the counts."""
        allocation = self.repository.allocation()
        return SeatUnavailable(
            seat_type, allocation.purchased.get(seat_type, 0), allocation.assigned.get(seat_type, 0)
        )

    def _automatic_source(self) -> str:
        return self.actor.source if self.actor.source in {"scim", "jit", "operator"} else "system"
