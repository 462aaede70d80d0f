"""Who may sign in through OIDC, and as whom (SEATS.md §6). Standard library only."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

# A DNS name: labels of letters, digits and inner dashes, at least two of them.
_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


def allowed_domains(raw: Iterable[str]) -> list[str]:
    """Lowercase, deduplicated, each a domain name; at least one (an empty list is refused:
    a multi-tenant provider would let anyone in)."""
    domains: list[str] = []
    for item in (part.strip().lower().rstrip(".") for part in raw):
        if not item:
            continue
        if not _DOMAIN.match(item):
            raise ValueError(f"{item!r} is not a domain name")
        if item not in domains:
            domains.append(item)
    if not domains:
        raise ValueError("at least one allowed email domain is required")
    return domains


def email_domain(email: str) -> str | None:
    local, at, domain = email.rpartition("@")
    return domain.lower() if at and local and domain else None


def domain_allowed(email: str, allowed: Iterable[str]) -> bool:
    """Exact match of the email's domain: `a.com` does not admit `x.a.com` nor `evila.com`."""
    return email_domain(email) in set(allowed)


def claim_groups(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The groups claim's values: a list of strings, or one string; anything else is none.

    Non-string items (some providers send objects) are ignored rather than guessed at.
    """
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return sorted({item for item in value if isinstance(item, str) and item})
    return []


class Link(Enum):
    """What a first sign-in does with a member who already has the token's email."""

    CREATE = "create"  # nobody has the email: a new member
    LINK = "link"  # an unlinked member has it, and the provider verified it


class LinkRefused(Exception):
    pass


def first_sign_in(existing: bool, existing_linked: bool, email_verified: Any) -> Link:
    """A first sign-in may take over an existing member only when the provider says
    `email_verified: true` and that member has no sign-in identity yet; never by email alone."""
    if not existing:
        return Link.CREATE
    if existing_linked:
        raise LinkRefused("a member with this email signs in with another identity")
    if email_verified is not True:
        raise LinkRefused(
            "a member with this email exists, and the provider did not verify the email"
        )
    return Link.LINK
