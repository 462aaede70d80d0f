"""Fixtures: every test that touches the database runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scim_server.persistence.db import Database

from . import live
from .databases import create_postgres, create_sqlite, drop_postgres, truncate_all, wanted_backends
from .live import LiveServer, ScimTarget


@pytest.fixture(scope="session", params=wanted_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per backend, shared by the session and emptied after each test."""
    if request.param == "sqlite":
        yield create_sqlite(tmp_path_factory.mktemp("sqlite"))
    elif request.param == "postgresql":
        url = create_postgres()
        yield url
        drop_postgres(url)
    else:
        raise ValueError(f"unknown test database {request.param!r}")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()
    truncate_all(database_url)


@pytest.fixture(scope="session", params=wanted_backends())
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """gunicorn with two workers on a database of its own, one per backend."""
    folder = tmp_path_factory.mktemp(f"live-{request.param}")
    url = create_sqlite(folder) if request.param == "sqlite" else create_postgres()
    process, server = live.start(url, folder)
    yield server
    live.stop(process)
    if request.param == "postgresql":
        drop_postgres(url)


@pytest.fixture
def scim_target(live_server: LiveServer) -> ScimTarget:
    """A new organization on the live server, with its SCIM token."""
    return live.new_organization(live_server)
