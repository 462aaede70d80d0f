"""Display names: how people read roles, sources and entitlements (SEATS.md §1, §3, §8).

Seat types carry their names in the plan catalog (`plans.SeatType.name`); everything
else a page or a report shows by name is here, in one place. Ids stay in data and URLs.
"""

from __future__ import annotations

from .plans import Plan
from .roles import Role
from .seats import UNASSIGNED

ROLES: dict[Role, str] = {
    Role.member: "Member",
    Role.admin: "Admin",
    Role.owner: "Owner",
    Role.primary_owner: "Primary owner",
}

# What each entitlement gives, as SEATS.md §1 describes it.
ENTITLEMENTS: dict[str, str] = {
    "claude_apps": "Claude on the web, desktop and mobile apps",
    "claude_code": "Claude Code",
    "higher_usage_limits": "Higher usage limits",
}

# How each plan bills (plans.Plan.billing, SEATS.md §1).
BILLING: dict[str, str] = {
    "usage": "Usage-based",
    "per_seat": "Fixed monthly fee per seat",
}

# How a member's seat came (users.seat_source).
SEAT_SOURCES: dict[str, str] = {
    "scim": "SCIM",
    "jit": "Sign-in (JIT)",
    "manual": "Manual",
    "group_mapping": "Group mapping",
    "operator": "Operator",
    "waiting_line": "Waiting line",
}

# Through what a change was made (audit_events.source, SEATS.md §8).
CHANNELS: dict[str, str] = {
    "scim": "SCIM",
    "jit": "Sign-in (JIT)",
    "admin_api": "Admin API",
    "console": "Console",
    "group_mapping": "Group mapping",
    "operator": "Operator",
    "system": "System",
}


def role(name: str) -> str:
    try:
        return ROLES[Role[name]]
    except KeyError:
        return name


def seat_type(plan: Plan, seat_type_id: str) -> str:
    if seat_type_id == UNASSIGNED:
        return "Unassigned"
    found = plan.seat_type(seat_type_id)
    return found.name if found else seat_type_id


def entitlement(name: str) -> str:
    return ENTITLEMENTS.get(name, name)


def seat_source(name: str | None) -> str:
    return SEAT_SOURCES.get(name, name) if name else "None"


def billing(name: str) -> str:
    return BILLING.get(name, name)


def channel(name: str) -> str:
    return CHANNELS.get(name, name)
