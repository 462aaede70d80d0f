"""Every way an operator's command can fail is one line on stderr that says what to do, and
a documented exit code (README "Exit codes"): never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from scim_server import cli
from scim_server.persistence.db import Database
from scim_server.persistence.migrate import upgrade
from scim_server.services import operators, tokens

from .admin_client import add_members, new_org
from .conftest import Ran


def scim_server(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, in its own process."""
    env = {**os.environ, "SCIM_SERVER_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "scim_server.cli", *args], env=env, capture_output=True, text=True
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --- the database (exit 3) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://postgres@127.0.0.1:1/scim", "Connection refused"),
        ("sqlite:////no/such/folder/scim.db", "unable to open database file"),
    ],
)
def test_a_database_that_cannot_be_reached_is_exit_3_naming_it_and_what_to_check(
    url: str, reason: str
) -> None:
    for args in (["token", "list", "--org", "acme"], ["db", "upgrade"]):
        ran = scim_server(url, *args)
        line = one_line(ran.stderr)
        assert ran.returncode == 3 and ran.stdout == ""
        assert line.startswith(f"error: cannot reach the database at {url} (")
        assert reason in line and line.endswith("that SCIM_SERVER_DATABASE_URL names it")


def test_a_password_in_the_database_url_is_never_printed() -> None:
    ran = scim_server("postgresql://scim:hunter2@127.0.0.1:1/scim", "org", "list")
    assert ran.returncode == 3 and "hunter2" not in ran.stderr and "scim:***@" in ran.stderr


def test_a_database_without_a_schema_says_to_run_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    ran = scim_server(url, "token", "create", "--org", "demo")
    assert ran.returncode == 3
    assert one_line(ran.stderr) == (
        f"error: the database at {url} has no schema yet: run 'scim-server db upgrade'"
    )
    assert scim_server(url, "db", "upgrade").returncode == 0
    ran = scim_server(url, "token", "create", "--org", "demo")
    assert ran.returncode == 1 and "no organization 'demo'" in ran.stderr


def test_a_schema_behind_this_version_says_to_run_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    ran = scim_server(url, "org", "list")
    line = one_line(ran.stderr)
    assert ran.returncode == 3
    assert line.startswith("error: the database's schema is at 0007 and this scim-server needs ")
    assert line.endswith(": run 'scim-server db upgrade'")


def test_a_schema_newer_than_this_version_says_to_run_a_newer_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for args in (["org", "list"], ["db", "upgrade"]):
        ran = scim_server(url, *args)
        assert ran.returncode == 3
        assert one_line(ran.stderr).endswith(
            "is at 9999, which this scim-server does not know "
            f"(its newest is {newest()}): run a newer scim-server"
        )


def newest() -> str:
    from alembic.script import ScriptDirectory

    from scim_server.persistence.migrate import alembic_config

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def test_a_database_failing_in_the_middle_of_a_command_is_exit_3(
    cli_run: Callable[..., Ran], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost(*_: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection\nmore"))

    monkeypatch.setattr(tokens, "listing", lost)
    ran = cli_run("token", "list", "--org", "acme", db=db)
    assert ran.code == 3
    assert one_line(ran.err) == (
        "error: the database failed (server closed the connection): "
        "check that it runs, then try again"
    )


# --- refused by the rules (exit 1) ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["token", "list", "--org", "nope"],
        ["token", "create", "--org", "nope"],
        ["org", "show", "--org", "nope"],
        ["org", "renew", "--org", "nope", "--seats", "chat=20"],
        ["members", "list", "--org", "nope"],
        ["members", "list", "--org", "nope", "--json"],
        ["api-token", "create", "--org", "nope", "--email", "a@b.example"],
    ],
)
def test_an_unknown_organization_is_exit_1_and_says_where_the_organizations_are_listed(
    cli_run: Callable[..., Ran], db: Database, args: list[str]
) -> None:
    ran = cli_run(*args, db=db)
    assert (ran.code, ran.out) == (1, "")
    assert one_line(ran.err) == "error: no organization 'nope'; 'scim-server org list' lists them"


def test_an_unknown_email_is_exit_1_and_says_how_to_find_the_member(
    cli_run: Callable[..., Ran], app: Any, db: Database
) -> None:
    new_org(app, db, "acme")
    ran = cli_run("api-token", "create", "--org", "acme", "--email", "who@acme.example", db=db)
    assert ran.code == 1
    assert one_line(ran.err) == (
        "error: no member with userName 'who@acme.example'; "
        "'scim-server members list --org acme --search TEXT' finds members"
    )


def test_an_unknown_token_prefix_is_exit_1(
    cli_run: Callable[..., Ran], app: Any, db: Database
) -> None:
    new_org(app, db, "acme")
    ran = cli_run("token", "revoke", "--org", "acme", "--prefix", "scim_000000000000", db=db)
    assert ran.code == 1 and "no token 'scim_000000000000'" in one_line(ran.err)


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        ("chat=5", "an enterprise allocation needs at least 20 seats in total, not 10"),
        ("chat=4,chat_code=16", "a renewal cannot go below the seats in use (chat: 4 < 5 in use)"),
        ("premium=30", "'premium' is not a seat type of enterprise (chat, chat_code)"),
        ("chat=5000000", "chat: at most 1,000,000 seats of a type"),
    ],
)
def test_seat_counts_a_rule_refuses_are_exit_1_with_the_rule(
    cli_run: Callable[..., Ran], app: Any, db: Database, seats: str, message: str
) -> None:
    org = new_org(app, db, "acme", seats={"chat": 15, "chat_code": 5})
    add_members(org, 9, "m")  # chat_code: 5 of 5 with the owner's; chat: 5
    ran = cli_run("org", "renew", "--org", "acme", "--seats", seats, db=db)
    assert ran.code == 1
    assert one_line(ran.err) == f"error: {message}"


def test_a_duplicate_organization_is_exit_1(
    cli_run: Callable[..., Ran], org_args: list[str], db: Database
) -> None:
    assert cli_run(*org_args, db=db).code == 0
    ran = cli_run(*org_args)
    assert ran.code == 1 and one_line(ran.err) == "error: organization 'acme' already exists"


@pytest.fixture
def org_args() -> list[str]:
    return ["org", "create", "--name", "Acme", "--slug", "acme", "--plan", "enterprise",
            "--seats", "chat=50,chat_code=20", "--owner-email", "it@acme.example"]  # fmt: skip


# --- usage (exit 2): nothing reaches the database ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "scim-server: error: the following arguments are required: COMMAND"),
        (["org"], "scim-server org: error: the following arguments are required: ACTION"),
        (["org", "show"], "scim-server org show: error: the following arguments are required: --org"),
        (["token", "list", "--org", "a", "--verbose"], "scim-server: error: unrecognized arguments: --verbose"),
        (["org", "renew", "--org", "a", "--seats", "chat"],
         "scim-server org renew: error: argument --seats: 'chat' is not TYPE=N, e.g. chat=50,chat_code=20"),
        (["org", "renew", "--org", "a", "--seats", "chat=1,chat=2"],
         "scim-server org renew: error: argument --seats: chat is named twice"),
        (["org", "renew", "--org", "a", "--seats", "chat=-4"],
         "scim-server org renew: error: argument --seats: 'chat=-4' is not TYPE=N, e.g. chat=50,chat_code=20"),
        (["org", "renew", "--org", "a", "--seats", "chat=20", "--cancel"],
         "scim-server org renew: error: argument --cancel: not allowed with argument --seats"),
        (["serve", "--workers", "0"],
         "scim-server serve: error: argument --workers: '0' is not a whole number of 1 or more"),
        (["org", "migrate", "--org", "a", "--to", "legacy"],
         "scim-server org migrate: error: argument --to: invalid choice: 'legacy'"),
    ],
)  # fmt: skip
def test_a_command_line_that_cannot_run_is_exit_2_in_one_line_pointing_at_help(
    cli_run: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr(cli, "database", no_database)
    ran = cli_run(*args)
    assert (ran.code, ran.out) == (2, "")
    line = one_line(ran.err)
    assert line.startswith(message), line
    assert line.endswith("--help')")


def no_database() -> Any:
    raise AssertionError("a usage error is found before the database is opened")


def test_a_mapping_file_that_cannot_be_read_is_a_usage_error(
    cli_run: Callable[..., Ran], tmp_path: Path
) -> None:
    ran = cli_run("mappings", "plan", str(tmp_path / "nope.yaml"), "--org", "acme")
    assert ran.code == 2
    assert (
        one_line(ran.err)
        == f"error: cannot read {tmp_path / 'nope.yaml'}: No such file or directory"
    )


# --- the rest ---------------------------------------------------------------------------------


def test_a_bug_is_exit_4_in_one_line_and_its_traceback_only_when_asked(
    cli_run: Callable[..., Ran], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise KeyError("seats")

    monkeypatch.setattr(operators, "renew", broken)
    ran = cli_run("org", "renew", "--org", "acme", "--seats", "chat=20", db=db)
    assert ran.code == 4
    assert one_line(ran.err) == (
        "error: internal error, a bug (KeyError: 'seats'); SCIM_SERVER_TRACEBACK=1 shows more"
    )
    monkeypatch.setenv("SCIM_SERVER_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli_run("org", "renew", "--org", "acme", "--seats", "chat=20")


def test_an_interrupted_command_is_exit_130_without_a_traceback(
    cli_run: Callable[..., Ran], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(tokens, "listing", interrupted)
    ran = cli_run("token", "list", "--org", "acme", db=db)
    assert (ran.code, one_line(ran.err)) == (130, "interrupted")


def test_every_failure_above_has_its_code_in_the_readme_table() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    codes = {row.split("|")[1].strip() for row in rows}
    assert {"0", "1", "2", "3", "4", "130", "141"} <= codes
