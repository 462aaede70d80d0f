"""A real server for tests: gunicorn started through `scim-server serve`, on its own database.

Starting and stopping the process is conformance.server's job (the runner uses the
same code against a throwaway deployment); this module adds per-test organizations.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conformance.server import serving
from scim_server.persistence.db import Database
from scim_server.services import organizations

LIVE_SECRET_KEY = "live-server-secret-key-of-32-characters-or-more"
LIVE_METRICS_TOKEN = "live-server-metrics-token-of-32-characters"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    pid: int  # gunicorn's master
    metrics_dir: Path  # where the workers write their metrics (PROMETHEUS_MULTIPROC_DIR)

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the master's children (from /proc, Linux)."""
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":\t", 1)
                    for line in status.read_text().splitlines()
                    if ":\t" in line
                )
            except OSError:  # the process ended while the folder was read
                continue
            if int(fields.get("PPid", "0")) == self.pid:
                children.append(int(status.parent.name))
        return sorted(children)


def resident_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory in KiB: now (VmRSS), or at its peak (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"no {field} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """The CPU a process has used, user and system (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Start VmHWM over from the resident memory of now (Linux's clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass(frozen=True)
class RawAnswer:
    """An answer read off a socket: what httpx would refuse to send gets one too."""

    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes
    seconds: float


def send_raw(
    server: LiveServer, data: bytes, method: str = "GET", timeout: float = 30
) -> RawAnswer:
    """`data` written as it is to the server's socket; the answer, parsed by http.client."""
    parts = urlsplit(server.url)
    started = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # EPIPE, ECONNRESET, ENOTCONN: the server answered before it read it all
            pass  # read that answer
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            body = response.read()
        finally:
            response.close()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return RawAnswer(response.status, headers, body, time.perf_counter() - started)


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


@contextmanager
def running(
    database_url: str, folder: Path, workers: int = 2, threads: int | None = None
) -> Iterator[LiveServer]:
    env = {
        **os.environ,
        "SCIM_SERVER_DATABASE_URL": database_url,
        "SCIM_SERVER_LOG_LEVEL": "WARNING",
        # Seals OIDC client secrets and signs sign-in cookies (tests/test_oidc_live.py).
        "SCIM_SERVER_SECRET_KEY": LIVE_SECRET_KEY,
        # GET /metrics (tests/test_metrics_live.py), its files where the test can see them.
        "SCIM_SERVER_METRICS_TOKEN": LIVE_METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
    }
    with serving(env, folder, workers, threads) as served:
        yield LiveServer(served.url, database_url, served.pid, folder / "metrics")


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
