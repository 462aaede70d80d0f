"""SEATS.md rules as pure functions: no database, no web."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scim_server.domain import billing, roles, seats
from scim_server.domain.plans import CATALOG, AllocationError
from scim_server.domain.roles import Role
from scim_server.domain.seats import UNASSIGNED, Allocation, SeatUnavailable

ENTERPRISE = CATALOG["enterprise"]
LEGACY = CATALOG["enterprise_legacy"]


def alloc(chat: int, chat_used: int, code: int, code_used: int) -> Allocation:
    return Allocation(
        {"chat": chat, "chat_code": code}, {"chat": chat_used, "chat_code": code_used}
    )


# --- §4 automatic assignment -------------------------------------------------------------


def test_automatic_assignment_takes_the_highest_seat_type_with_a_seat_free() -> None:
    assert seats.resolve(ENTERPRISE, alloc(50, 0, 20, 3)).seat_type == "chat_code"
    assert seats.resolve(ENTERPRISE, alloc(50, 0, 20, 20)).seat_type == "chat"


def test_with_no_seat_of_any_type_the_member_waits_unassigned() -> None:
    resolution = seats.resolve(ENTERPRISE, alloc(50, 50, 20, 20))
    assert resolution.seat_type == UNASSIGNED and resolution.waiting
    assert "no seat" in resolution.reason


def test_a_mapped_type_wins_when_free_and_falls_back_to_highest_when_full() -> None:
    mapped = seats.resolve(ENTERPRISE, alloc(50, 0, 20, 0), "chat", "Sales")
    assert (mapped.seat_type, mapped.reason) == ("chat", "mapped by group Sales")
    full = seats.resolve(ENTERPRISE, alloc(50, 0, 20, 20), "chat_code", "Engineering")
    assert full.seat_type == "chat" and "no chat_code seat available" in full.reason


def test_legacy_plans_rank_premium_above_standard() -> None:
    allocation = Allocation({"standard": 15, "premium": 5}, {"premium": 4})
    assert seats.resolve(LEGACY, allocation).seat_type == "premium"


# --- §4 manual assignment ----------------------------------------------------------------


def test_a_manual_move_to_a_full_type_is_refused_with_its_counts() -> None:
    with pytest.raises(SeatUnavailable) as refused:
        seats.check_manual(ENTERPRISE, alloc(50, 10, 10, 10), "chat", "chat_code")
    assert (refused.value.seat_type, refused.value.purchased, refused.value.assigned) == (
        "chat_code",
        10,
        10,
    )


def test_moving_down_or_to_unassigned_always_fits() -> None:
    seats.check_manual(ENTERPRISE, alloc(10, 10, 10, 10), "chat_code", UNASSIGNED)
    seats.check_manual(ENTERPRISE, alloc(10, 10, 10, 10), "chat_code", "chat_code")


def test_a_seat_type_of_another_plan_is_unknown() -> None:
    with pytest.raises(seats.UnknownSeatType, match="premium"):
        seats.check_manual(ENTERPRISE, alloc(10, 0, 10, 0), "chat", "premium")


def test_the_articles_swap_through_unassigned_needs_no_purchase() -> None:
    """Ten chat_code seats all assigned: A to unassigned, B to chat_code, A to chat."""
    allocation = alloc(50, 10, 10, 10)
    seats.check_manual(ENTERPRISE, allocation, "chat_code", UNASSIGNED)  # A frees a seat
    allocation = Allocation(allocation.purchased, {"chat": 10, "chat_code": 9})
    seats.check_manual(ENTERPRISE, allocation, "chat", "chat_code")  # B takes it
    allocation = Allocation(allocation.purchased, {"chat": 9, "chat_code": 10})
    seats.check_manual(ENTERPRISE, allocation, UNASSIGNED, "chat")  # A gets chat


def test_the_swap_as_one_batch_is_judged_on_its_final_state() -> None:
    changes = [("chat_code", UNASSIGNED), ("chat", "chat_code"), (UNASSIGNED, "chat")]
    # The batch lists A twice; its final state is what counts: A chat_code->chat, B chat->chat_code.
    final = seats.check_batch(
        ENTERPRISE, alloc(50, 10, 10, 10), [changes[1], ("chat_code", "chat")]
    )
    assert final == {"chat": 10, "chat_code": 10}


def test_a_batch_that_ends_over_the_allocation_is_refused_whole() -> None:
    with pytest.raises(SeatUnavailable) as refused:
        seats.check_batch(ENTERPRISE, alloc(50, 10, 10, 10), [("chat", "chat_code")])
    assert refused.value.seat_type == "chat_code"


# --- §4 the waiting line -----------------------------------------------------------------


def test_the_waiting_line_is_served_oldest_first_until_seats_run_out() -> None:
    waiting = [("oldest", None, None), ("middle", "chat", "Sales"), ("newest", None, None)]
    served = seats.serve_waiting(ENTERPRISE, alloc(1, 0, 1, 0), waiting)
    assert [(m, r.seat_type) for m, r in served] == [("oldest", "chat_code"), ("middle", "chat")]


# --- §2 buying and renewing --------------------------------------------------------------


def test_seats_can_be_added_and_types_not_named_keep_their_count() -> None:
    assert billing.check_purchase(ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat_code": 25}) == {
        "chat": 50,
        "chat_code": 25,
    }


def test_lowering_any_count_during_the_term_is_refused_and_points_to_the_account_manager() -> None:
    with pytest.raises(billing.ReductionDuringTerm, match="account manager"):
        billing.check_purchase(
            ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat": 60, "chat_code": 19}
        )


def test_a_refused_reduction_names_the_types_lowered_for_people_and_for_programs() -> None:
    with pytest.raises(billing.ReductionDuringTerm) as refused:
        billing.check_purchase(
            ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat": 49, "chat_code": 19}
        )
    assert "(Chat from 50 to 49, Chat + Claude Code from 20 to 19)" in str(refused.value)
    assert refused.value.seat_types == ("chat", "chat_code")


def test_the_days_left_in_a_term_are_whole_days_and_never_negative() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert billing.days_remaining(now, now + timedelta(days=73, hours=23)) == 73
    assert billing.days_remaining(now, now - timedelta(days=1)) == 0


def test_the_review_prorates_the_added_seats_over_the_rest_of_the_term() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    review = billing.review(
        ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat_code": 22}, now, now + timedelta(days=73)
    )
    line = {line.seat_type: line for line in review.lines}["chat_code"]
    assert (line.current, line.requested, line.added) == (20, 22, 2)
    assert line.cost_cents == round(2 * 10000 * 12 * 73 / 365)
    assert review.total_cents == line.cost_cents and review.changes_anything


def test_a_renewal_may_go_down_but_not_below_what_is_in_use_or_twenty() -> None:
    now = {"chat": 50, "chat_code": 20}
    assert billing.check_renewal(
        ENTERPRISE, now, {"chat": 12, "chat_code": 8}, {"chat": 12, "chat_code": 3}
    ) == {"chat": 12, "chat_code": 8}
    with pytest.raises(AllocationError, match=r"chat: 12 < 13 in use"):
        billing.check_renewal(ENTERPRISE, now, {"chat": 12, "chat_code": 8}, {"chat": 13})
    with pytest.raises(AllocationError, match="at least 20"):
        billing.check_renewal(ENTERPRISE, now, {"chat": 10, "chat_code": 5}, {})


def test_a_renewal_keeps_this_terms_count_of_a_type_it_does_not_name() -> None:
    """Naming only chat must not drop chat_code to nothing at the end of the term."""
    renewed = billing.check_renewal(ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat": 40}, {})
    assert renewed == {"chat": 40, "chat_code": 20}


def test_no_allocation_may_name_more_than_a_million_seats_of_a_type() -> None:
    with pytest.raises(AllocationError, match="at most 1,000,000"):
        billing.check_purchase(ENTERPRISE, {"chat": 50, "chat_code": 20}, {"chat": 10**10})


# --- §3 roles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (Role.member, "reassign_seats", False),
        (Role.admin, "reassign_seats", True),
        (Role.admin, "buy_seats", False),
        (Role.admin, "read_billing", False),
        (Role.owner, "buy_seats", True),
        (Role.owner, "transfer_primary_ownership", False),
        (Role.primary_owner, "transfer_primary_ownership", True),
        (Role.admin, "read_audit", True),
        (Role.member, "read_audit", False),
    ],
)
def test_each_role_may_exactly_what_seats_md_says(role: Role, action: str, allowed: bool) -> None:
    assert roles.may(role, action) is allowed


def test_an_admin_cannot_make_an_owner_and_nobody_sets_primary_owner_as_a_role() -> None:
    roles.check_role_change(Role.admin, Role.member, Role.admin)
    with pytest.raises(roles.NotPermitted, match="owner"):
        roles.check_role_change(Role.admin, Role.member, Role.owner)
    roles.check_role_change(Role.owner, Role.admin, Role.owner)
    with pytest.raises(roles.NotPermitted, match="primary"):
        roles.check_role_change(Role.primary_owner, Role.owner, Role.primary_owner)


def test_entitlements_follow_the_seat_type_and_unassigned_has_none() -> None:
    assert ENTERPRISE.entitlements("chat_code") == {"claude_apps", "claude_code"}
    assert LEGACY.entitlements("premium") >= {"claude_code", "higher_usage_limits"}
    assert ENTERPRISE.entitlements(UNASSIGNED) == frozenset()
