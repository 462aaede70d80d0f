"""What clients send, read once where it is decoded: JSON bodies, and the text in them.

Every JSON body of /scim/v2 and /api/v1 is read by `read_json`, which holds it to:

- **Encoding**: UTF-8, or the UTF-16/32 RFC 8259 §8.1 lets a reader accept, decoded
  strictly: bytes that encode no character are refused, never carried as surrogates.
- **Depth**: at most MAX_JSON_DEPTH objects and arrays one inside the other. A SCIM
  document nests about five (a Bulk operation's user's emails); deeper input only
  makes each recursive reader, pydantic's and ours, pay for it, and at about a
  thousand Python's stack runs out.
- **Numbers**: JSON's, so no NaN nor Infinity (RFC 8259 §6).
- **Text**: `forbidden_character`, for every string, keys included.

Text, wherever it comes from (a body, a query string, a filter's or a mapping file's
escapes), holds neither NUL (U+0000) nor a lone surrogate (U+D800 to U+DFFF): neither
is text PostgreSQL stores (text and jsonb refuse NUL; no encoding holds a lone
surrogate, RFC 8259 §8.2), so both databases refuse them alike, before any query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .errors import ForbiddenCharacter, MalformedBody, NestingTooDeep, NotFound, ValueTooLong

MAX_JSON_DEPTH = 32

_FORBIDDEN = re.compile(r"[\x00\ud800-\udfff]")
# In decoded JSON text a NUL or a lone surrogate can only come from an escape: the JSON
# grammar refuses raw control characters in strings, and the strict decoding above raw
# surrogates. The walk of the document runs only when the text holds such an escape.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def forbidden_character(text: str) -> str | None:
    """What makes `text` unstorable, described for an error message; None when it is fine."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    code = f"U+{ord(found[0]):04X}"
    return f"a NUL character ({code})" if found[0] == "\x00" else f"a lone surrogate ({code})"


def refuse_forbidden(text: str, where: str) -> None:
    problem = forbidden_character(text)
    if problem is not None:
        raise ForbiddenCharacter(f"{where} holds {problem}, which is not allowed", at=where)


def refuse_too_long(value: str | None, limit: int, name: str) -> None:
    """Strings are as long as their column holds, on both databases: SQLite would store a
    longer one, PostgreSQL refuses it. `limit` is the column's length (README "Limits")."""
    if value is not None and len(value) > limit:
        raise ValueTooLong(f"{name} must be at most {limit:,} characters", at=name, limit=limit)


def check_url(path: str, query: Iterable[tuple[str, str]]) -> None:
    """No id, slug or name holds NUL, so a path with one names nothing (404); a query
    parameter with one is refused. Percent-decoding never yields a lone surrogate:
    werkzeug replaces the bytes that encode no character."""
    if "\x00" in path:
        raise NotFound(f"no resource is named with a NUL character: {path!r}")
    for name, value in query:
        if "\x00" in name or "\x00" in value:  # `in` is a tenth of a regex search
            refuse_forbidden(name, "a query parameter's name")
            refuse_forbidden(value, name)


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
        document = _DECODER.decode(text)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError, and integers past Python's digit limit
        raise MalformedBody(f"the request body is not valid JSON: {_short(exc)}") from exc
    # Fewer opening brackets than the limit cannot nest past it: most bodies stop here.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _deeper_than(document):
        raise _too_deep()
    if _SUSPECT_ESCAPE.search(text):
        _refuse_forbidden_in(document, "")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259 §6)")


# Built once: json.loads with an argument builds a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _too_deep() -> NestingTooDeep:
    return NestingTooDeep(
        f"the request body nests more than {MAX_JSON_DEPTH} objects and arrays",
        limit=MAX_JSON_DEPTH,
    )


def _deeper_than(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and arrays nest past `limit`: level by level, never recursively.

    json.loads makes exact dicts and lists, so `type() is` tests them (twice as fast as
    isinstance, on a group of a thousand members).
    """
    level = [document] if type(document) is dict or type(document) is list else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) is dict or type(child) is list
        ]
        if not level:
            return False
    return True


def _refuse_forbidden_in(value: Any, where: str) -> None:
    """Every string and key of a document (whose depth is bounded by now), by its path."""
    if isinstance(value, str):
        refuse_forbidden(value, where or "the body")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            refuse_forbidden(key, f"a key of {where or 'the body'}")
            _refuse_forbidden_in(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_forbidden_in(item, f"{where}[{i}]")


def _short(exc: Exception, limit: int = 160) -> str:
    """An exception's message, cut: some quote the input, which may be megabytes long."""
    message = str(exc)
    return message if len(message) <= limit else message[:limit] + "…"
