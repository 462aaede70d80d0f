"""Token material: generation, hashing and constant-time checking. No I/O.

A token reads ``<tag>_<public>_<secret>``. The tag says its kind (a SCIM token
is not an API token), the public part finds the row and is what listings show,
and only the SHA-256 of the whole token is stored: a token has 256 bits of
entropy, so a fast hash is enough, and the database never holds a usable secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TAGS = {"scim": "scim", "api": "sapi"}
_KINDS = {tag: kind for kind, tag in TAGS.items()}
# Compared against when no row matches, so that an unknown prefix costs the same time.
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


@dataclass(frozen=True)
class NewToken:
    kind: str
    prefix: str
    secret: str
    token_hash: str


def generate(kind: str) -> NewToken:
    public = secrets.token_hex(6)
    prefix = f"{TAGS[kind]}_{public}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(kind=kind, prefix=prefix, secret=token, token_hash=hash_token(token))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def split(token: str) -> tuple[str, str] | None:
    """(kind, prefix) of a well-formed token, or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] not in _KINDS or not parts[2]:
        return None
    return _KINDS[parts[0]], f"{parts[0]}_{parts[1]}"


def matches(token: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    ok = hmac.compare_digest(hash_token(token), expected)
    return ok and stored_hash is not None
