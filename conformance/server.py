"""`--start`: a throwaway deployment, set up with the operator's own commands.

A temporary database (a SQLite file, or a new database on the PostgreSQL server that
--database-url names), `scim-server db upgrade`, `scim-server org create --json`, then
`scim-server serve --workers 2` on a free local port: the path an operator takes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .checks import Target

READY_SECONDS = 60


class StartError(RuntimeError):
    """The server could not be set up; the message says which step and shows its output."""


@contextmanager
def started(postgres_url: str | None = None, workers: int = 2) -> Iterator[Target]:
    """A running server with one new organization; stopped and its database dropped after."""
    with (
        tempfile.TemporaryDirectory(prefix="scim-conformance-") as folder,
        throwaway_database(Path(folder), postgres_url) as database_url,
    ):
        env = {
            **os.environ,
            "SCIM_SERVER_DATABASE_URL": database_url,
            "SCIM_SERVER_INSTANCE_PATH": folder,
            "SCIM_SERVER_LOG_LEVEL": "WARNING",
        }
        _command(env, "db", "upgrade")
        token = _create_organization(env)
        with serving(env, Path(folder), workers) as served:
            yield Target(f"{served.url}/scim/v2", token)


def _command(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "scim_server.cli", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StartError(f"scim-server {' '.join(args[:2])} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def _create_organization(env: dict[str, str]) -> str:
    slug = f"conformance-{uuid.uuid4().hex[:8]}"
    output = _command(
        env,
        *("org", "create", "--name", "Conformance", "--slug", slug, "--plan", "enterprise"),
        *("--seats", "chat=50,chat_code=20", "--owner-email", f"owner@{slug}.example", "--json"),
    )
    return str(json.loads(output)["scim_token"])


@dataclass(frozen=True)
class Served:
    url: str
    pid: int  # gunicorn's master; its workers are its children


@contextmanager
def serving(
    env: dict[str, str], folder: Path, workers: int, threads: int | None = None
) -> Iterator[Served]:
    """`scim-server serve` on a free local port until the block ends; `threads` per worker,
    or as serve chooses for the database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "gunicorn.log"
    command = [sys.executable, "-m", "scim_server.cli", "serve"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--threads", str(threads)] if threads else []
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(process, url, log)
        # `scim-server serve` execs gunicorn: the process started is gunicorn's master.
        yield Served(url, process.pid)
    finally:
        stop(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            # gunicorn listens before its workers have loaded the app: not ready yet.
            pass
        time.sleep(0.2)
    raise StartError(f"gunicorn was not ready in {READY_SECONDS} s:\n{log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def throwaway_database(
    folder: Path, postgres_url: str | None, prefix: str = "scim_conformance"
) -> Iterator[str]:
    """A SQLite file in `folder`, or a new database on that PostgreSQL server, dropped after."""
    if postgres_url is None:
        yield f"sqlite:///{folder / f'{prefix}.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(postgres_url)
    if not server.drivername.startswith("postgresql"):
        raise StartError(f"--database-url must name a PostgreSQL server, not {server.drivername}")
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
