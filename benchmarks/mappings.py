"""How long a group mapping takes to plan and apply on a large directory (SEATS.md §5).

Not a test: run it on purpose, on an otherwise idle machine.

    python benchmarks/mappings.py                      # SQLite, 100,000 members
    python benchmarks/mappings.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The directory: `--users` members seeded as bench.py seeds them, of whom 60% hold chat,
15% chat_code and the rest no seat; a group "Everyone" of every member and a group
"Engineering" of one member in five. The mapping routes Engineering to chat_code (priority
10) and Everyone to chat, so applying it moves tens of thousands of members both ways.
Reported: `mappings plan` (dry run) and `mappings apply` wall time and peak memory of the
process, then a single-member PATCH of the mapped Engineering group through the service
(its re-evaluation costs the member named, not the group's size).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seed import prepare, seed_users
from sqlalchemy import insert, select, update

from conformance.server import throwaway_database
from scim_server.domain.plans import CATALOG
from scim_server.persistence.db import Database
from scim_server.persistence.models import (
    GroupMember,
    GroupRow,
    Organization,
    SeatAllocation,
    UserRow,
)
from scim_server.persistence.types import utcnow
from scim_server.scim.resources import name_key
from scim_server.services import group_mappings
from scim_server.services.audit import Actor
from scim_server.services.groups import GroupService
from scim_server.services.resources import Tenant, new_id

MAPPING = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: chat_code
    priority: 10
  - group: Everyone
    seat_type: chat
"""
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seat_everyone(db: Database, users: int) -> tuple[int, list[int]]:
    """Seats as a directory that has been running for a while holds them; member pks."""
    with db.unit_of_work(write=True) as session:
        org_pk = session.scalar(select(Organization.pk).where(Organization.slug == "bench"))
        assert org_pk is not None
        pks = list(
            session.scalars(
                select(UserRow.pk)
                .where(UserRow.org_pk == org_pk, UserRow.role == "member")
                .order_by(UserRow.pk)
            )
        )
        chat, code = pks[: users * 60 // 100], pks[users * 60 // 100 : users * 75 // 100]
        for seat_type, holders in (("chat", chat), ("chat_code", code)):
            for first in range(0, len(holders), 5000):
                batch = holders[first : first + 5000]
                session.execute(
                    update(UserRow).where(UserRow.pk.in_(batch)).values(seat_type=seat_type)
                )
        # Room for the moves: every member could hold either type.
        for seat_type, holders in (("chat", chat), ("chat_code", code)):
            session.execute(
                update(SeatAllocation)
                .where(SeatAllocation.org_pk == org_pk, SeatAllocation.seat_type == seat_type)
                .values(purchased=users, assigned=SeatAllocation.assigned + len(holders))
            )
    return org_pk, pks


def add_group(db: Database, org_pk: int, name: str, members: list[int]) -> str:
    now = utcnow()
    group_id = new_id()
    with db.unit_of_work(write=True) as session:
        row = GroupRow(
            id=group_id, org_pk=org_pk, display_name=name, display_name_key=name_key(name),
            data={}, created=now, last_modified=now, version=1,
        )  # fmt: skip
        session.add(row)
        session.flush()
        for first in range(0, len(members), 5000):
            rows = [{"group_pk": row.pk, "user_pk": pk} for pk in members[first : first + 5000]]
            session.execute(insert(GroupMember), rows)
    return group_id


def timed(action: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(database_url: str, users: int) -> dict[str, Any]:
    prepare(database_url)
    seed_users(database_url, users, log)
    db = Database(database_url)
    try:
        org_pk, pks = seat_everyone(db, users)
        add_group(db, org_pk, "Everyone", pks)
        engineering = add_group(db, org_pk, "Engineering", pks[::5])
        log("directory ready; planning")
        before = peak_mib()
        planned, plan_seconds = timed(lambda: group_mappings.preview_for(db, "bench", MAPPING))
        applied, apply_seconds = timed(lambda: group_mappings.apply_for(db, "bench", MAPPING))
        assert planned.plan == applied.plan
        tenant = Tenant(org_pk, CATALOG["enterprise"], Actor("scim_token", "bench", "scim"))
        service = GroupService(db, tenant, lambda kind, rid: f"/{kind}/{rid}")
        newcomer = _member_id(db, pks[1])  # in Everyone, not in Engineering
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": newcomer}]}],
        }
        _, patch_seconds = timed(lambda: service.patch(engineering, body, with_members=False))
        return {
            "database": db.dialect,
            "members": users,
            "engineering": len(pks[::5]),
            "moves": len(applied.plan.moves),
            "plan_seconds": round(plan_seconds, 2),
            "apply_seconds": round(apply_seconds, 2),
            "peak_rss_mib_before": round(before),
            "peak_rss_mib_after": round(peak_mib()),
            "mapped_group_patch_ms": round(patch_seconds * 1000, 1),
        }
    finally:
        db.dispose()


def _member_id(db: Database, pk: int) -> str:
    with db.unit_of_work() as session:
        member_id = session.scalar(select(UserRow.id).where(UserRow.pk == pk))
    assert member_id is not None
    return member_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (default: SQLite)"
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as folder,
        throwaway_database(Path(folder), args.database_url, "scim_mappings") as url,
    ):
        result = run(url, args.users)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
