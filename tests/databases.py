"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from scim_server.persistence.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "SCIM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def wanted_backends() -> list[str]:
    raw = os.environ.get("SCIM_TEST_DATABASES", "sqlite,postgresql")
    return [name.strip() for name in raw.split(",") if name.strip()]


def create_sqlite(folder: Path) -> str:
    url = f"sqlite:///{folder / f'test-{uuid.uuid4().hex[:8]}.db'}"
    upgrade(url)
    return url


def create_postgres() -> str:
    """A new database on the local PostgreSQL, migrated; never skipped under CI."""
    name = f"scim_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return url


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def truncate_all(url: str) -> None:
    from scim_server.persistence.models import Base

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()
