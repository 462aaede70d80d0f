"""What the operator's commands print: help with defaults and examples, tables with headers,
--json everywhere, `org list|show`, `members list`, and progress only on a terminal."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scim_server import cli
from scim_server.persistence.db import Database
from scim_server.services import operators

from .admin_client import Org, add_member, add_members, new_org, set_active
from .conftest import Ran
from .test_mappings_admin import MAPPING

# --- --help -----------------------------------------------------------------------------------


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Any]:
    """(words, parser, is_a_group) of every command and command group."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = (*path, name)
                groups = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                yield words, sub, groups
                yield from commands(sub, words)


LEAVES = [(words, sub) for words, sub, group in commands(cli.parser()) if not group]


@pytest.mark.parametrize(("words", "sub"), LEAVES, ids=[" ".join(w) for w, _ in LEAVES])
def test_every_option_says_what_it_does_and_its_default(words: Any, sub: Any) -> None:
    assert sub.description, words
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, (words, action.dest)
        takes_a_default = action.default not in (None, False) and not action.required
        if takes_a_default:
            assert f"default: {action.default}" in action.help, (words, action.dest)


@pytest.mark.parametrize("words", [w for w, _, group in commands(cli.parser()) if group])
def test_every_command_group_ends_its_help_with_an_example_of_each_command(words: Any) -> None:
    group = dict((w, s) for w, s, _ in commands(cli.parser()))[words]
    assert group.epilog.startswith("example")
    for name in next(
        a.choices for a in group._actions if isinstance(a, argparse._SubParsersAction)
    ):
        assert f"scim-server {' '.join(words)} {name}" in group.epilog, name


@pytest.mark.parametrize(("words", "sub"), LEAVES, ids=[" ".join(w) for w, _ in LEAVES])
def test_every_command_that_prints_takes_json(words: Any, sub: Any) -> None:
    if words == ("serve",):  # prints nothing of its own: gunicorn's log, then the JSON log
        return
    assert any(a.dest == "json" for a in sub._actions), words


def test_help_of_the_root_lists_the_exit_codes(cli_run: Callable[..., Ran]) -> None:
    ran = cli_run("--help")
    assert ran.code == 0
    assert "exit codes:" in ran.out and "run 'scim-server db upgrade'" in ran.out


# --- what each prints -------------------------------------------------------------------------


@pytest.fixture
def acme(app: Any, db: Database) -> Org:
    org = new_org(app, db, "acme", seats={"chat": 15, "chat_code": 5})
    add_members(org, 4, "ana")  # chat_code, full with the owner's
    add_member(org, "ben@acme.example", displayName="Ben Ng")  # chat
    return org


def test_token_list_prints_a_header_then_a_line_per_token(
    cli_run: Callable[..., Ran], acme: Org, db: Database
) -> None:
    cli_run("token", "create", "--org", "acme", "--name", "okta", db=db)
    lines = cli_run("token", "list", "--org", "acme").out.splitlines()
    assert lines[0].split() == ["prefix", "name", "state", "created", "last", "used"]
    assert [line.split()[1:3] for line in lines[1:]] == [["default", "active"], ["okta", "active"]]
    assert lines[2].rstrip().endswith("never")


def test_org_renew_prints_a_table_of_this_term_in_use_and_the_next(
    cli_run: Callable[..., Ran], acme: Org, db: Database
) -> None:
    ran = cli_run("org", "renew", "--org", "acme", "--seats", "chat=20", db=db)
    assert ran.code == 0 and "{" not in ran.out
    lines = ran.out.splitlines()
    assert lines[0].startswith("acme renews when its term ends (")
    assert [line.split() for line in lines[1:4]] == [
        ["seat", "type", "this", "term", "in", "use", "next", "term"],
        ["chat", "15", "1", "20"],
        ["chat_code", "5", "5", "5"],
    ]
    assert lines[4].startswith("next term: ")
    again = cli_run("org", "renew", "--org", "acme", "--seats", "chat=16")
    assert again.out.splitlines()[-1] == "(replaces the renewal set before: chat 20, chat_code 5)"


def test_org_list_shows_each_organization_with_its_term_seats_and_renewal(
    cli_run: Callable[..., Ran], acme: Org, app: Any, db: Database
) -> None:
    new_org(app, db, "globex")
    operators.renew(db, "acme", {"chat": 16})
    lines = cli_run("org", "list", db=db).out.splitlines()
    assert lines[0].split() == [
        "slug", "name", "plan", "term", "ends", "seats", "held", "waiting", "renewal",
    ]  # fmt: skip
    assert lines[1].split()[:3] == ["acme", "Acme", "enterprise"]
    assert lines[1].split()[-9:] == ["UTC", "6", "of", "20", "0", "chat", "16,", "chat_code", "5"]
    assert lines[2].split()[0] == "globex" and lines[2].endswith("-")
    listed = json.loads(cli_run("org", "list", "--json").out)
    assert [o["slug"] for o in listed] == ["acme", "globex"]
    assert listed[0]["renewal"]["seats"] == {"chat": 16, "chat_code": 5}


def test_org_show_gives_plan_term_renewal_seats_waiting_and_tokens(
    cli_run: Callable[..., Ran], acme: Org, db: Database
) -> None:
    add_members(acme, 15, "fill")  # 14 take the chat seats left, one waits
    text = cli_run("org", "show", "--org", "acme", db=db).out.splitlines()
    assert text[0] == "Acme (acme): plan enterprise (Enterprise)"
    assert text[1].startswith("term: ") and text[2].startswith("renewal: none set")
    assert [line.split() for line in text[4:7]] == [
        ["seat", "type", "purchased", "assigned", "available"],
        ["chat", "15", "15", "0"],
        ["chat_code", "5", "5", "0"],
    ]
    assert text[7] == "unassigned: 1 active members hold no seat; waiting for a seat: 1"
    assert text[8] == "tokens: 1 SCIM token (0 revoked), 21 API tokens (0 revoked)"
    shown = json.loads(cli_run("org", "show", "--org", "acme", "--json").out)
    assert shown["allocation"]["chat"] == {"purchased": 15, "assigned": 15, "available": 0}
    assert (shown["unassigned"], shown["waiting"], shown["renewal"]) == (1, 1, None)
    assert shown["tokens"] == {
        "scim": {"active": 1, "revoked": 0},
        "api": {"active": 21, "revoked": 0},
    }


def test_members_list_filters_by_seat_type_waiting_and_search(
    cli_run: Callable[..., Ran], acme: Org, db: Database
) -> None:
    waiting = add_members(acme, 15, "zed")[-1]
    set_active(acme, add_members(acme, 1, "gone")[0].id, False)

    def names(*args: str) -> list[str]:
        lines = cli_run("members", "list", "--org", "acme", *args, db=db).out.splitlines()
        assert lines[0].split()[:3] == ["userName", "name", "seat"]
        return [line.split()[0] for line in lines[1:]]

    assert names("--seat-type", "chat_code") == [
        "ana0",
        "ana1",
        "ana2",
        "ana3",
        "owner@acme.example",
    ]
    assert names("--waiting") == ["zed14"]
    assert names("--search", "BEN") == ["ben@acme.example"]
    ben = cli_run("members", "list", "--org", "acme", "--search", "ben").out.splitlines()[1]
    assert ben.split() == ["ben@acme.example", "Ben", "Ng", "chat", "scim", "member", "active"]
    assert "deactivated" in cli_run("members", "list", "--org", "acme", "--search", "gone").out
    assert cli_run("members", "list", "--org", "acme", "--search", "nobody").out == (
        "no member of acme matches\n"
    )
    assert waiting.id in cli_run("members", "list", "--org", "acme", "--waiting", "--json").out


def test_members_list_reads_every_page_and_its_json_is_one_array(
    cli_run: Callable[..., Ran], acme: Org, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "PAGE", 2)
    listed = json.loads(cli_run("members", "list", "--org", "acme", "--json", db=db).out)
    assert [m["user_name"] for m in listed] == [
        "ana0", "ana1", "ana2", "ana3", "ben@acme.example", "owner@acme.example",
    ]  # fmt: skip
    assert listed[4]["seat_type"] == "chat" and listed[4]["display_name"] == "Ben Ng"
    assert (
        json.loads(cli_run("members", "list", "--org", "acme", "--search", "x", "--json").out) == []
    )
    assert len(cli_run("members", "list", "--org", "acme").out.splitlines()) == 7


def test_an_unknown_seat_type_filter_is_refused(
    cli_run: Callable[..., Ran], acme: Org, db: Database
) -> None:
    ran = cli_run("members", "list", "--org", "acme", "--seat-type", "premium", db=db)
    assert ran.code == 1 and "'premium' is not a seat type of enterprise" in ran.err


def test_the_other_commands_speak_json_too(
    cli_run: Callable[..., Ran], acme: Org, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(MAPPING)
    checked = json.loads(cli_run("mappings", "check", str(path), "--json", db=db).out)
    assert checked == {"file": str(path), "valid": True, "plan": "enterprise", "rules": 2}
    bad = cli_run("mappings", "check", "-", "--json", stdin=b"plan: enterprise\nrules: 3\n")
    assert bad.code == 1 and json.loads(bad.out)["errors"][0]["line"] == 2
    cli_run("mappings", "apply", str(path), "--org", "acme")
    stored = json.loads(cli_run("mappings", "show", "--org", "acme", "--json").out)
    assert stored["version"] == 1 and stored["source"] == MAPPING
    revoked = json.loads(
        cli_run("token", "revoke", "--org", "acme", "--prefix", first_prefix(cli_run), "--json").out
    )
    assert revoked["revoked_at"] is not None


def first_prefix(cli_run: Callable[..., Ran]) -> str:
    return str(json.loads(cli_run("token", "list", "--org", "acme", "--json").out)[0]["prefix"])


def test_db_upgrade_says_the_revision_it_reached(
    cli_run: Callable[..., Ran], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    upgraded = json.loads(cli_run("db", "upgrade", "--json").out)
    assert upgraded["database"] == f"sqlite:///{tmp_path / 'new.db'}"
    assert upgraded["revision"] == cli_run("db", "upgrade").out.split()[2].rstrip(":")


# --- progress ---------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run with stderr a terminal: (exit code, stdout, what the terminal showed)."""

    def run(*args: str) -> tuple[int, str, str]:
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        capsys.readouterr()
        code = cli.main(list(args))
        return code, capsys.readouterr().out, terminal.getvalue()

    return run


@pytest.fixture
def mapping_file(acme: Org, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MAPPING in a file, for commands run on the test database."""
    monkeypatch.setattr(cli, "database", lambda: db)
    path = tmp_path / "acme.yaml"
    path.write_text(MAPPING)
    return path


def test_applying_a_mapping_shows_its_progress_on_a_terminal_then_erases_it(
    on_a_terminal: Callable[..., tuple[int, str, str]], acme: Org, mapping_file: Path
) -> None:
    path = mapping_file
    sales = {"schemas": [GROUP], "displayName": "Sales", "members": [{"value": ana(acme)}]}
    assert acme.scim.call("POST", "/Groups", sales).status_code == 201
    code, out, shown = on_a_terminal("mappings", "apply", str(path), "--org", "acme")
    assert code == 0 and out.startswith("1 member moved:")
    assert "\r\x1b[Kreading members: 6" in shown
    assert "\r\x1b[Kmoving members: 1 of 1" in shown
    assert "\r\x1b[Krecording the audit log: 1 of 1" in shown
    assert shown.endswith("\r\x1b[K"), "erased before the report is printed"


GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def ana(org: Org) -> str:
    found = org.call(org.owner.token, "GET", "/members", query={"q": "ana0"}).json["members"]
    return str(found[0]["id"])


def test_progress_stays_off_a_terminal_with_json_and_when_piped(
    on_a_terminal: Callable[..., tuple[int, str, str]],
    cli_run: Callable[..., Ran],
    mapping_file: Path,
) -> None:
    path = mapping_file
    code, out, shown = on_a_terminal("mappings", "plan", str(path), "--org", "acme", "--json")
    assert code == 0 and json.loads(out)["applied"] is False and shown == ""
    piped = cli_run("mappings", "plan", str(path), "--org", "acme")
    assert piped.code == 0 and piped.err == ""


def test_db_upgrade_shows_each_migration_applied_on_a_terminal(
    on_a_terminal: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, out, shown = on_a_terminal("db", "upgrade")
    assert code == 0 and out.startswith("database at ")
    assert "\r\x1b[Kmigrating: 0001 applied: 1 of " in shown
    assert "migrating: 0002 applied: 2 of " in shown and shown.endswith("\r\x1b[K")
