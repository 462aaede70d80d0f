"""The audit log: append-only rows, read back in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, func, insert, select

from .db import Reader, dialect_of, orm_session
from .models import AuditEvent
from .prepared import Prepared
from .repositories import chunks
from .types import utcnow

_TABLE = cast(Table, AuditEvent.__table__)
# The actions that move a member from one seat type (or none) to another.
SEAT_MOVES = ("seat.changed", "seat.waiting")
# The actions that set the seats purchased; `before` holds the counts until then. A renewal
# sets them when its term starts (term.started); allocation.renewed is the older renewal's,
# which set them at once.
ALLOCATION_SETS = (
    "organization.created",
    "allocation.changed",
    "allocation.renewed",
    "term.started",
)

# One event: compiled once and run on the driver (see prepared.py); many go through
# SQLAlchemy, which batches them.
_APPEND_ONE = Prepared(insert(_TABLE), [c.key for c in _TABLE.c if not c.primary_key])
_APPEND_MANY = insert(_TABLE)


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    subject_id: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_pk: int = 0  # keyset paging: events after this one


class AuditRepository:
    def __init__(self, session: Reader, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def add(self, event: Mapping[str, Any]) -> None:
        """Appended at once, in the caller's transaction, with one core INSERT.

        The log is append-only and never read back by the change that writes it, so the
        event is a row's values (`services.audit.event`), not an ORM object of the session (whose flush
        costs more than the INSERT on every seat change).
        """
        _APPEND_ONE.count(self.session, {**event, "org_pk": self.org_pk, "at": utcnow()})

    def add_many(self, events: Iterable[Mapping[str, Any]], batch: int = 1000) -> None:
        """Many events, a thousand to an INSERT: a mapping moving 50,000 members (§5)."""
        now = utcnow()
        rows = ({**event, "org_pk": self.org_pk, "at": now} for event in events)
        for chunk in chunks(rows, batch):
            self.session.execute(_APPEND_MANY, chunk)

    def page(self, query: AuditQuery, limit: int) -> list[AuditEvent]:
        return list(orm_session(self.session).scalars(self._select(query).limit(limit)))

    def stream(self, query: AuditQuery, batch: int = 1000) -> Iterator[AuditEvent]:
        """Every matching event in order, read in batches: exports never load the whole log."""
        after = query.after_pk
        while True:
            rows = self.page(AuditQuery(**{**query.__dict__, "after_pk": after}), batch)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].pk

    def latest(self, subject_id: str, actions: Sequence[str]) -> AuditEvent | None:
        """The subject's most recent event of these actions (ix_audit_org_subject)."""
        statement = (
            select(AuditEvent)
            .where(
                AuditEvent.org_pk == self.org_pk,
                AuditEvent.subject_id == subject_id,
                AuditEvent.action.in_(actions),
            )
            .order_by(AuditEvent.pk.desc())
            .limit(1)
        )
        return orm_session(self.session).scalar(statement)

    def seat_flows(self, since: datetime) -> list[tuple[date, str, str, int]]:
        """Members moved per UTC day since `since`: (day, from type, to type, how many).

        Counted in SQL, one row per day and pair of types: a term of 100,000 members'
        moves reads as a few hundred rows.
        """
        before = AuditEvent.before["seat_type"].as_string()
        after = AuditEvent.after["seat_type"].as_string()
        day = self._utc_day(AuditEvent.at)
        statement = (
            select(day, before, after, func.count())
            .where(
                AuditEvent.org_pk == self.org_pk,
                AuditEvent.at >= since,
                AuditEvent.action.in_(SEAT_MOVES),
                before != after,
            )
            .group_by(day, before, after)
        )
        return [
            (_as_date(d), str(b), str(a), int(n)) for d, b, a, n in self.session.execute(statement)
        ]

    def allocation_sets(self, since: datetime) -> list[tuple[date, dict[str, int]]]:
        """Each change of the seats purchased since `since`, oldest first: (UTC day, counts
        before it)."""
        statement = (
            select(AuditEvent.at, AuditEvent.before)
            .where(
                AuditEvent.org_pk == self.org_pk,
                AuditEvent.at >= since,
                AuditEvent.action.in_(ALLOCATION_SETS),
            )
            .order_by(AuditEvent.pk)
        )
        return [
            (at.date(), dict((before or {}).get("seats") or {}))
            for at, before in self.session.execute(statement)
        ]

    def _utc_day(self, column: Any) -> ColumnElement[Any]:
        # SQLite holds UTC times without a zone; PostgreSQL's date() would use the session's.
        sqlite = dialect_of(self.session) == "sqlite"
        return func.date(column if sqlite else func.timezone("UTC", column))

    def _select(self, query: AuditQuery) -> Select[AuditEvent]:
        statement = select(AuditEvent).where(
            AuditEvent.org_pk == self.org_pk, AuditEvent.pk > query.after_pk
        )
        if query.action:
            statement = statement.where(AuditEvent.action == query.action)
        if query.subject_id:
            statement = statement.where(AuditEvent.subject_id == query.subject_id)
        if query.source:
            statement = statement.where(AuditEvent.source == query.source)
        if query.since:
            statement = statement.where(AuditEvent.at >= query.since)
        if query.until:
            statement = statement.where(AuditEvent.at < query.until)
        return statement.order_by(AuditEvent.pk)


def _as_date(value: Any) -> date:
    """SQLite's date() is text; PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
