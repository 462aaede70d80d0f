"""Reading and exporting the audit log (SEATS.md §8: admins can read and export it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..persistence.audit import AuditQuery, AuditRepository
from ..persistence.db import Database
from ..persistence.members import MemberName, MemberRepository
from ..persistence.models import AuditEvent
from ..persistence.repositories import chunks
from .access import Acting

# The blueprint builds queries and renders events through this module, not persistence.
__all__ = ["AuditQuery", "Entry", "EventPage", "export", "page"]

# Exports read the log, and the names of the people it names, this many events at a time.
BATCH = 1000


@dataclass(frozen=True)
class Entry:
    """An event, with the userName and display name of each member it names beside their
    id (people, not UUIDs); None for anyone else, and for a member removed since."""

    event: AuditEvent
    actor_user_name: str | None = None
    actor_display_name: str | None = None
    subject_user_name: str | None = None
    subject_display_name: str | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[Entry]
    next: int | None  # the cursor for the following page; None on the last one


def page(db: Database, acting: Acting, query: AuditQuery, limit: int) -> EventPage:
    """Keyset paging: one more row than asked tells whether another page follows."""
    acting.require("read_audit")
    with db.unit_of_work() as session:
        rows = AuditRepository(session, acting.org_pk).page(query, limit + 1)
        shown = rows[:limit]
        return EventPage(
            named(session, acting.org_pk, shown), shown[-1].pk if len(rows) > limit else None
        )


def export(db: Database, acting: Acting, query: AuditQuery) -> Iterator[Entry]:
    """Every matching event, read in batches as the response is sent: never the whole log."""
    acting.require("read_audit")  # now, before the first byte goes out
    return _entries(db, acting.org_pk, query)


def _entries(db: Database, org_pk: int, query: AuditQuery) -> Iterator[Entry]:
    with db.unit_of_work() as session:
        for batch in chunks(AuditRepository(session, org_pk).stream(query, BATCH), BATCH):
            yield from named(session, org_pk, batch)


def named(session: Session, org_pk: int, events: Iterable[AuditEvent]) -> list[Entry]:
    """The events with the names of the members they name, read in one query."""
    events = list(events)
    actors = [e.actor for e in events if e.actor_kind == "member"]
    subjects = [e.subject_id for e in events if e.subject_kind == "member"]
    names = MemberRepository(session, org_pk).names([*actors, *subjects])
    return [_entry(event, names) for event in events]


def _entry(event: AuditEvent, names: dict[str, MemberName]) -> Entry:
    actor = names.get(event.actor or "") if event.actor_kind == "member" else None
    subject = names.get(event.subject_id or "") if event.subject_kind == "member" else None
    return Entry(event, *_both(actor), *_both(subject))


def _both(name: MemberName | None) -> tuple[str | None, str | None]:
    return (name.user_name, name.display_name) if name else (None, None)
