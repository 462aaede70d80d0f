"""python -m conformance: scim2-tester and the Okta/Entra replays against a SCIM deployment.

  python -m conformance --url https://scim.example.com/scim/v2 --token TOKEN
  python -m conformance --start [--database-url postgresql+psycopg://postgres@127.0.0.1/postgres]

Prints one line per check and a summary; exits 0 only when every scim2-tester result is
SUCCESS and every replay passes. Point --url at an organization kept for testing: the
replays leave the users and groups they create behind (scim2-tester deletes its own).
The token may also come from SCIM_CONFORMANCE_TOKEN, to keep it out of the process list.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from .checks import Outcome, Target, outcome_of, replays, scim2_tester
from .server import StartError, started


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m conformance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = root.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the deployment's SCIM base URL, ending in /scim/v2")
    where.add_argument(
        "--start", action="store_true", help="start a throwaway server under gunicorn and check it"
    )
    root.add_argument(
        "--token",
        default=os.environ.get("SCIM_CONFORMANCE_TOKEN"),
        help="a SCIM bearer token of the organization (default: $SCIM_CONFORMANCE_TOKEN)",
    )
    root.add_argument(
        "--database-url",
        help="with --start: a PostgreSQL server to create the temporary database on "
        "(default: a temporary SQLite file)",
    )
    return root


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    if args.url and not args.token:
        parser().error("--url needs --token (or SCIM_CONFORMANCE_TOKEN)")
    if args.database_url and not args.start:
        parser().error("--database-url is for --start")
    if not args.start:
        return report(run(Target(args.url.rstrip("/"), args.token)), out)
    try:
        with started(args.database_url) as target:
            print(f"started {target.base}", file=out, flush=True)
            return report(run(target), out)
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(target: Any) -> Iterator[Outcome]:
    from .idp import REPLAYS

    yield from (outcome_of(result) for result in scim2_tester(target))
    yield from replays(target, REPLAYS)


def report(outcomes: Iterable[Outcome], out: TextIO) -> int:
    """One line per outcome as it comes, the failures' reasons in full, then the counts."""
    seen: list[Outcome] = []
    for outcome in outcomes:
        seen.append(outcome)
        print(line(outcome), file=out, flush=True)
    failed = [o for o in seen if not o.passed]
    print(file=out)
    print(summary(seen, "scim2-tester"), file=out)
    print(summary(seen, "replay"), file=out)
    print(f"conformance: {len(seen) - len(failed)} passed, {len(failed)} failed", file=out)
    return 0 if seen and not failed else 1


def line(outcome: Outcome) -> str:
    first, _, rest = outcome.detail.strip().partition("\n")
    text = f"{outcome.status:<10} {outcome.suite:<12} {outcome.name}"
    if first:
        text += f": {first}"
    if rest and not outcome.passed:
        text += "\n" + "\n".join(f"    {part}" for part in rest.splitlines())
    return text


def summary(outcomes: list[Outcome], suite: str) -> str:
    counts = Counter(o.status for o in outcomes if o.suite == suite)
    total = sum(counts.values())
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{suite}: {total} run" + (f" ({parts})" if parts else "")
