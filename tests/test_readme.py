"""The README's operator commands run as written on the demo: `scripts/demo` serving, and
`.venv/bin/scim-server` from the repository's folder reaching the same database."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.server import free_port, stop, wait_ready

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"

pytestmark = pytest.mark.live


def shell_block(after_heading: str) -> list[str]:
    """The command lines of the first ```sh block after a heading of the README."""
    section = README.read_text().split(after_heading, 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`bash scripts/demo` on a folder of its own (its setup skipped: this .venv is set up);
    yields the environment an operator's second terminal has."""
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = {
        **os.environ,
        "SCIM_SERVER_INSTANCE_PATH": str(folder),
        "SCIM_SERVER_LOG_LEVEL": "WARNING",
        "SKIP_SETUP": "1",
        "BIND": f"127.0.0.1:{port}",
    }
    env.pop("SCIM_SERVER_DATABASE_URL", None)
    log = folder / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/demo"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", log)
        yield {k: v for k, v in env.items() if k not in ("SKIP_SETUP", "BIND")}
    finally:
        stop(process)


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_readme_operator_commands_run_in_order_on_the_demo(demo: dict[str, str]) -> None:
    commands = shell_block("### On the demo")
    assert len(commands) >= 10
    outputs = {}
    for command in commands:
        ran = run(command, demo)
        assert (ran.returncode, ran.stderr) == (0, ""), command
        outputs[command] = ran.stdout
    created = outputs[".venv/bin/scim-server token create --org demo --name okta"]
    assert created.startswith("scim_")
    shown = json.loads(outputs[".venv/bin/scim-server org show --org demo --json"])
    assert shown["slug"] == "demo" and shown["renewal"]["seats"] == {"chat": 40, "chat_code": 25}


def test_the_demo_and_the_cli_read_the_same_database_by_default(demo: dict[str, str]) -> None:
    """The issue: after scripts/demo, `token create --org demo` met an empty database."""
    for command in shell_block("In a second terminal while the demo runs:"):
        ran = run(command, demo)
        assert ran.returncode == 0, (command, ran.stderr)
    assert (Path(demo["SCIM_SERVER_INSTANCE_PATH"]) / "scim-server.db").exists()
