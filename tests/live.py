"""A real server for tests: gunicorn started through `scim-server serve`, on its own database.

Starting and stopping the process is conformance.server's job (the runner uses the
same code against a throwaway deployment); this module adds per-test organizations.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.server import serving
from scim_server.persistence.db import Database
from scim_server.services import organizations

LIVE_SECRET_KEY = "live-server-secret-key-of-32-characters-or-more"
LIVE_METRICS_TOKEN = "live-server-metrics-token-of-32-characters"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    metrics_dir: Path  # where the workers write their metrics (PROMETHEUS_MULTIPROC_DIR)


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
def running(database_url: str, folder: Path, workers: int = 2) -> Iterator[LiveServer]:
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
    with serving(env, folder, workers) as url:
        yield LiveServer(url, database_url, folder / "metrics")


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
