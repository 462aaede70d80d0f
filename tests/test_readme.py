"""The README runs as written on the demo, in order (issue 20).

`scripts/demo` serves from a folder laid out as this one (`.venv` and `scripts` linked,
`mappings` copied, `instance/` its own), and every shell block of the README runs there,
in the README's order, in the environment of an operator's second terminal:

- a ```sh block runs in a fresh `bash` under `set -euo pipefail`: a variable it does not
  define, or a command that fails, fails it; it must exit 0 and print nothing on stderr;
- a ```console block is a transcript: its `$ ` commands run in one `bash`, and each must
  print (stdout and stderr) the lines shown after it, all of them or up to a line that
  starts with "…".

A block meant for another setting (production, a real identity provider, minutes of
fuzzing) says so on the line before it: `<!-- not run on the demo: why -->`. The one
change made to a block is the demo's address, `127.0.0.1:8000`, which becomes the port the
test's demo listens on. The demo is the README's, on SQLite; every behaviour its blocks
show is tested on both databases by the other tests.
"""

from __future__ import annotations

import re
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scim_server.mappings_file import load_mapping

from .demo_server import DEMO_ADDRESS, ROOT, running_demo

README = ROOT / "README.md"

SHELL_LANGUAGES = ("sh", "console")
NOT_RUN = re.compile(r"<!-- not run on the demo: (?P<reason>\S.*\S) -->")
MARKER = re.compile(r"<!-- not run on the demo")
# What the blocks answer when something went wrong: an admin-API error's code, or a SCIM Error.
ERROR = re.compile(r'"code": "(\w+)"|"urn:ietf:params:scim:api:messages:2.0:Error"')


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, counted from 1
    language: str
    text: str
    not_run: str | None  # why, when the block is meant for another setting

    def holds(self, command: str) -> bool:
        """Whether a line of the block is this command (with or without a comment after it)."""
        return any(line.strip().startswith(command) for line in self.text.splitlines())


def fenced_blocks(markdown: str) -> list[Block]:
    lines = markdown.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if not lines[index].startswith("```"):
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marked = NOT_RUN.fullmatch(lines[index - 1].strip()) if index else None
        text = "\n".join(lines[index + 1 : end]) + "\n"
        reason = marked["reason"] if marked else None
        blocks.append(Block(index + 1, lines[index][3:].strip(), text, reason))
        index = end + 1
    return blocks


def shell_blocks() -> list[Block]:
    return [b for b in fenced_blocks(README.read_text()) if b.language in SHELL_LANGUAGES]


# What a block must print, beyond exiting 0: found by a command line of the block. `errors`
# are the admin-API error codes its answers hold, in order; no other block may hold one.
@dataclass(frozen=True)
class Expected:
    prints: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


EXPECTED = {
    'curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/scim/v2/ServiceProviderConfig': Expected(
        ('"totalResults": 1', '"userName": "bjensen@example.com"')
    ),
    "TOKEN=$(.venv/bin/scim-server token create --org demo --name retired)": Expected(
        ("revoked scim_",)
    ),
    ".venv/bin/scim-server org show --org demo --json": Expected(
        ('"renewal": {"term_start"', '"seats": {"chat": 40, "chat_code": 25}}')
    ),
    "A=$(member_id bruno.silva@demo.example)": Expected(
        (
            '"code": "seat_unavailable", "message": "no chat_code seat is available: 20 of 20 '
            'are assigned; an owner can purchase more seats", "seat_type": "chat_code", '
            '"purchased": 20, "assigned": 20, "purchase": {"allowed": false',
            '"user_name": "tara.kelly@demo.example", "display_name": "Tara Kelly", '
            '"email": "tara.kelly@demo.example", "role": "member", "active": true, '
            '"seat_type": "chat_code"',
            '"chat_code": {"current": 20, "requested": 25, "added": 5,',
            '"chat_code": {"purchased": 25, "assigned": 20, "available": 5}}',
            '"action": "allocation.changed"',
        ),
        errors=("seat_unavailable", "reduction_during_term"),
    ),
    ".venv/bin/scim-server org migrate --org legacy --to enterprise": Expected(
        ("legacy is on enterprise: chat 15, chat_code 5",)
    ),
    "group Everyone ana ben chloe dev eve fay gus hana ivan": Expected(
        ('"user_name": "dev@acme.example"', '"pinned": true, "pinned_seat_type": "chat_code"')
    ),
    'curl -s -X PUT -H "$AUTH" -d \'{"seats": {"chat_code": 7}}\' $API/billing/seats': Expected(
        ('"applied": true', '"userName": "hana@acme.example"', '"version": 2')
    ),
}


def test_every_shell_block_of_the_readme_is_run_on_the_demo_or_says_why_not() -> None:
    markdown = README.read_text()
    blocks = fenced_blocks(markdown)
    shells = [b for b in blocks if b.language in SHELL_LANGUAGES]
    # A marker names the block right after it, and only a shell block is run or not.
    marked = [b for b in blocks if b.not_run is not None]
    assert all(b.language in SHELL_LANGUAGES for b in marked), [b.line for b in marked]
    assert len(MARKER.findall(markdown)) == len(marked), "a marker with no reason, or astray"
    # Every expectation names a command of a block that runs, once.
    run = [b for b in shells if b.not_run is None]
    for command in EXPECTED:
        assert sum(b.holds(command) for b in run) == 1, command
    assert len(run) >= 10 and len(marked) >= 4


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    with running_demo(tmp_path_factory.mktemp("clone")) as (folder, address, terminal):
        yield folder, address, terminal


@pytest.mark.live
def test_the_readme_runs_as_written_on_the_demo_in_order(
    demo: tuple[Path, str, dict[str, str]],
) -> None:
    folder, address, env = demo
    for block in (b for b in shell_blocks() if b.not_run is None):
        text = block.text.replace(DEMO_ADDRESS, address)
        if block.language == "console":
            for command, shown, printed in transcript(text, folder, env):
                assert_prints(shown, printed, f"README line {block.line}: $ {command}")
            continue
        ran = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + text],
            cwd=folder, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        where = f"README line {block.line}:\n{block.text}"
        assert (ran.returncode, ran.stderr) == (0, ""), where
        expected = next((e for c, e in EXPECTED.items() if block.holds(c)), Expected())
        for printed in expected.prints:
            assert printed in ran.stdout, f"{where}\nprints no {printed!r}:\n{ran.stdout}"
        errors = [m[1] or "SCIM Error" for m in ERROR.finditer(ran.stdout)]
        assert errors == list(expected.errors), f"{where}\n{ran.stdout}"
        if "console link" in block.text:
            signs_in(ran.stdout.splitlines()[0], address)
    # The CLI and the demo shared one database: the demo's default, in the folder's instance/.
    assert sorted(p.name for p in (folder / "instance").glob("*.db")) == ["scim-server.db"]
    with (folder / "audit.csv").open() as exported:
        assert exported.readline().startswith("id,at,")
        assert len(exported.readlines()) > 20


def transcript(text: str, folder: Path, env: dict[str, str]) -> list[tuple[str, list[str], str]]:
    """Each `$ ` command of a console block, the lines shown after it, and what it printed:
    run in one shell, so that `echo $?` reads the command before it."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    mark = "@@ README step done @@"
    script = "set -u\n" + "".join(
        f"{command}\nstatus=$?; printf '%s\\n' '{mark}'; (exit $status)\n" for command, _ in steps
    )
    ran = subprocess.run(
        ["bash", "-c", script], cwd=folder, env=env, text=True, timeout=120,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    printed = ran.stdout.split(f"{mark}\n")
    assert len(printed) == len(steps) + 1, ran.stdout
    return [(command, shown, out) for (command, shown), out in zip(steps, printed, strict=False)]


def assert_prints(shown: list[str], printed: str, where: str) -> None:
    lines = [line.rstrip() for line in printed.splitlines()]
    elided = next((i for i, line in enumerate(shown) if line.startswith("…")), None)
    if elided is not None:
        shown, lines = shown[:elided], lines[:elided]
    assert lines == [line.rstrip() for line in shown], f"{where}\nprinted:\n{printed}"


def signs_in(link: str, address: str) -> None:
    """The console link the README prints opens the demo's sign-in page."""
    assert link.startswith(f"http://{address}/console/demo/sign-in/"), link
    with urllib.request.urlopen(link, timeout=10) as page:
        assert page.status == 200 and b"Sign in" in page.read()


def test_the_readme_mapping_example_is_a_valid_mapping_for_the_enterprise_plan() -> None:
    yaml = [b for b in fenced_blocks(README.read_text()) if b.language == "yaml"]
    [example] = [b for b in yaml if b.text.startswith("plan:")]
    mapping = load_mapping(example.text, "enterprise")
    assert mapping.plan == "enterprise"
    assert [(r.group, r.seat_type) for r in mapping.rules] == [
        ("Engineering", "chat_code"),
        ("Everyone", "chat"),
    ]
