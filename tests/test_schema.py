"""The migrated schema: what the indexes hold, and that the queries reach them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, event, inspect, text

from scim_server.persistence.db import Database
from scim_server.persistence.migrate import alembic_config, upgrade
from scim_server.persistence.seats import SeatRepository

from .databases import create_postgres, create_sqlite, drop_postgres, wanted_backends


def test_the_waiting_line_index_holds_only_members_who_wait(db: Database) -> None:
    """Partial, so that a create (never waiting) writes no page of it."""
    query = {
        "sqlite": "SELECT sql FROM sqlite_master WHERE name = 'ix_users_org_waiting'",
        "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_users_org_waiting'",
    }[db.dialect]
    with db.engine.connect() as connection:
        definition = connection.scalar(text(query))
    assert "waiting_since IS NOT NULL" in definition


def test_the_waiting_line_queries_use_its_partial_index(tmp_path: Path) -> None:
    """SQLite takes a partial index only for a query whose WHERE implies the index's."""
    database = Database(create_sqlite(tmp_path))
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "waiting_since" in statement:
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.unit_of_work() as session:
            seats = SeatRepository(session, org_pk=1)
            seats.waiting(10)
            seats.first_waiting_since()
            seats.counts()
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert len(statements) == 3, "each of the three queries names the waiting line's column"
    with database.engine.connect() as connection:
        for statement, parameters in statements:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            details = " ".join(row[-1] for row in plan)
            assert "ix_users_org_waiting" in details, (statement, details)
    database.dispose()


def test_the_users_table_has_the_indexes_its_queries_need_and_no_other(db: Database) -> None:
    """Each index is a page more for every create to write: these serve the lookups by id,
    userName and externalId, the default order, meta.lastModified, the seat counts and
    the waiting line; the member search's keys (0008); the console's "not seen for N
    days" (0009); a seat type's members in userName order (0011); and, partial so that a
    create writes none, the waiting line, staff roles and deactivated members. displayName has none (0007): it is compared as
    lower(display_name)."""
    found = inspect(db.engine)
    indexed = {tuple(index["column_names"]) for index in found.get_indexes("users")}
    indexed |= {tuple(unique["column_names"]) for unique in found.get_unique_constraints("users")}
    assert indexed == {
        ("id",),
        ("org_pk", "user_name_key"),
        ("org_pk", "external_id"),
        ("org_pk", "created", "pk"),
        ("org_pk", "last_modified"),
        ("org_pk", "seat_type", "user_name_key"),
        ("org_pk", "waiting_since"),
        ("org_pk", "email_key"),
        ("org_pk", "display_name_key"),
        ("org_pk", "family_name_key"),
        ("org_pk", "role"),
        ("org_pk", "active"),
        ("org_pk", "last_sign_in_at"),
    }


@pytest.fixture(params=wanted_backends())
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database for this test alone: it takes the schema down."""
    if request.param == "sqlite":
        yield create_sqlite(tmp_path)
        return
    url = create_postgres()
    yield url
    drop_postgres(url)


def test_every_migration_goes_down_and_up_again_through_alembic_itself(
    own_database: str,
) -> None:
    """As an operator would run it (`alembic downgrade`): Alembic's own engine, no
    connection handed in, then back to head with `scim-server db upgrade`'s code."""
    config = alembic_config(own_database)
    command.downgrade(config, "0006")
    assert ("org_pk", "display_name") in _users_indexes(own_database)
    command.downgrade(config, "base")
    upgrade(own_database)
    assert ("org_pk", "display_name") not in _users_indexes(own_database)


def _users_indexes(url: str) -> set[tuple[str, ...]]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return {tuple(index["column_names"]) for index in inspect(engine).get_indexes("users")}
    finally:
        engine.dispose()
