"""What each admin-API endpoint declares: the least role, what it reads, what it answers.

The declaration is made once, on the view (api/admin.py, `endpoint`): the decorator checks
the role, loads the query and the body through their schemas and dumps the answer through
its schema; api/openapi.py documents the same declaration. Nothing is said twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema

from ..errors import DomainError


@dataclass(frozen=True)
class Text:
    """A body or an answer that is text rather than JSON through a schema (a mapping file,
    an export): the media types it comes in, and what it is."""

    media_types: tuple[str, ...]
    description: str
    # The shape of its application/json form, where it has one (a mapping file sent as JSON).
    json: type[Schema] | None = None


@dataclass(frozen=True)
class Operation:
    actions: tuple[str, ...]  # any one suffices (domain.roles.PERMISSIONS)
    query: type[Schema] | None = None
    body: type[Schema] | Text | None = None  # a schema: a JSON body loaded through it
    answer: type[Schema] | None = None  # the JSON answer (200), dumped through it
    alternatives: Text | None = None  # other media types the answer may come in
    # Errors the endpoint answers besides those its declaration implies (api/openapi.py).
    errors: tuple[type[DomainError], ...] = ()
    request_headers: Mapping[str, str] = field(default_factory=dict)  # name: what it does
    answer_headers: Mapping[str, str] = field(default_factory=dict)


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found = getattr(view, "operation", None)
    return found if isinstance(found, Operation) else None
