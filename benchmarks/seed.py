"""Fresh databases and seeded tenants for both servers.

scim-server's users are seeded without HTTP, for speed: each goes through the server's own
request validation and `user_columns` (so the rows hold what POST /Users would write) and
the rows are bulk-INSERTed with SQLAlchemy core. scim2-server keeps its data in the memory
of its gunicorn worker, so its users are created over HTTP. Both servers get their groups
by POST /Groups, the 50,000 members in one request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from load import Target, group_payload, user_name, user_payload
from scim2_models import Context
from sqlalchemy import insert, select, text

from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow
from scim_server.persistence.repositories import OrganizationRepository
from scim_server.persistence.types import utcnow
from scim_server.scim.requests import normalize_user_payload, validate
from scim_server.scim.resources import user_columns
from scim_server.scim.schema import UserModel
from scim_server.services.resources import new_id

BATCH = 2000
SMALL_GROUP = 10


def cli(database_url: str, *args: str) -> str:
    """`scim-server ...` as an operator runs it, on the benchmark's database."""
    env = {**os.environ, "SCIM_SERVER_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "scim_server.cli", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def prepare(database_url: str) -> dict[str, Any]:
    """Migrate, then create the organization through the CLI; returns its SCIM token."""
    cli(database_url, "db", "upgrade")
    created = json.loads(
        cli(
            database_url, "org", "create", "--name", "Bench", "--slug", "bench",
            "--plan", "enterprise", "--seats", "chat=50,chat_code=20",
            "--owner-email", "owner@bench.example", "--json",
        )
    )  # fmt: skip
    return {"slug": "bench", "token": created["scim_token"]}


def user_row(i: int) -> dict[str, Any]:
    """The row POST /Users writes for user i: same validation, same columns, same stamps."""
    body = normalize_user_payload(user_payload(user_name(i), i))
    model = validate(UserModel, body, Context.RESOURCE_CREATION_REQUEST)
    now = utcnow()
    return {
        **user_columns(model),
        "id": new_id(),
        "created": now,
        "last_modified": now,
        "version": 1,
    }


def seed_users(database_url: str, users: int, log: Any) -> list[str]:
    """Insert the users; their ids in creation order."""
    db = Database(database_url)
    try:
        with db.unit_of_work() as session:
            org = OrganizationRepository(session).by_slug("bench")
            assert org is not None
            org_pk = org.pk
        started = time.monotonic()
        for first in range(0, users, BATCH):
            rows = [
                {**user_row(i), "org_pk": org_pk} for i in range(first, min(users, first + BATCH))
            ]
            with db.unit_of_work(write=True) as session:
                session.execute(insert(UserRow), rows)
            log(f"  users {first + len(rows):,}/{users:,} ({time.monotonic() - started:.0f} s)")
        with db.unit_of_work() as session:
            query = (
                select(UserRow.id)
                .where(UserRow.org_pk == org_pk, UserRow.role == "member")
                .order_by(UserRow.pk)
            )
            ids = list(session.scalars(query))
        if db.dialect == "postgresql":
            # Autovacuum would analyze the bulk-loaded tables within a minute; do it now so
            # that every run measures the same plans.
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        db.dispose()
    return ids


def target_for_scim_server(
    base: str, token: str, ids: list[str], big: int, log: Any, url: str | None = None
) -> Target:
    started = time.monotonic()
    with requests.Session() as session:
        groups = create_groups(session, base, _headers(token), ids, big)
    log(f"  groups of {big:,} and {SMALL_GROUP} members ({time.monotonic() - started:.0f} s)")
    if url is not None and url.startswith("postgresql"):
        vacuum(url, log)
    return Target(
        label="scim-server",
        base=base,
        token=token,
        user_names=[user_name(i) for i in range(len(ids))],
        user_count=len(ids) + 1,  # and the owner created with the organization
        groups=groups,
        group_sizes={"big": big, "small": SMALL_GROUP},
        outsiders={"big": ids[big:], "small": ids[SMALL_GROUP:]},
        notes=[
            "users seeded without HTTP: bulk INSERT of the rows the server's own code builds",
            "groups created by POST /Groups",
        ],
    )


def vacuum(url: str, log: Any) -> None:
    """VACUUM ANALYZE the bulk-loaded tables, as autovacuum would within minutes of the
    load (100,000 users, 50,000 memberships): measured without it, the first minutes of a
    run share the 2 cores with autovacuum's first pass over them."""
    started = time.monotonic()
    db = Database(url)
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        db.dispose()
    log(f"  VACUUM ANALYZE ({time.monotonic() - started:.0f} s)")


def create_groups(
    session: requests.Session, base: str, headers: dict[str, str], ids: list[str], big: int
) -> dict[str, str]:
    """The big group and the 10-member group, one POST /Groups each; their ids."""
    found = {}
    for key, name, members in (
        ("big", "Big group", ids[:big]),
        ("small", "Small group", ids[:SMALL_GROUP]),
    ):
        body = json.dumps(group_payload(name, members))
        response = session.post(f"{base}/Groups", data=body, headers=headers, timeout=300)
        response.raise_for_status()
        found[key] = str(response.json()["id"])
    return found


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}


def seed_over_http(base: str, token: str, users: int, big: int, threads: int, log: Any) -> Target:
    """scim2-server: users by POST /Users, groups by POST /Groups, as an IdP would."""
    headers = _headers(token)
    sessions = [requests.Session() for _ in range(threads)]

    def create(i: int) -> str:
        session = sessions[i % threads]
        body = json.dumps(user_payload(user_name(i), i))
        response = session.post(f"{base}/Users", data=body, headers=headers, timeout=60)
        response.raise_for_status()
        return str(response.json()["id"])

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(create, range(users)))
    log(f"  users {users:,} over HTTP ({time.monotonic() - started:.0f} s)")
    group_ids = create_groups(sessions[0], base, headers, ids, big)
    log(f"  groups of {big:,} and {SMALL_GROUP} members ({time.monotonic() - started:.0f} s)")
    for session in sessions:
        session.close()
    return Target(
        label="scim2-server",
        base=base,
        token=token,
        user_names=[user_name(i) for i in range(users)],
        user_count=users,
        groups=group_ids,
        group_sizes={"big": big, "small": SMALL_GROUP},
        outsiders={"big": ids[big:], "small": ids[SMALL_GROUP:]},
        notes=["seeded over HTTP (its storage lives in the worker's memory)"],
    )
