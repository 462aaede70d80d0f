"""What clients send, read once where it is decoded: JSON bodies, and the text in them.

Every JSON body of /scim/v2 and /api/v1 is read by `read_json`, which holds it to:

- **Encoding**: UTF-8, or the UTF-16/32 RFC 8259 §8.1 lets a reader accept, decoded
  strictly: bytes that encode no character are refused, never carried as surrogates.
- **Depth**: at most MAX_JSON_DEPTH objects and arrays one inside the other. A SCIM
  document nests about five (a Bulk operation's user's emails); deeper input only
  makes each recursive reader, pydantic's and ours, pay for it, and at about a
  thousand Python's stack runs out.
- **Numbers**: JSON's, so no NaN nor Infinity (RFC 8259 §6).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import MalformedBody, NestingTooDeep

MAX_JSON_DEPTH = 32


def read_json(raw: bytes) -> Any:
    """A request body as JSON, held to the rules above; MalformedBody and its kin if not."""
    if not raw.strip():
        raise MalformedBody("the request body is empty; send a JSON object")
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the request body is not valid {encoding.upper()}: {exc}") from exc
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError, and integers past Python's digit limit
        raise MalformedBody(f"the request body is not valid JSON: {_short(exc)}") from exc
    # Fewer opening brackets than the limit cannot nest past it: most bodies stop here.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _deeper_than(document):
        raise _too_deep()
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259 §6)")


def _too_deep() -> NestingTooDeep:
    return NestingTooDeep(
        f"the request body nests more than {MAX_JSON_DEPTH} objects and arrays",
        limit=MAX_JSON_DEPTH,
    )


def _deeper_than(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and arrays nest past `limit`: level by level, never recursively."""
    level = [document] if isinstance(document, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def _short(exc: Exception, limit: int = 160) -> str:
    """An exception's message, cut: some quote the input, which may be megabytes long."""
    message = str(exc)
    return message if len(message) <= limit else message[:limit] + "…"
