"""Roles and what each may do (SEATS.md §3). Higher roles may everything lower ones may."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    member = 1
    admin = 2
    owner = 3
    primary_owner = 4


# The least role that may perform each action.
PERMISSIONS: dict[str, Role] = {
    "read_own_seat": Role.member,
    "read_organization": Role.member,
    "read_members": Role.admin,
    "reassign_seats": Role.admin,
    "edit_mappings": Role.admin,
    "read_audit": Role.admin,
    "read_oidc": Role.admin,
    "change_roles": Role.admin,
    "read_billing": Role.owner,
    "buy_seats": Role.owner,
    "change_extra_usage": Role.owner,
    "transfer_primary_ownership": Role.primary_owner,
}


class NotPermitted(Exception):
    def __init__(self, message: str, needed: Role) -> None:
        super().__init__(message)
        self.needed = needed


def parse(role: str) -> Role:
    try:
        return Role[role]
    except KeyError:
        known = ", ".join(r.name for r in Role)
        raise ValueError(f"{role!r} is not a role ({known})") from None


def may(role: Role, action: str) -> bool:
    return role >= PERMISSIONS[action]


def require(role: Role, action: str) -> None:
    if not may(role, action):
        needed = PERMISSIONS[action]
        raise NotPermitted(
            f"{action.replace('_', ' ')} needs the {needed.name} role or higher; you are {role.name}",
            needed,
        )


def check_role_change(actor: Role, current: Role, requested: Role) -> None:
    """Who may give or take which role.

    SEATS.md §3 leaves role changes open; the choice: an admin may make members and
    admins, an owner may also make owners, and nobody takes or gives `primary_owner`
    this way — only the primary owner transfers it (transfer_primary_ownership).
    """
    require(actor, "change_roles")
    if Role.primary_owner in (current, requested):
        raise NotPermitted(
            "primary ownership is not a role to set: the primary owner transfers it",
            Role.primary_owner,
        )
    needed = max(current, requested)
    if needed > actor:
        raise NotPermitted(
            f"only an {needed.name} or higher may give or take the {needed.name} role", needed
        )


def assignable(actor: Role, current: Role) -> list[Role]:
    """The roles check_role_change lets `actor` set a `current` holder to, lowest first."""
    allowed = []
    for requested in Role:
        try:
            check_role_change(actor, current, requested)
        except NotPermitted:
            continue
        allowed.append(requested)
    return allowed
