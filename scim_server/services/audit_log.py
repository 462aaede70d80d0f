"""Reading and exporting the audit log (SEATS.md §8: admins can read and export it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..persistence.audit import AuditQuery, AuditRepository
from ..persistence.db import Database
from ..persistence.models import AuditEvent
from .access import Acting

# The blueprint builds queries and renders events through this module, not persistence.
__all__ = ["AuditEvent", "AuditQuery", "EventPage", "export", "page"]


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    next: int | None  # the cursor for the following page; None on the last one


def page(db: Database, acting: Acting, query: AuditQuery, limit: int) -> EventPage:
    """Keyset paging: one more row than asked tells whether another page follows."""
    acting.require("read_audit")
    with db.unit_of_work() as session:
        rows = AuditRepository(session, acting.org_pk).page(query, limit + 1)
    shown = rows[:limit]
    return EventPage(shown, shown[-1].pk if len(rows) > limit else None)


def export(db: Database, acting: Acting, query: AuditQuery) -> Iterator[AuditEvent]:
    """Every matching event, read in batches as the response is sent: never the whole log."""
    acting.require("read_audit")  # now, before the first byte goes out
    return _events(db, acting.org_pk, query)


def _events(db: Database, org_pk: int, query: AuditQuery) -> Iterator[AuditEvent]:
    with db.unit_of_work() as session:
        yield from AuditRepository(session, org_pk).stream(query)
