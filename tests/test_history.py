"""The seat history arithmetic (domain/history.py), with no database."""

from __future__ import annotations

from datetime import date

from scim_server.domain.history import AllocationChange, Flow, seat_history

TYPES = ["chat", "chat_code"]
D = date(2026, 3, 10)


def day(n: int) -> date:
    return date.fromordinal(D.toordinal() + n)


def test_with_nothing_logged_every_day_has_todays_counts() -> None:
    points = seat_history(TYPES, day(0), day(2), {"chat": 3}, {"chat": 10, "chat_code": 5}, [], [])
    assert [p.day for p in points] == [day(0), day(1), day(2)]
    assert all(p.assigned == {"chat": 3, "chat_code": 0} for p in points)
    assert all(p.purchased == {"chat": 10, "chat_code": 5} for p in points)


def test_each_days_moves_are_undone_walking_back_from_today() -> None:
    flows = [
        Flow(day(1), "unassigned", "chat", 4),  # four members provisioned
        Flow(day(2), "chat", "chat_code", 1),  # one moved up
        Flow(day(2), "chat", "unassigned", 1),  # one deactivated
    ]
    points = seat_history(TYPES, day(0), day(2), {"chat": 2, "chat_code": 1}, {}, flows, [])
    assert [dict(p.assigned) for p in points] == [
        {"chat": 0, "chat_code": 0},
        {"chat": 4, "chat_code": 0},
        {"chat": 2, "chat_code": 1},
    ]


def test_a_purchase_changes_the_counts_from_its_day_on() -> None:
    changes = [AllocationChange(day(1), {"chat": 10, "chat_code": 5})]
    points = seat_history(TYPES, day(0), day(2), {}, {"chat": 12, "chat_code": 5}, [], changes)
    assert [p.purchased["chat"] for p in points] == [10, 12, 12]


def test_of_several_purchases_on_one_day_the_first_says_what_was_before() -> None:
    changes = [
        AllocationChange(day(1), {"chat": 10, "chat_code": 5}),
        AllocationChange(day(1), {"chat": 11, "chat_code": 5}),
    ]
    points = seat_history(TYPES, day(0), day(1), {}, {"chat": 12, "chat_code": 5}, [], changes)
    assert [p.purchased["chat"] for p in points] == [10, 12]


def test_a_log_that_lacks_early_events_never_charts_a_negative_count() -> None:
    """Members from before the seat columns were added (migration 0003) left no event."""
    flows = [Flow(day(1), "chat", "unassigned", 3)]
    points = seat_history(TYPES, day(0), day(1), {"chat": 0}, {}, flows, [])
    assert points[0].assigned["chat"] == 3
    flows = [Flow(day(1), "unassigned", "chat", 5)]
    points = seat_history(TYPES, day(0), day(1), {"chat": 2}, {}, flows, [])
    assert points[0].assigned["chat"] == 0


def test_types_of_another_plan_are_not_charted() -> None:
    flows = [Flow(day(1), "standard", "chat", 2)]  # a legacy plan's migration
    points = seat_history(TYPES, day(0), day(1), {"chat": 2}, {}, flows, [])
    assert set(points[0].assigned) == set(TYPES)
    assert points[0].assigned["chat"] == 0
