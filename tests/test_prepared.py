"""Prepared statements: the same rows, values and errors as SQLAlchemy's own execution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, exc, insert, select, update

from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, Organization, SeatAllocation
from scim_server.persistence.prepared import Prepared
from scim_server.services import organizations

from .conftest import make_org

EVENTS = cast(Table, AuditEvent.__table__)
SEATS = cast(Table, SeatAllocation.__table__)
ORGS = cast(Table, Organization.__table__)
COLUMNS = [c.key for c in EVENTS.c if not c.primary_key]


def org_pk(db: Database, slug: str) -> int:
    with db.reading() as connection:
        return int(connection.execute(select(ORGS.c.pk).where(ORGS.c.slug == slug)).scalar_one())


def event(org: int, at: datetime, **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(COLUMNS)
    row.update(org_pk=org, at=at, actor_kind="system", source="system", action="test.event")
    row.update(subject_kind="member", **values)
    return row


def test_rows_come_back_typed_as_sqlalchemy_reads_them(db: Database) -> None:
    """Datetimes as aware UTC, JSON as Python values, on both databases."""
    make_org(db, "prep")
    org = org_pk(db, "prep")
    at = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    append = Prepared(insert(EVENTS).returning(EVENTS.c.pk), COLUMNS)
    with db.writing() as connection:
        added = append.first(connection, event(org, at, after={"seat": "chat", "n": [1, 2]}))
    assert isinstance(added.pk, int)
    read = Prepared(
        select(EVENTS.c.at, EVENTS.c.after, EVENTS.c.reason).where(EVENTS.c.pk == bindparam("pk"))
    )
    with db.reading() as connection:
        prepared = read.first(connection, {"pk": added.pk})
        plain = connection.execute(read.statement, {"pk": added.pk}).one()  # type: ignore[call-overload]
    assert prepared.at == at and prepared.at.tzinfo is not None
    assert prepared.after == {"seat": "chat", "n": [1, 2]}
    assert prepared.reason is None
    assert tuple(prepared) == tuple(plain)


def test_an_update_reports_the_rows_it_matched_and_literals_keep_their_values(
    db: Database,
) -> None:
    make_org(db, "counts")
    org = org_pk(db, "counts")
    take = Prepared(
        update(SEATS)
        .where(SEATS.c.org_pk == bindparam("b_org"), SEATS.c.seat_type == bindparam("b_type"))
        .values(assigned=SEATS.c.assigned + 1)  # the 1 is a parameter no caller names
    )
    with db.writing() as connection:
        before = connection.execute(
            select(SEATS.c.assigned).where(SEATS.c.org_pk == org, SEATS.c.seat_type == "chat_code")
        ).scalar_one()
        assert take.count(connection, {"b_org": org, "b_type": "chat_code"}) == 1
        assert take.count(connection, {"b_org": org, "b_type": "no_such_type"}) == 0
    with db.reading() as connection:
        after = connection.execute(
            select(SEATS.c.assigned).where(SEATS.c.org_pk == org, SEATS.c.seat_type == "chat_code")
        ).scalar_one()
    assert after == before + 1


def test_a_driver_error_is_sqlalchemys_and_the_write_is_rolled_back(db: Database) -> None:
    """Callers catch sqlalchemy.exc.IntegrityError, as for any statement."""
    make_org(db, "errors")
    org = org_pk(db, "errors")
    append = Prepared(insert(EVENTS), COLUMNS)
    now = datetime.now(UTC)
    with pytest.raises(exc.IntegrityError), db.writing() as connection:
        append.count(connection, event(org, now, reason="kept only if committed"))
        append.count(connection, event(org, now, action=None))  # NOT NULL
    with db.reading() as connection:
        kept = connection.execute(
            select(EVENTS.c.pk).where(EVENTS.c.reason == "kept only if committed")
        ).all()
    assert kept == []


def test_a_missing_parameter_is_named_not_sent_as_null(db: Database) -> None:
    make_org(db, "missing")
    append = Prepared(insert(EVENTS), COLUMNS)
    values = event(org_pk(db, "missing"), datetime.now(UTC))
    del values["action"]
    with pytest.raises(KeyError, match="action"), db.writing() as connection:
        append.count(connection, values)


def test_statements_it_cannot_run_faithfully_are_refused_when_compiled(db: Database) -> None:
    expanding = Prepared(
        select(ORGS.c.pk).where(ORGS.c.slug.in_(bindparam("slugs", expanding=True)))
    )
    with pytest.raises(TypeError, match="rendered at execution"), db.reading() as connection:
        expanding.rows(connection, {"slugs": ["a"]})


def test_it_runs_inside_a_session_unit_of_work_too(db: Database) -> None:
    seats = {"chat": 23, "chat_code": 4}
    created = organizations.create(db, "Sess", "sess", "enterprise", seats, "o@sess.example")
    assert created.org["slug"] == "sess"
    allocation = Prepared(
        select(SEATS.c.seat_type, SEATS.c.purchased).where(SEATS.c.org_pk == bindparam("org"))
    )
    with db.unit_of_work() as session:
        rows = allocation.rows(session, {"org": org_pk(db, "sess")})
    assert {row.seat_type: row.purchased for row in rows} == seats
