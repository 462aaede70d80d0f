"""Where a sign-in may send the browser back to: only inside one organization's console.

`next` comes from a URL anyone can craft (/sso/acme/login?next=…), so it is an open
redirect unless it is held to a path of this organization's console: no scheme, no host,
no `//` (a network-path reference), no backslash (browsers read it as a slash), no dot
segments or their percent-encoded forms (a browser resolves them before it asks).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# Printable ASCII but space, double quote, backslash, backtick and braces.
_SAFE = re.compile(r"[!#-\[\]-_a-z|~]+\Z", re.ASCII)


def console_home(slug: str) -> str:
    return f"/console/{slug}/"


def console_next(slug: str, value: str) -> str:
    """`value` when it is a path inside /console/<slug>/; ValueError otherwise."""
    if not value or not _SAFE.match(value):
        raise ValueError("next must be a path of printable characters, without backslashes")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        raise ValueError("next must be a path on this server, without scheme, host or fragment")
    path = unquote(parts.path)
    if "//" in path or "\\" in path or any(s in (".", "..") for s in path.split("/")):
        raise ValueError("next must be a plain path, without empty or dot segments")
    home = console_home(slug)
    if not (path == home.rstrip("/") or path.startswith(home)):
        raise ValueError(f"next must point inside this organization's console ({home})")
    return value
