"""Who did a change and how it is recorded (SEATS.md §8)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..persistence.audit import AuditRepository
from ..persistence.db import Reader


@dataclass(frozen=True)
class Actor:
    """Who acts (kind, id) and through what (source)."""

    kind: str  # member | scim_token | jit | system | operator
    id: str | None
    source: str  # scim | jit | admin_api | console | group_mapping | operator | system


SYSTEM = Actor("system", None, "system")
OPERATOR = Actor("operator", None, "operator")


def record(
    session: Reader,
    org_pk: int,
    actor: Actor,
    action: str,
    subject: tuple[str, str | None],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    AuditRepository(session, org_pk).add(event(actor, action, subject, before, after, reason))


def record_many(
    session: Session,
    org_pk: int,
    actor: Actor,
    action: str,
    changes: Iterable[tuple[tuple[str, str | None], dict[str, Any], dict[str, Any], str]],
) -> None:
    """`record` for many subjects at once: (subject, before, after, reason) each."""
    AuditRepository(session, org_pk).add_many(event(actor, action, *change) for change in changes)


def event(
    actor: Actor,
    action: str,
    subject: tuple[str, str | None],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None,
) -> dict[str, Any]:
    """An audit_events row's values, but for the organization and the time (the repository's)."""
    return {
        "actor_kind": actor.kind,
        "actor": actor.id,
        "source": actor.source,
        "action": action,
        "subject_kind": subject[0],
        "subject_id": subject[1],
        "before": before,
        "after": after,
        "reason": reason,
    }
