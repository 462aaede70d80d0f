"""scim-server at 100,000 users against scim2-server (in memory) at 3,000, over real HTTP.

    python benchmarks/bench.py [--users 100000] [--big-group 50000] [--database-url URL]
                               [--requests 1000] [--rounds 6] [--concurrency 4] [--out FILE]

Both servers run under gunicorn with one worker; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import load
import reference_app
import requests
import seed

from conformance.server import stop, throwaway_database
from scim_server.cli import default_threads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# A seeded server to measure: its workload target and its gunicorn arbiter's pid.
Served = tuple[load.Target, int]
# Client threads of the rounds at a fixed rate: enough that a stalled server leaves some
# free to send what falls due meanwhile.
RATE_THREADS = 16
# (result, worker CPU seconds, load average before) of one round.
Round = tuple[load.Result, float, float]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--big-group", type=int, default=50_000)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server: a throwaway database is created on it"
    )
    parser.add_argument("--requests", type=int, default=1000, help="per round, at --concurrency")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument(
        "--rounds", type=int, default=6, help="runs of --requests per operation and server"
    )
    parser.add_argument(
        "--latency-requests", type=int, default=500, help="per operation, one thread"
    )
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured requests per operation")
    parser.add_argument(
        "--rate-share", type=float, default=0.5,
        help="the fixed rate: this share of the slower server's requests/s (0: not measured)",
    )  # fmt: skip
    parser.add_argument(
        "--rate-round-seconds", type=float, default=8,
        help="at most this long per round at the fixed rate (and --requests)",
    )  # fmt: skip
    parser.add_argument("--reference-users", type=int, default=3000)
    parser.add_argument("--reference-big-group", type=int, help="default: the same share of users")
    parser.add_argument(
        "--cap-seconds", type=float, default=120,
        help="time cap per operation and server, shared by the rounds",
    )  # fmt: skip
    parser.add_argument(
        "--settle-seconds", type=float, default=90, help="at most this long, wait for load < 1"
    )
    parser.add_argument(
        "--threads", type=int,
        help="scim-server's threads in its worker (default: as `scim-server serve` chooses, "
        "4 on PostgreSQL, 1 on SQLite); scim2-server has one",
    )  # fmt: skip
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.reference_big_group is None:
        args.reference_big_group = args.reference_users * args.big_group // args.users
    outsiders = args.users - args.big_group, args.reference_users - args.reference_big_group
    if min(outsiders) < load.LANES * max(args.concurrency, RATE_THREADS):
        parser.error(
            f"the big groups must leave at least {load.LANES} x {RATE_THREADS} users outside them"
        )
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.threads is None:
        args.threads = default_threads(args.database_url or "sqlite")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def settle(seconds: float) -> None:
    """Wait, at most `seconds`, for the machine to be idle: other work skews latencies."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] > 1.0 and time.monotonic() < deadline:
        time.sleep(5)
    log(f"  load average {os.getloadavg()[0]:.2f} at the start of the measurements")


def measure(
    targets: list[tuple[load.Target, int]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Each operation on every server in turn, in rounds, so that the machine's drift hits
    them alike.

    The CPU time of the same code drifts by up to 30% over minutes on this machine, and
    its disk's latency from one quarter of an hour to the next; measured one server after
    the other (twenty minutes apart), the comparison measured the drift. So each
    operation runs `--rounds` times on each server, the order alternating from round to
    round and from one operation to the next (A B, B A, A B...), and a server's rounds are
    pooled: its p99 is that of all their requests. One run's p99 is its 20th slowest of
    2,000 requests, which a single stall of the machine's moves. The operations of a
    group (the two PATCHes, whose costs the targets compare) interleave the same way.
    Then the same rounds again, at one fixed rate for both servers (`--rate-share` of the
    slower one's requests/s), which is where their latencies are compared.
    """
    settle(args.settle_seconds)
    results: list[dict[str, Any]] = [{} for _ in targets]
    for index, group in enumerate(load.OPERATIONS):
        operations = {
            key: [operation_class(key, target, args.concurrency) for target, _ in targets]
            for key, _label, operation_class in group
        }
        for per_server in operations.values():
            for operation in per_server:
                load.run(operation, args.warmup, args.concurrency, args.cap_seconds)
        saturated = in_rounds(operations, targets, index, args, measure_round)
        # The same operations at one fixed rate for both servers, half the slower one's
        # requests/s (see load.run_at_rate): latency compared under the same load.
        paced: dict[str, list[Any]] = {}
        at_rate: dict[tuple[str, int], list[Round]] = {}
        if args.rate_share > 0:
            rates = {
                key: args.rate_share
                * min(pooled(saturated[key, i]).requests_per_s for i in range(len(targets)))
                for key in operations
            }
            paced = {
                key: [operation_class(key, target, RATE_THREADS, lane=1) for target, _ in targets]
                for key, _label, operation_class in group
            }
            at_rate = in_rounds(paced, targets, index, args, partial(paced_round, rates))
        for key, label, _operation_class in group:
            for i, (target, _) in enumerate(targets):
                results[i][key] = summarize(
                    [operations[key][i], *(paced[key][i:i + 1] if paced else [])],
                    target, saturated[key, i], at_rate.get((key, i), []), key, label, args,
                )  # fmt: skip
    return results


def in_rounds(
    operations: dict[str, list[Any]],
    targets: list[tuple[load.Target, int]],
    index: int,
    args: argparse.Namespace,
    one_round: Any,
) -> dict[tuple[str, int], list[Round]]:
    """`--rounds` rounds of each (operation, server) pair in turn, the order reversed from
    round to round and from one group of operations to the next."""
    units = [(key, i) for key in operations for i in range(len(targets))]
    rounds: dict[tuple[str, int], list[Round]] = {unit: [] for unit in units}
    for round_number in range(args.rounds):
        for key, i in units if (index + round_number) % 2 == 0 else units[::-1]:
            rounds[key, i].append(one_round(operations[key][i], targets[i][1], args))
    return rounds


def paced_round(
    rates: dict[str, float], operation: Any, arbiter: int, args: argparse.Namespace
) -> Round:
    """One round at the operation's fixed rate, of at most --rate-round-seconds."""
    rate = rates[operation.name]
    total = max(1, min(args.requests, round(rate * args.rate_round_seconds)))
    return measure_round(operation, arbiter, args, rate=rate, total=total)


def measure_round(
    operation: Any,
    arbiter: int,
    args: argparse.Namespace,
    rate: float | None = None,
    total: int | None = None,
) -> Round:
    """One round, saturating or at `rate`: its result, the worker's CPU seconds and the load
    average."""
    cpu, load_before = worker_cpu_seconds(arbiter), os.getloadavg()[0]
    cap = args.cap_seconds / args.rounds
    if rate is None:
        loaded = load.run(operation, args.requests, args.concurrency, cap)
    else:
        loaded = load.run_at_rate(operation, total or args.requests, rate, cap)
    return loaded, worker_cpu_seconds(arbiter) - cpu, load_before


def pooled(rounds: list[Round]) -> load.Result:
    return load.pooled([result for result, _, _ in rounds])


def pooled_summary(rounds: list[Round]) -> dict[str, Any]:
    """The rounds' requests pooled, with the worker's CPU per request and each round's figures.

    CPU time the worker spent per request: what the server costs, whatever else the
    machine was doing; the load average says how busy it was with other work.
    """
    summary = pooled(rounds).summary()
    cpu = sum(seconds for _, seconds, _ in rounds)
    summary["worker_cpu_ms"] = round(cpu * 1000 / max(1, summary["requests"]), 2)
    summary["loadavg_1min"] = [round(before, 2) for _, _, before in rounds]
    summary["rounds"] = [
        {k: r.summary()[k] for k in ("requests", "requests_per_s", "p50_ms", "p99_ms")}
        for r, _, _ in rounds
    ]
    return summary


def summarize(
    operations: list[Any],
    target: load.Target,
    rounds: list[Round],
    paced: list[Round],
    key: str,
    label: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One operation on one server: saturated (`loaded`), at the fixed rate, and alone."""
    result: dict[str, Any] = {"label": label, "loaded": pooled_summary(rounds)}
    loaded = result["loaded"]
    line = f"  {target.label:<13} {key:<12} {loaded['requests_per_s']:>8} req/s"
    line += f"  p99 {loaded['p99_ms']} ms"
    line += " (rounds " + " / ".join(str(r["p99_ms"]) for r in loaded["rounds"]) + ")"
    if paced:
        result["at_rate"] = pooled_summary(paced)
        line += (
            f"  at {result['at_rate']['requests_per_s']} req/s p99 {result['at_rate']['p99_ms']}"
        )
    if args.latency_requests:
        alone = load.run(operations[0], args.latency_requests, 1, args.cap_seconds)
        result["alone"] = alone.summary()
        line += f"  alone p99 {alone.summary()['p99_ms']}"
    line += f"  cpu {loaded['worker_cpu_ms']} ms"
    if isinstance(operations[0], load.PatchMembers):
        result["membership_check"] = check_membership(target, operations)
    log(line)
    return result


def worker_cpu_seconds(arbiter: int) -> float:
    """User + system CPU time of a gunicorn arbiter's workers, from /proc."""
    total = 0.0
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def check_membership(target: load.Target, operations: list[load.PatchMembers]) -> str:
    """The PATCHes really changed the group: it holds the members they leave it with."""
    group = operations[0].group
    url = f"{target.base}/Groups/{target.groups[group]}"
    response = requests.get(url, headers=target.headers, timeout=300)
    response.raise_for_status()
    found = len(response.json().get("members") or [])
    wanted = target.group_sizes[group] + sum(op.left_added() for op in operations)
    return "ok" if found == wanted else f"FAILED: {found} members, expected {wanted}"


def start(
    command: list[str], ready_url: str, log_file: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start a gunicorn and wait until `ready_url` answers (the worker loads for a while)."""
    with log_file.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[3:]} exited: {log_file.read_text()[-2000:]}")
        try:
            if requests.get(ready_url, timeout=5).status_code < 500:
                return process
        except requests.RequestException:  # not listening yet, or the worker still loading
            pass
        time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"{command[3:]} did not start: {log_file.read_text()[-2000:]}")


def start_scim_server(
    database_url: str, folder: Path, threads: int
) -> tuple[subprocess.Popen[bytes], str]:
    """`scim-server serve --workers 1`, logging warnings only, as tests/live.py runs it."""
    port = free_port()
    env = {
        **os.environ,
        "SCIM_SERVER_DATABASE_URL": database_url,
        "SCIM_SERVER_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "scim_server.cli", "serve",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(threads),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = start(command, f"{url}/readyz", folder / "scim-server.log", env)
    return process, f"{url}/scim/v2"


def start_reference(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """scim2-server's app (reference_app.py) under gunicorn with one worker.

    Like `scim-server serve`, without gunicorn's access log: pointed at /dev/null it
    would still format a line per request (6% of a create's CPU)."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--error-logfile", "-",
        "--pythonpath", str(HERE), "reference_app:app",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}/v2"
    process = start(
        command, f"{base}/ServiceProviderConfig", folder / "scim2-server.log", dict(os.environ)
    )
    return process, base


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scim_server(args: argparse.Namespace, folder: Path) -> Iterator[tuple[Served, dict[str, Any]]]:
    with throwaway_database(folder, args.database_url, prefix="scim_bench") as url:
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        log(f"scim-server ({backend}): migrating, creating the organization, seeding")
        tenant = seed.prepare(url)
        started = time.monotonic()
        ids = seed.seed_users(url, args.users, log)
        process, base = start_scim_server(url, folder, args.threads)
        try:
            target = seed.target_for_scim_server(
                base, tenant["token"], ids, args.big_group, log, url
            )
            yield (
                (target, process.pid),
                {
                    "server": "scim-server",
                    "backend": backend,
                    "database_version": database_version(url),
                    "users": args.users,
                    "big_group": args.big_group,
                    "seed_seconds": round(time.monotonic() - started, 1),
                    "notes": target.notes,
                },
            )
        finally:
            stop(process)


@contextmanager
def reference(args: argparse.Namespace, folder: Path) -> Iterator[tuple[Served, dict[str, Any]]]:
    log("scim2-server (memory): starting, seeding over HTTP")
    process, base = start_reference(folder)
    try:
        started = time.monotonic()
        target = seed.seed_over_http(
            base, reference_app.TOKEN, args.reference_users, args.reference_big_group,
            args.concurrency, log,
        )  # fmt: skip
        yield (
            (target, process.pid),
            {
                "server": f"scim2-server {version('scim2-server')}",
                "backend": "memory",
                "users": args.reference_users,
                "big_group": args.reference_big_group,
                "seed_seconds": round(time.monotonic() - started, 1),
                "notes": target.notes,
            },
        )
    finally:
        stop(process)


def database_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = str(conn.execute(text("SHOW server_version")).scalar())
    engine.dispose()
    return f"PostgreSQL {found}"


def machine() -> dict[str, Any]:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )  # fmt: skip
    commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "scim_server"):
        commit += " with uncommitted changes to scim_server/"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "scim_server_commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    import report

    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scim-bench-") as tmp, ExitStack() as servers:
        folder = Path(tmp)
        started = [servers.enter_context(scim_server(args, folder))]
        if not args.skip_reference:
            started.append(servers.enter_context(reference(args, folder)))
        log("measuring: each operation on " + " and ".join(s[1]["server"] for s in started))
        measured = measure([served for served, _ in started], args)
        runs = zip(started, measured, strict=True)
        ours, *others = [{**info, "operations": operations} for (_, info), operations in runs]
        reference_results = others[0] if others else None
    results = {
        "machine": machine(),
        "settings": {
            "requests": args.requests,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "latency_requests": args.latency_requests,
            "warmup": args.warmup,
            "rate_share": args.rate_share,
            "rate_round_seconds": args.rate_round_seconds,
            "rate_threads": RATE_THREADS,
            "workers": 1,
            "threads": args.threads,
        },
        "servers": [s for s in (ours, reference_results) if s],
    }
    results["targets"] = report.targets(ours, reference_results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results))
    print(f"\nresults written to {args.out}")
    return 1 if report.errors(results) else 0


if __name__ == "__main__":
    sys.exit(main())
