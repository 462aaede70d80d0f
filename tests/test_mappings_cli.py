"""`scim-server mappings check|plan|apply|show`: the operator's side of group mappings (SEATS.md §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_server.mappings_file import MappingErrors, decode, load_mapping
from scim_server.persistence.db import Database

from .admin_client import Org, Person, add_members, new_org
from .conftest import Ran
from .test_mappings_admin import MAPPING


def test_a_file_is_read_as_utf8_without_its_byte_order_mark() -> None:
    assert decode("\ufeffplan: enterprise\n".encode()) == "plan: enterprise\n"


def test_a_file_not_in_utf8_is_an_error_at_the_line_of_the_bad_byte() -> None:
    with pytest.raises(MappingErrors) as raised:
        decode(b"plan: enterprise\nrules:\n  - group: Ing\xe9nieurs\n")
    [error] = raised.value.errors
    assert error.line == 3
    assert error.message.startswith("not valid UTF-8: byte 0xe9")


def test_a_file_said_to_be_json_must_be_json_with_the_line_of_the_problem() -> None:
    assert decode(b'{"plan": "enterprise", "rules": []}', "application/json").startswith("{")
    with pytest.raises(MappingErrors) as raised:
        decode(b'{"plan": "enterprise",\n "rules": [,]}', "application/json")
    assert [(e.line, e.message) for e in raised.value.errors] == [
        (2, "not valid JSON: Expecting value (column 12)")
    ]
    with pytest.raises(MappingErrors):
        decode(b"plan: enterprise\nrules: []\n", "application/json")


@pytest.mark.parametrize(
    ("text", "media_type"),
    [("[" * 100_000, "application/yaml"), ("- " * 60_000 + "x", "application/yaml"),
     ("[" * 100_000, "application/json")],
)  # fmt: skip
def test_a_file_nested_deeper_than_python_can_read_is_an_error_not_a_crash(
    text: str, media_type: str
) -> None:
    with pytest.raises(MappingErrors) as raised:
        load_mapping(decode(text.encode(), media_type))
    [error] = raised.value.errors
    assert error.line == 1 and "nested too deeply" in error.message


# --- running the commands ---------------------------------------------------------------------

EXAMPLES = Path(__file__).parent.parent / "mappings"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

INVALID = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: premium
    prio: 3
  - group: engineering
    seat_type: chat
"""


@dataclass
class Acme:
    org: Org
    a: list[Person]  # a0..a3 hold chat_code: with the owner, all five
    b: list[Person]  # b0..b3 hold chat


@pytest.fixture
def acme(app: Any, db: Database) -> Acme:
    org = new_org(app, db, "acme", seats={"chat": 15, "chat_code": 5})
    return Acme(org, add_members(org, 4, "a"), add_members(org, 4, "b"))


def group(org: Org, name: str, *members: Person) -> None:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m.id} for m in members]}
    assert org.scim.call("POST", "/Groups", body).status_code == 201


def seat(org: Org, member: Person) -> str:
    return str(org.call(org.owner.token, "GET", f"/members/{member.id}").json["seat_type"])


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("example", ["enterprise.example.yaml", "enterprise_legacy.example.yaml"])
def test_check_accepts_each_shipped_example(cli_run: Callable[..., Ran], example: str) -> None:
    ran = cli_run("mappings", "check", str(EXAMPLES / example))
    assert ran.code == 0 and ran.err == ""
    assert ran.out == f"{EXAMPLES / example}: OK (plan {example.split('.')[0]}, 4 rules)\n"


def test_check_prints_every_error_as_file_line_message_and_exits_1(
    cli_run: Callable[..., Ran], tmp_path: Path
) -> None:
    path = write(tmp_path, INVALID)
    ran = cli_run("mappings", "check", path)
    assert ran.code == 1 and ran.out == ""
    assert [line.split(": ")[0] for line in ran.err.splitlines()] == [
        f"{path}:4",
        f"{path}:5",
        f"{path}:6",
    ]
    assert "'premium' is a seat type of enterprise_legacy" in ran.err
    assert "unknown key" in ran.err and "duplicate rule" in ran.err


def test_check_reads_the_file_from_stdin_when_it_is_named_dash(
    cli_run: Callable[..., Ran],
) -> None:
    assert cli_run("mappings", "check", "-", stdin=MAPPING.encode()).out.startswith("<stdin>: OK")
    ran = cli_run("mappings", "check", "-", stdin=INVALID.encode())
    assert ran.code == 1 and ran.err.startswith("<stdin>:4: rules[0].seat_type: ")


def test_check_of_a_file_not_in_utf8_names_the_line_of_the_bad_byte(
    cli_run: Callable[..., Ran], tmp_path: Path
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MAPPING.replace("Sales", "Ventes \xe9t\xe9").encode("latin-1"))
    ran = cli_run("mappings", "check", str(path))
    assert ran.code == 1 and ran.err.startswith(f"{path}:5: not valid UTF-8")


def test_a_file_that_cannot_be_read_is_a_clear_error(
    cli_run: Callable[..., Ran], tmp_path: Path
) -> None:
    missing = cli_run("mappings", "check", str(tmp_path / "nope.yaml"))
    assert missing.code == 2
    assert (
        missing.err == f"error: cannot read {tmp_path / 'nope.yaml'}: No such file or directory\n"
    )
    folder = cli_run("mappings", "check", str(tmp_path))
    assert folder.code == 2 and "Is a directory" in folder.err


def test_check_with_an_org_refuses_a_file_of_another_plan(
    cli_run: Callable[..., Ran], acme: Acme, db: Database
) -> None:
    legacy = str(EXAMPLES / "enterprise_legacy.example.yaml")
    ran = cli_run("mappings", "check", legacy, "--org", "acme", db=db)
    assert ran.code == 1
    assert ran.err.endswith(
        "plan: this file is for enterprise_legacy, but the organization's plan is enterprise\n"
    )
    ok = cli_run("mappings", "check", str(EXAMPLES / "enterprise.example.yaml"), "--org", "acme")
    assert ok.code == 0 and "OK for acme" in ok.out


@pytest.mark.parametrize("command", ["plan", "apply", "check"])
def test_an_unknown_organization_is_a_clear_error(
    cli_run: Callable[..., Ran], db: Database, tmp_path: Path, command: str
) -> None:
    ran = cli_run("mappings", command, write(tmp_path, MAPPING), "--org", "nope", db=db)
    assert (ran.code, ran.out) == (1, "")
    assert ran.err == "error: no organization 'nope'; 'scim-server org list' lists them\n"


def test_plan_shows_who_would_move_who_is_blocked_and_the_seats_and_writes_nothing(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    (a0, *_), (b0, b1, *_) = acme.a, acme.b
    group(acme.org, "Sales", a0)
    group(acme.org, "Engineering", b0, b1)
    ran = cli_run("mappings", "plan", write(tmp_path, MAPPING), "--org", "acme", db=db)
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0] == "2 members would move:"
    assert any(line.split()[:3] == ["a0", "chat_code", "chat"] for line in lines)
    assert "Sales -> chat (line 5)" in ran.out and "Engineering -> chat_code (line 3)" in ran.out
    assert "1 member blocked:" in lines
    assert "seats if applied:" in lines
    assert [line.split() for line in lines if line.lstrip().startswith("chat")][-2:] == [
        ["chat", "4", "15"],
        ["chat_code", "5", "5", "1"],
    ]
    assert lines[-1] == (
        "the allocation does not suffice: buy 1 chat_code seat"
        " for every mapped member to get their type"
    )
    assert seat(acme.org, a0) == "chat_code" and seat(acme.org, b0) == "chat"
    assert cli_run("mappings", "show", "--org", "acme").code == 1


def test_plan_json_is_exactly_what_apply_then_does(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    (a0, a1, *_), (b0, b1, b2, _) = acme.a, acme.b
    group(acme.org, "Sales", a0, a1)
    group(acme.org, "Engineering", b0, b1, b2)
    path = write(tmp_path, MAPPING)
    planned = json.loads(cli_run("mappings", "plan", path, "--org", "acme", "--json", db=db).out)
    applied = json.loads(cli_run("mappings", "apply", path, "--org", "acme", "--json").out)
    assert (planned["applied"], applied["applied"]) == (False, True)
    assert {**planned, "applied": True} == applied
    assert len(applied["moves"]) == 4 and applied["blocked"][0]["wanted"] == "chat_code"
    for move in applied["moves"]:
        assert seat(acme.org, Person(move["member"], "")) == move["to"]


def test_apply_stores_the_file_and_show_prints_it_back_as_it_was(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    group(acme.org, "Sales", acme.a[0])
    ran = cli_run("mappings", "apply", write(tmp_path, MAPPING), "--org", "acme", db=db)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("1 member moved:\n") and "seats after the moves:" in ran.out
    assert seat(acme.org, acme.a[0]) == "chat"
    assert cli_run("mappings", "show", "--org", "acme").out == MAPPING
    stored = acme.org.call(acme.org.owner.token, "GET", "/group-mappings").json
    assert stored["version"] == 1 and stored["updated_by"] is None


def test_a_member_no_rule_matches_any_more_is_listed_as_back_to_the_automatic_rules(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    group(acme.org, "Sales", acme.a[0])  # a0 leaves chat_code for chat...
    group(acme.org, "Engineering", acme.b[0])  # ...and b0 takes it: none is free
    cli_run("mappings", "apply", write(tmp_path, MAPPING), "--org", "acme", db=db)
    without_sales = MAPPING.split("  - group: Sales")[0]
    ran = cli_run("mappings", "plan", write(tmp_path, without_sales), "--org", "acme")
    assert ran.out.startswith("0 members would move.\n")
    assert "1 member back to the automatic rules:" in ran.out
    [row] = [line.split() for line in ran.out.splitlines() if line.startswith("  a0")]
    assert row[:2] == ["a0", "chat"] and "no longer in a mapped group" in " ".join(row)


def test_apply_reads_stdin_and_a_json_file_is_stored_as_json(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    assert (
        cli_run("mappings", "apply", "-", "--org", "acme", stdin=MAPPING.encode(), db=db).code == 0
    )
    as_json = json.dumps({"plan": "enterprise", "rules": [{"group": "Ops", "seat_type": "chat"}]})
    assert (
        cli_run("mappings", "apply", write(tmp_path, as_json, "acme.json"), "--org", "acme").code
        == 0
    )
    stored = acme.org.call(acme.org.owner.token, "GET", "/group-mappings").json
    assert (stored["version"], stored["media_type"], stored["source"]) == (
        2,
        "application/json",
        as_json,
    )


def test_a_json_file_that_is_not_json_is_refused_at_its_line(
    cli_run: Callable[..., Ran], tmp_path: Path
) -> None:
    path = write(tmp_path, MAPPING, "acme.json")
    ran = cli_run("mappings", "check", path)
    assert ran.code == 1 and ran.err.startswith(f"{path}:1: not valid JSON: ")


def test_an_invalid_file_is_not_applied(
    cli_run: Callable[..., Ran], acme: Acme, db: Database, tmp_path: Path
) -> None:
    ran = cli_run("mappings", "apply", write(tmp_path, INVALID), "--org", "acme", db=db)
    assert ran.code == 1 and ran.out == "" and ran.err.count(":") >= 6
    assert cli_run("mappings", "show", "--org", "acme").code == 1


def test_show_without_a_stored_mapping_says_so_and_exits_1(
    cli_run: Callable[..., Ran], acme: Acme, db: Database
) -> None:
    ran = cli_run("mappings", "show", "--org", "acme", db=db)
    assert (ran.code, ran.out, ran.err) == (1, "", "no group mapping is stored for acme\n")


def test_check_runs_as_an_operator_runs_it_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, INVALID)
    result = subprocess.run(
        [sys.executable, "-m", "scim_server.cli", "mappings", "check", path],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"{path}:4: ")


def test_a_reader_closing_the_pipe_early_gets_no_traceback(tmp_path: Path) -> None:
    many = "plan: enterprise\nrules:\n" + "".join(
        f"  - group: g{i}\n    seat_type: chat\n" for i in range(20000)
    )
    reader = subprocess.Popen(
        [sys.executable, "-m", "scim_server.cli", "mappings", "check", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    reader.stdout.close()  # as `| head` does once it has what it wants
    _, err = reader.communicate(many.encode())
    assert b"Traceback" not in err
