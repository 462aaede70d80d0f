"""CPU per request of one operation, in-process: for finding where a request's time goes.

    python benchmarks/cpu.py filter|patch|create [--users 2000] [--requests 500] [--profile]
                             [--reference]

Seeds a throwaway SQLite database (or, with `--database-url`, a throwaway database on that
PostgreSQL server) as bench.py does, then sends the operation's requests
through Flask's test client (no HTTP, no gunicorn) and reports the process's CPU time per
request: the lowest and the median of blocks of 25, since other work on the machine only
ever adds to it. `--profile` then prints cProfile's top functions for the same requests.
`--reference` also sends the same requests to scim2-server (in memory, the app bench.py
serves, seeded through its own test client) right after, so the two are compared on the
same machine at the same moment. Compare two versions of the code the same way, one
right after the other.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import load
import seed
from werkzeug.test import Client

from conformance.server import throwaway_database
from scim_server.app import create_app

BLOCK = 25


def operations(
    client: Any, token: str, ids: list[str], group: str
) -> dict[str, Callable[[int], Any]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    run = f"{time.time():.0f}"

    def filter_(k: int) -> Any:
        query = {"filter": f'userName eq "{load.user_name(k % len(ids))}"'}
        return client.get("/scim/v2/Users", query_string=query, headers=headers)

    def patch(k: int) -> Any:
        body = load.member_patch("add" if k % 2 == 0 else "remove", ids[10 + (k // 2) % 100])
        return client.patch(f"/scim/v2/Groups/{group}", data=json.dumps(body), headers=headers)

    def create(k: int) -> Any:
        body = load.user_payload(f"cpu-{run}-{k}@bench.example", k)
        return client.post("/scim/v2/Users", data=json.dumps(body), headers=headers)

    return {"filter": filter_, "patch": patch, "create": create}


def measure(send: Callable[[int], Any], requests: int, first: int) -> list[float]:
    """CPU milliseconds per request, per block of BLOCK requests, sorted."""
    blocks = []
    for start in range(first, first + requests, BLOCK):
        began = time.process_time()
        for k in range(start, start + BLOCK):
            response = send(k)
            assert response.status_code < 300, response.get_data(as_text=True)
        blocks.append((time.process_time() - began) * 1000 / BLOCK)
    return sorted(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("operation", choices=["filter", "patch", "create"])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--reference", action="store_true", help="scim2-server too")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (default: a SQLite file)"
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="scim-cpu-") as folder,
        throwaway_database(Path(folder), args.database_url, "scim_cpu") as url,
    ):
        token = seed.prepare(url)["token"]
        ids = seed.seed_users(url, args.users, lambda _line: None)
        app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        created = client.post(
            "/scim/v2/Groups", data=json.dumps(load.group_payload("Ten", ids[:10])), headers=headers
        )
        sends = {"scim-server": operations(client, token, ids, created.get_json()["id"])}
        if args.reference:
            sends["scim2-server"] = reference(args.users)
        gc.freeze()  # as a worker does once the app is loaded (scim_server/wsgi.py)
        report({label: ops[args.operation] for label, ops in sends.items()}, args)
        app.extensions["scim_db"].dispose()
    return 0


def report(sends: dict[str, Callable[[int], Any]], args: argparse.Namespace) -> None:
    """Blocks of each server in turn, so that a slower moment of the machine hits both."""
    blocks: dict[str, list[float]] = {label: [] for label in sends}
    for send in sends.values():
        measure(send, 2 * BLOCK, 0)  # warm up: caches, compiled statements, the pool
    for start in range(10_000, 10_000 + args.requests, BLOCK):
        for label, send in sends.items():
            blocks[label] += measure(send, BLOCK, start)
    for label, times in blocks.items():
        times.sort()
        print(
            f"{label} {args.operation}: {times[0]:.2f} ms CPU per request (lowest block), "
            f"{times[len(times) // 2]:.2f} (median), {args.requests} requests in-process"
        )
    if args.profile:
        for label, send in sends.items():
            print(f"--- {label}")
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
            profiler.runcall(measure, send, args.requests, 100_000)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats(
                os.environ.get("SORT", "cumulative")
            ).print_stats(40)


def reference(users: int) -> dict[str, Callable[[int], Any]]:
    """scim2-server in memory, seeded with `users` users and a 10-member group."""
    import reference_app

    client = Client(reference_app.create_app())
    headers = {
        "Authorization": f"Bearer {reference_app.TOKEN}",
        "Content-Type": "application/scim+json",
    }
    ids = []
    for i in range(users):
        body = json.dumps(load.user_payload(load.user_name(i), i))
        response = client.post("/Users", data=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids.append(json.loads(response.get_data())["id"])
    group = client.post(
        "/Groups", data=json.dumps(load.group_payload("Ten", ids[:10])), headers=headers
    )
    return operations(
        _Prefixed(client), reference_app.TOKEN, ids, json.loads(group.get_data())["id"]
    )


class _Prefixed:
    """scim2-server serves at the root: strip our /scim/v2 prefix from each path."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __getattr__(self, method: str) -> Callable[..., Any]:
        def send(path: str, **kwargs: Any) -> Any:
            return getattr(self.client, method)(path.removeprefix("/scim/v2"), **kwargs)

        return send


if __name__ == "__main__":
    sys.exit(main())
