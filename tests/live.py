"""A real server: gunicorn started through `scim-server serve`, on its own database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from scim_server.persistence.db import Database
from scim_server.services import organizations


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    log: Path


@dataclass(frozen=True)
class ScimTarget:
    """One organization on a live server: what an IdP is configured with."""

    base: str  # .../scim/v2
    token: str
    slug: str
    owner_api_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    database_url: str, folder: Path, workers: int = 2
) -> tuple[subprocess.Popen[bytes], LiveServer]:
    port = free_port()
    log = folder / f"gunicorn-{port}.log"
    env = {
        **os.environ,
        "SCIM_SERVER_DATABASE_URL": database_url,
        "SCIM_SERVER_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "scim_server.cli",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, log)
    _wait_ready(process, server)
    return process, server


def _wait_ready(process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.log.read_text()[-2000:]}")
        try:
            if requests.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            # gunicorn listens before its workers have imported the app: a first answer
            # slower than the probe's timeout is "not ready yet", not a failure.
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not become ready: {server.log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def new_organization(
    server: LiveServer, plan: str = "enterprise", seats: str = "chat=50,chat_code=20"
) -> ScimTarget:
    """A fresh organization per test, so tests never see each other's users."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    counts = {name: int(n) for name, n in (item.split("=") for item in seats.split(","))}
    db = Database(server.database_url)
    try:
        created = organizations.create(
            db, f"Test {slug}", slug, plan, counts, f"owner@{slug}.example"
        )
    finally:
        db.dispose()
    return ScimTarget(f"{server.url}/scim/v2", created.scim_token, slug, created.owner_api_token)
