"""The operator interface, exactly as other tools call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scim_server.persistence.db import Database


def run(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCIM_SERVER_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "scim_server.cli", *args], env=env, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_then_org_create_prints_org_and_both_tokens(url: str) -> None:
    run(url, "db", "upgrade")
    out = run(
        url,
        "org",
        "create",
        "--name",
        "Acme",
        "--slug",
        "acme",
        "--plan",
        "enterprise",
        "--seats",
        "chat=50,chat_code=20",
        "--owner-email",
        "boss@acme.example",
        "--json",
    )
    created = json.loads(out.stdout)
    assert created["org"]["slug"] == "acme"
    assert created["org"]["seats"] == {"chat": 50, "chat_code": 20}
    assert created["scim_token"].startswith("scim_")
    assert created["owner_api_token"].startswith("sapi_")


def test_db_upgrade_is_idempotent(url: str) -> None:
    run(url, "db", "upgrade")
    run(url, "db", "upgrade")


def test_token_create_list_and_revoke(url: str) -> None:
    run(url, "db", "upgrade")
    run(
        url,
        "org",
        "create",
        "--name",
        "A",
        "--slug",
        "a",
        "--plan",
        "enterprise_legacy",
        "--seats",
        "standard=15,premium=5",
        "--owner-email",
        "o@a.example",
    )
    token = json.loads(run(url, "token", "create", "--org", "a", "--name", "okta", "--json").stdout)
    listed = json.loads(run(url, "token", "list", "--org", "a", "--json").stdout)
    assert {t["name"] for t in listed} == {"default", "okta"}
    assert all(token["token"] not in json.dumps(t) for t in listed)  # listings show prefixes only
    revoked = json.loads(
        run(url, "token", "revoke", "--org", "a", "--prefix", token["prefix"], "--json").stdout
    )
    assert revoked["revoked_at"] is not None


def test_org_create_refuses_fewer_than_twenty_seats_with_a_clear_error(url: str) -> None:
    run(url, "db", "upgrade")
    result = run(
        url,
        "org",
        "create",
        "--name",
        "S",
        "--slug",
        "small",
        "--plan",
        "enterprise",
        "--seats",
        "chat=5",
        "--owner-email",
        "o@s.example",
        check=False,
    )
    assert result.returncode == 1
    assert "at least 20" in result.stderr and "Traceback" not in result.stderr
    db = Database(url)
    try:
        from scim_server.services import tokens

        with pytest.raises(Exception, match="no organization"):
            tokens.listing(db, "small", "scim")
    finally:
        db.dispose()


def test_a_duplicate_slug_is_refused_without_a_traceback(url: str) -> None:
    run(url, "db", "upgrade")
    args = [
        "org",
        "create",
        "--name",
        "A",
        "--slug",
        "dup",
        "--plan",
        "enterprise",
        "--seats",
        "chat=20",
        "--owner-email",
        "o@d.example",
    ]
    run(url, *args)
    result = run(url, *args, check=False)
    assert result.returncode == 1 and "already exists" in result.stderr


def test_a_worker_freezes_what_start_up_built_out_of_the_collectors_sight(url: str) -> None:
    """wsgi.py: a full collection then walks only what requests leave behind."""
    probe = "import gc, scim_server.wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, "SCIM_SERVER_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert int(result.stdout) > 10_000  # the modules, schemas and app (about 120,000)


def gunicorn_settings(*serve: str) -> Any:
    """The settings gunicorn reads from the command line `scim-server serve` gives it."""
    from gunicorn.config import Config

    from scim_server.cli import gunicorn_argv, parser

    argv = gunicorn_argv(parser().parse_args(["serve", *serve]))
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    return Config().parser().parse_args(argv[3:])


def test_serve_gives_gunicorn_an_access_log_only_when_asked() -> None:
    """Pointed at /dev/null, gunicorn still formatted an access line per request."""
    quiet = gunicorn_settings("--bind", "127.0.0.1:8123", "--workers", "3")
    assert quiet.config == "python:scim_server.serving"  # limits, and its errors as JSON
    assert quiet.accesslog is None
    assert quiet.bind == ["127.0.0.1:8123"] and quiet.workers == 3
    assert quiet.args == ["scim_server.wsgi:app"]
    logged = gunicorn_settings("--bind", "127.0.0.1:8123", "--access-log")
    assert logged.accesslog == "-"


@pytest.mark.parametrize(
    "database, serve, threads",
    [
        ("postgresql://scim@db-host/scim", [], 4),  # a request waits on the network there
        ("sqlite:////srv/scim.db", [], 1),  # it never does here
        ("sqlite:////srv/scim.db", ["--threads", "3"], 3),
        ("postgresql://scim@db-host/scim", ["--threads", "1"], 1),
    ],
)
def test_serve_gives_each_worker_threads_on_postgresql_and_one_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, database: str, serve: list[str], threads: int
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", database)
    settings = gunicorn_settings(*serve)
    if threads == 1:
        assert settings.threads is None and settings.worker_class is None  # serving.Worker
    else:
        assert settings.threads == threads
        # gunicorn's threaded worker, answering what it cannot parse as the protocol does
        assert settings.worker_class == "scim_server.serving.ThreadedWorker"
