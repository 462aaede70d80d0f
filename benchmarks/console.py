"""The console's Organization page at 100,000 members: server time per request (issue 19).

Not a test: run it on purpose, on an otherwise idle machine.

    python benchmarks/console.py                       # SQLite, 100,000 members
    python benchmarks/console.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The directory: `--users` members seeded as bench.py seeds them (the rows POST /Users
writes, bulk-inserted), of whom 60% hold chat, 15% chat_code and the rest no seat (as in
mappings.py); half have signed in, from 0 to 89 days ago. On PostgreSQL a `VACUUM ANALYZE`
follows, as autovacuum would. `scim-server serve --workers 1`
runs on it with the request log on; an owner signs in with a one-time link, then each
operation's requests go one at a time (after `--warmup` unmeasured ones).

Server time is what the request log records as `duration_ms` for the request (the app's
own clock, from before the first hook to after the last; found by the request id the
benchmark sends). The client's round trip over HTTP on 127.0.0.1 is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from load import user_name
from seed import cli, prepare, seed_users
from sqlalchemy import bindparam, update

from conformance.server import serving, throwaway_database
from mappings import seat_everyone
from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow
from scim_server.persistence.types import utcnow

PAGE = "/console/bench/organization"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROWS = re.compile(r'<tr id="member-')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def operations(users: int, rng: random.Random) -> dict[str, Callable[[], dict[str, str]]]:
    """Each operation's query string, drawn afresh for every request."""
    return {
        "first page": lambda: {},
        "search, an email's first 9 characters (~10 match)": lambda: {
            "q": user_name(rng.randrange(users))[:9]
        },
        "search, a common prefix (user00: 10% match)": lambda: {"q": "user00"},
        "filter, seat type chat_code (15%)": lambda: {"seat_type": "chat_code"},
        "filter, not signed in for 30 days (65%)": lambda: {"not_seen": "30"},
        "next page of chat_code": lambda: {"seat_type": "chat_code", "after": "{after}"},
    }


def signed_in_at(db: Database, pks: list[int]) -> None:
    """Half the members signed in, from 0 to 89 days ago; the others never did."""
    now = utcnow()
    statement = (
        update(UserRow)
        .where(UserRow.pk == bindparam("row_pk"))
        .values(last_sign_in_at=bindparam("seen"))
        .execution_options(synchronize_session=False)
    )
    seen = [{"row_pk": pk, "seen": now - timedelta(days=pk % 90)} for pk in pks[::2]]
    for first in range(0, len(seen), 5000):
        with db.unit_of_work(write=True) as session:
            session.connection().execute(statement, seen[first : first + 5000])


def sign_in(base: str, database_url: str) -> requests.Session:
    command = ["console", "link", "--org", "bench", "--email", "owner@bench.example", "--json"]
    link = json.loads(cli(database_url, *command))
    session = requests.Session()
    landing = session.get(base + link["path"], timeout=30)
    token = CSRF.search(landing.text)
    assert token is not None, landing.text[:500]
    answer = session.post(base + link["path"], data={"csrf_token": token.group(1)}, timeout=30)
    assert answer.status_code == 200 and "Sign out" in answer.text, answer.status_code
    return session


def measure(
    session: requests.Session,
    base: str,
    query: Callable[[], dict[str, str]],
    count: int,
    warmup: int,
    after: str,
) -> tuple[list[str], list[float]]:
    """Request ids (for the server's times) and client round trips in ms."""
    ids, client = [], []
    for i in range(warmup + count):
        params = {k: v.replace("{after}", after) for k, v in query().items()}
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        response = session.get(
            base + PAGE, params=params, headers={"X-Request-Id": request_id}, timeout=60
        )
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or not ROWS.search(response.text):
            raise SystemExit(f"{params}: {response.status_code}\n{response.text[:1000]}")
        if i >= warmup:
            ids.append(request_id)
            client.append(elapsed)
    return ids, client


def server_times(log_file: Path) -> dict[str, float]:
    found = {}
    for line in log_file.read_text().splitlines():
        if line.startswith("{") and '"duration_ms"' in line:
            entry = json.loads(line)
            found[entry["request_id"]] = float(entry["duration_ms"])
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def first_chat_code_cursor(session: requests.Session, base: str) -> str:
    """A cursor into chat_code's list, from its first page's Next link."""
    page = session.get(base + PAGE, params={"seat_type": "chat_code"}, timeout=60).text
    found = re.search(r'rel="next" href="[^"]*after=([^"&]+)', page)
    assert found is not None
    return found.group(1)


def run(database_url: str, users: int, count: int, warmup: int, folder: Path) -> dict[str, Any]:
    prepare(database_url)
    seed_users(database_url, users, log)
    db = Database(database_url)
    try:
        _, pks = seat_everyone(db, users)
        signed_in_at(db, pks)
        dialect = db.dialect
        if dialect == "postgresql":
            # Autovacuum would do this within a minute of the bulk updates; do it now so that
            # every run measures the same plans and a visibility map (index-only scans).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE users")
    finally:
        db.dispose()
    log("directory ready; starting the server (one worker)")
    env = {
        **os.environ,
        "SCIM_SERVER_DATABASE_URL": database_url,
        "SCIM_SERVER_LOG_LEVEL": "INFO",
        "SCIM_SERVER_SECRET_KEY": "benchmark-secret-key-of-32-characters-or-more",
    }
    rng = random.Random(19)
    results: dict[str, Any] = {"database": dialect, "members": users, "requests": count}
    results["load_average_before"] = round(os.getloadavg()[0], 2)
    with serving(env, folder, workers=1) as served:
        base = served.url
        session = sign_in(base, database_url)
        after = first_chat_code_cursor(session, base)
        measured = {}
        for name, query in operations(users, rng).items():
            measured[name] = measure(session, base, query, count, warmup, after)
            log(f"  {name}: done")
        times = server_times(folder / "gunicorn.log")
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    for name, (ids, client) in measured.items():
        server = [times[i] for i in ids]
        results[name] = {
            "server_p50_ms": round(statistics.median(server), 2),
            "server_p99_ms": round(percentile(server, 0.99), 2),
            "client_p50_ms": round(statistics.median(client), 2),
            "client_p99_ms": round(percentile(client, 0.99), 2),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="measured, per operation")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (default: SQLite)"
    )
    parser.add_argument("--out", default="benchmarks/results/console-latest.json")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as folder,
        throwaway_database(Path(folder), args.database_url, "scim_console") as url,
    ):
        result = run(url, args.users, args.requests, args.warmup, Path(folder))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['database']}, {result['members']:,} members, {args.requests} requests each; "
        f"load average {result['load_average_before']} before, {result['load_average_after']} after"
    )
    print(f"{'operation':<52} {'server p50':>10} {'p99':>8} {'client p50':>11} {'p99':>8}")
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(
                f"{name:<52} {figures['server_p50_ms']:>10} {figures['server_p99_ms']:>8} "
                f"{figures['client_p50_ms']:>11} {figures['client_p99_ms']:>8}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
