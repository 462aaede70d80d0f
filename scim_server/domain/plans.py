"""The plan catalog (SEATS.md §1): plans and seat types are data, not code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeatType:
    id: str
    name: str
    rank: int
    entitlements: frozenset[str]
    # List price of one seat for one month, in cents of `Plan.currency`. Catalog data:
    # the vendor sets it; reviews prorate it over what is left of the term.
    monthly_price_cents: int = 0


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    billing: str  # "usage" or "per_seat"
    seat_types: tuple[SeatType, ...]  # lowest rank first
    minimum_seats: int = 20
    currency: str = "USD"
    # Legacy plans may let members keep working past their seat's limits (SEATS.md §7).
    extra_usage_available: bool = False

    def seat_type(self, seat_type_id: str) -> SeatType | None:
        return next((s for s in self.seat_types if s.id == seat_type_id), None)

    def entitlements(self, seat_type_id: str) -> frozenset[str]:
        """What a seat type includes; `unassigned` (or anything unknown) includes nothing."""
        seat_type = self.seat_type(seat_type_id)
        return seat_type.entitlements if seat_type else frozenset()


CATALOG: dict[str, Plan] = {
    "enterprise": Plan(
        id="enterprise",
        name="Enterprise",
        billing="usage",
        seat_types=(
            SeatType("chat", "Chat", 1, frozenset({"claude_apps"}), 4000),
            SeatType(
                "chat_code",
                "Chat + Claude Code",
                2,
                frozenset({"claude_apps", "claude_code"}),
                10000,
            ),
        ),
    ),
    "enterprise_legacy": Plan(
        id="enterprise_legacy",
        name="Enterprise (legacy)",
        billing="per_seat",
        seat_types=(
            SeatType("standard", "Standard", 1, frozenset({"claude_apps"}), 6000),
            SeatType(
                "premium",
                "Premium",
                2,
                frozenset({"claude_apps", "claude_code", "higher_usage_limits"}),
                12000,
            ),
        ),
        extra_usage_available=True,
    ),
}


# The most seats of one type: far beyond any customer, and inside a 32-bit column.
MAX_SEATS = 1_000_000


class AllocationError(ValueError):
    """An allocation that breaks a rule of SEATS.md §2."""


def check_allocation(plan: Plan, seats: dict[str, int]) -> None:
    """Every count names a seat type of the plan, is 0 to MAX_SEATS, and they total the minimum."""
    for seat_type, count in seats.items():
        if plan.seat_type(seat_type) is None:
            known = ", ".join(s.id for s in plan.seat_types)
            raise AllocationError(f"{seat_type!r} is not a seat type of {plan.id} ({known})")
        if count < 0:
            raise AllocationError(f"{seat_type}: a seat count cannot be negative")
        if count > MAX_SEATS:
            raise AllocationError(f"{seat_type}: at most {MAX_SEATS:,} seats of a type")
    total = sum(seats.values())
    if total < plan.minimum_seats:
        raise AllocationError(
            f"an {plan.id} allocation needs at least {plan.minimum_seats} seats in total, not {total}"
        )


# SEATS.md §7: an operator's migration maps each legacy seat type to its successor.
MIGRATIONS: dict[tuple[str, str], dict[str, str]] = {
    ("enterprise_legacy", "enterprise"): {"standard": "chat", "premium": "chat_code"},
}
