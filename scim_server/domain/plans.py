"""The plan catalog (SEATS.md §1): plans and seat types are data, not code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatType:
    id: str
    name: str
    rank: int
    entitlements: frozenset[str]


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    billing: str  # "usage" or "per_seat"
    seat_types: tuple[SeatType, ...]  # lowest rank first
    minimum_seats: int = 20

    def seat_type(self, seat_type_id: str) -> SeatType | None:
        return next((s for s in self.seat_types if s.id == seat_type_id), None)


CATALOG: dict[str, Plan] = {
    "enterprise": Plan(
        id="enterprise",
        name="Enterprise",
        billing="usage",
        seat_types=(
            SeatType("chat", "Chat", 1, frozenset({"claude_apps"})),
            SeatType(
                "chat_code", "Chat + Claude Code", 2, frozenset({"claude_apps", "claude_code"})
            ),
        ),
    ),
    "enterprise_legacy": Plan(
        id="enterprise_legacy",
        name="Enterprise (legacy)",
        billing="per_seat",
        seat_types=(
            SeatType("standard", "Standard", 1, frozenset({"claude_apps"})),
            SeatType(
                "premium",
                "Premium",
                2,
                frozenset({"claude_apps", "claude_code", "higher_usage_limits"}),
            ),
        ),
    ),
}


class AllocationError(ValueError):
    """An allocation that breaks a rule of SEATS.md §2."""


def check_allocation(plan: Plan, seats: dict[str, int]) -> None:
    """Every count names a seat type of the plan, is >= 0, and they total the minimum."""
    for seat_type, count in seats.items():
        if plan.seat_type(seat_type) is None:
            known = ", ".join(s.id for s in plan.seat_types)
            raise AllocationError(f"{seat_type!r} is not a seat type of {plan.id} ({known})")
        if count < 0:
            raise AllocationError(f"{seat_type}: a seat count cannot be negative")
    total = sum(seats.values())
    if total < plan.minimum_seats:
        raise AllocationError(
            f"an {plan.id} allocation needs at least {plan.minimum_seats} seats in total, not {total}"
        )
