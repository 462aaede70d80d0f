"""Fixtures: every test that touches the database runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from scim_server import cli
from scim_server.app import create_app
from scim_server.persistence.db import Database
from scim_server.services import organizations

from . import live
from .databases import create_postgres, create_sqlite, drop_postgres, truncate_all, wanted_backends
from .live import LiveServer, ScimTarget


@pytest.fixture(scope="session", params=wanted_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database per backend, shared by the session and emptied after each test."""
    if request.param == "sqlite":
        yield create_sqlite(tmp_path_factory.mktemp("sqlite"))
    elif request.param == "postgresql":
        url = create_postgres()
        yield url
        drop_postgres(url)
    else:
        raise ValueError(f"unknown test database {request.param!r}")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of the module's own, for what only PostgreSQL does
    (round trips on the wire, autocommitted statements); never skipped under CI."""
    url = create_postgres()
    yield url
    drop_postgres(url)


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
    with live.running(url, folder) as server:
        yield server
    if request.param == "postgresql":
        drop_postgres(url)


@pytest.fixture
def scim_target(live_server: LiveServer) -> ScimTarget:
    """A new organization on the live server, with its SCIM token."""
    return live.new_organization(live_server)


@dataclass
class Api:
    """A Flask test client speaking SCIM as one organization's token."""

    client: FlaskClient
    token: str
    slug: str
    db: Database

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def call(self, method: str, path: str, json_body: Any = None, **headers: str) -> Any:
        data = None if json_body is None else json.dumps(json_body)
        return self.client.open(
            f"/scim/v2{path}",
            method=method,
            data=data,
            headers=self.headers(**headers),
            content_type="application/scim+json" if data is not None else None,
        )


def make_org(db: Database, slug: str) -> Any:
    return organizations.create(
        db, slug.title(), slug, "enterprise", {"chat": 50, "chat_code": 20}, f"owner@{slug}.example"
    )


@pytest.fixture
def app(db: Database) -> Iterator[Any]:
    application = create_app({"DATABASE_URL": db.url, "TOKEN_TOUCH_SECONDS": 0})
    yield application
    application.extensions["scim_db"].dispose()


@pytest.fixture
def secret_app(db: Database) -> Iterator[Any]:
    """An app with a SECRET_KEY: OIDC sign-in and the console need one."""
    from .oidc_idp import SECRET_KEY

    application = create_app(
        {"DATABASE_URL": db.url, "TOKEN_TOUCH_SECONDS": 0, "SECRET_KEY": SECRET_KEY}
    )
    yield application
    application.extensions["scim_db"].dispose()


@pytest.fixture
def api(app: Any, db: Database) -> Api:
    created = make_org(db, "acme")
    return Api(app.test_client(), created.scim_token, "acme", db)


@pytest.fixture
def other_api(app: Any, db: Database) -> Api:
    created = make_org(db, "globex")
    return Api(app.test_client(), created.scim_token, "globex", db)


# --- the console's browser tests (tests/browser.py) ---------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, once per test process."""
    from playwright.sync_api import sync_playwright

    from .browser import FLAGS, chromium_path

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def console_page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) at laptop width, on a new organization."""
    from .browser import LAPTOP, ConsolePage

    context = chromium.new_context(viewport=LAPTOP)
    context.set_default_timeout(15_000)
    try:
        yield ConsolePage(context.new_page(), live_server, live.new_organization(live_server))
    finally:
        context.close()


# --- the operator's commands, run in this process ----------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def cli_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Ran]:
    """`scim-server ARGS` in this process; with a `db`, on that test database."""

    def run(*args: str, stdin: bytes = b"", db: Database | None = None) -> Ran:
        if db is not None:
            monkeypatch.setattr(cli, "database", lambda: db)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()  # what the fixtures logged
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run
