"""SEATS.md §2, the invariant: racing requests on a multi-worker server never over-give seats.

A real gunicorn with four worker processes, on SQLite and on PostgreSQL; requests are
fired from many threads at once, so the workers' transactions truly overlap.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from scim_server.persistence.db import Database
from scim_server.persistence.models import Organization, SeatAllocation, UserRow
from scim_server.services import group_mappings

from . import live
from .databases import create_postgres, create_sqlite, drop_postgres, wanted_backends

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SEAT = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAPPING = "plan: enterprise\nrules:\n  - group: Engineering\n    seat_type: chat_code\n"
THREADS = 16

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=wanted_backends())
def busy_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[live.LiveServer]:
    folder = tmp_path_factory.mktemp(f"busy-{request.param}")
    url = create_sqlite(folder) if request.param == "sqlite" else create_postgres()
    with live.running(url, folder, workers=4) as server:
        yield server
    if request.param == "postgresql":
        drop_postgres(url)


def organization(server: live.LiveServer, chat: int, chat_code: int) -> live.ScimTarget:
    return live.new_organization(server, seats=f"chat={chat},chat_code={chat_code}")


def create_all(target: live.ScimTarget, bodies: list[dict[str, Any]]) -> list[requests.Response]:
    def post(body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{target.base}/Users", json=body, headers=target.headers, timeout=60)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(post, bodies))


def user(name: str, seat_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER], "userName": name}
    if seat_type:
        body["schemas"].append(SEAT)
        body[SEAT] = {"seatType": seat_type}
    return body


def seats_in_database(server: live.LiveServer, slug: str) -> dict[str, tuple[int, int, int]]:
    """Per seat type: (purchased, assigned counter, members actually holding it)."""
    db = Database(server.database_url)
    try:
        with db.unit_of_work() as session:
            org_pk = session.scalar(select(Organization.pk).where(Organization.slug == slug))
            counters = session.execute(
                select(SeatAllocation.seat_type, SeatAllocation.purchased, SeatAllocation.assigned)
                .where(SeatAllocation.org_pk == org_pk)
            ).all()  # fmt: skip
            holders = dict(
                session.execute(
                    select(UserRow.seat_type, func.count())
                    .where(UserRow.org_pk == org_pk)
                    .group_by(UserRow.seat_type)
                ).all()
            )
    finally:
        db.dispose()
    return {t: (p, a, holders.get(t, 0)) for t, p, a in counters}


def test_racing_explicit_requests_for_the_last_seats_get_exactly_the_free_ones(
    busy_server: live.LiveServer,
) -> None:
    target = organization(busy_server, chat=15, chat_code=5)  # the owner holds one chat_code
    tag = uuid.uuid4().hex[:6]
    responses = create_all(target, [user(f"racer-{tag}-{i}", "chat_code") for i in range(40)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 4, 409: 36}, statuses
    refused = next(r for r in responses if r.status_code == 409).json()
    assert "chat_code" in refused["detail"]
    assert seats_in_database(busy_server, target.slug)["chat_code"] == (5, 5, 5)


def test_racing_automatic_provisioning_gives_every_free_seat_once_and_queues_the_rest(
    busy_server: live.LiveServer,
) -> None:
    target = organization(busy_server, chat=16, chat_code=4)  # 19 seats free
    tag = uuid.uuid4().hex[:6]
    responses = create_all(target, [user(f"auto-{tag}-{i}") for i in range(50)])
    assert Counter(r.status_code for r in responses) == {201: 50}
    given = Counter(r.json().get(SEAT, {}).get("seatType", "unassigned") for r in responses)
    assert given == {"chat": 16, "chat_code": 3, "unassigned": 31}, given
    assert seats_in_database(busy_server, target.slug) == {
        "chat": (16, 16, 16),
        "chat_code": (4, 4, 4),
    }


def test_scim_and_admin_requests_racing_for_the_last_seats_get_exactly_the_free_ones(
    busy_server: live.LiveServer,
) -> None:
    target = organization(busy_server, chat=16, chat_code=4)  # 3 chat_code seats free
    tag = uuid.uuid4().hex[:6]
    members = create_all(target, [user(f"seated-{tag}-{i}", "chat") for i in range(12)])
    assert {r.status_code for r in members} == {201}
    admin = {"Authorization": f"Bearer {target.owner_api_token}"}
    api = target.base.replace("/scim/v2", "/api/v1")

    def promote(member_id: str) -> requests.Response:
        body = {"seat_type": "chat_code"}
        return requests.patch(f"{api}/members/{member_id}", json=body, headers=admin, timeout=60)

    def create(i: int) -> requests.Response:
        body = user(f"newcomer-{tag}-{i}", "chat_code")
        return requests.post(f"{target.base}/Users", json=body, headers=target.headers, timeout=60)

    with ThreadPoolExecutor(THREADS) as pool:
        promotions = [pool.submit(promote, r.json()["id"]) for r in members]
        creations = [pool.submit(create, i) for i in range(12)]
        answers = [f.result() for f in promotions + creations]
    won = [r for r in answers if r.status_code in (200, 201)]
    assert len(won) == 3, Counter(r.status_code for r in answers)
    assert {r.status_code for r in answers} <= {200, 201, 409}
    assert all(
        r.json()["error"]["code"] == "seat_unavailable"
        for r in answers[:12]
        if r.status_code == 409
    )
    assert seats_in_database(busy_server, target.slug)["chat_code"] == (4, 4, 4)


def test_group_changes_racing_for_mapped_seats_give_each_free_seat_once(
    busy_server: live.LiveServer,
) -> None:
    """SEATS.md §5 under load: re-evaluations in parallel workers never over-give."""
    target = organization(busy_server, chat=20, chat_code=4)  # 3 chat_code seats free
    tag = uuid.uuid4().hex[:6]
    fillers = create_all(target, [user(f"filler-{tag}-{i}") for i in range(3)])
    engineers = create_all(target, [user(f"engineer-{tag}-{i}") for i in range(12)])
    assert {r.json()[SEAT]["seatType"] for r in engineers} == {"chat"}
    db = Database(busy_server.database_url)
    try:
        group_mappings.apply_for(db, target.slug, MAPPING)
    finally:
        db.dispose()
    for filler in fillers:  # deprovisioned: three chat_code seats free, nobody waiting
        response = requests.patch(
            f"{target.base}/Users/{filler.json()['id']}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            },
            headers=target.headers,
            timeout=60,
        )
        assert response.status_code == 200
    groups = [
        requests.post(
            f"{target.base}/Groups",
            json={"schemas": [GROUP], "displayName": "Engineering"},
            headers=target.headers,
            timeout=60,
        ).json()["id"]
        for _ in engineers
    ]

    def join(pair: tuple[str, requests.Response]) -> requests.Response:
        operation = {"op": "add", "path": "members", "value": [{"value": pair[1].json()["id"]}]}
        body = {"schemas": [PATCH], "Operations": [operation]}
        url = f"{target.base}/Groups/{pair[0]}"
        return requests.patch(url, json=body, headers=target.headers, timeout=60)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(join, zip(groups, engineers, strict=True)))
    assert {r.status_code for r in answers} == {204}, [r.text for r in answers]
    seated = [
        requests.get(f"{target.base}/Users/{r.json()['id']}", headers=target.headers, timeout=60)
        for r in engineers
    ]
    got = Counter(r.json().get(SEAT, {}).get("seatType") for r in seated)
    assert got == {"chat_code": 3, "chat": 9}, got
    assert seats_in_database(busy_server, target.slug)["chat_code"] == (4, 4, 4)
