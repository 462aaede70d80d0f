"""`bash scripts/demo`, as a newcomer runs it, for the tests that follow the README and the
demo's printed console link (tests/test_readme.py, tests/test_demo_console.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.server import free_port, stop, wait_ready

ROOT = Path(__file__).parent.parent
DEMO_ADDRESS = "127.0.0.1:8000"


@contextmanager
def running_demo(folder: Path) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """The demo in `folder`, laid out as this one (its setup skipped: this .venv is set
    up); yields the folder, the demo's address and a second terminal's environment. What
    the demo printed is in `folder / "demo.log"`."""
    for linked in (".venv", "scripts"):
        (folder / linked).symlink_to(ROOT / linked)
    shutil.copytree(ROOT / "mappings", folder / "mappings")  # the README writes there
    terminal = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_SERVER_")}
    address = f"127.0.0.1:{free_port()}"
    log = folder / "demo.log"
    demo_env = {**terminal, "BIND": address, "SKIP_SETUP": "1", "SCIM_SERVER_LOG_LEVEL": "WARNING"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "scripts/demo"], cwd=folder, env=demo_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(process, f"http://{address}", log)
        yield folder, address, terminal
    finally:
        stop(process)


def printed(folder: Path, label: str) -> str:
    """A value the demo printed on a line `label: value`."""
    for line in (folder / "demo.log").read_text().splitlines():
        if line.startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"the demo printed no {label!r}")
