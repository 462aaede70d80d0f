"""SEATS.md §2, the invariant across hosts: two servers on one PostgreSQL never over-give seats.

Two gunicorn servers, each with its own workers and connection pools, stand for two hosts
behind a load balancer; they share one PostgreSQL database. SCIM creates for one
organization go to both at once, so transactions from different hosts race for the same
allocation rows. PostgreSQL only: a SQLite file is never shared by hosts.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import requests

from . import live
from .databases import create_postgres, drop_postgres, wanted_backends
from .test_concurrency import SEAT, create_all, organization, seats_in_database, user

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def two_hosts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[live.LiveServer, live.LiveServer]]:
    if "postgresql" not in wanted_backends():
        pytest.skip("SCIM_TEST_DATABASES leaves PostgreSQL out")
    url = create_postgres()  # under CI, a missing PostgreSQL fails here rather than skips
    try:
        with (
            live.running(url, tmp_path_factory.mktemp("host-a")) as host_a,
            live.running(url, tmp_path_factory.mktemp("host-b")) as host_b,
        ):
            yield host_a, host_b
    finally:
        drop_postgres(url)


def seat_of(answer: dict[str, Any]) -> str:
    return str(answer.get(SEAT, {}).get("seatType", "unassigned"))


def admin_read(host: live.LiveServer, target: live.ScimTarget, path: str, **query: Any) -> Any:
    """GET /api/v1/<path> on one host, as the organization's owner."""
    response = requests.get(
        f"{host.url}/api/v1{path}",
        params=query,
        headers={"Authorization": f"Bearer {target.owner_api_token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_hosts_racing_for_the_last_seats_give_each_seat_once_and_queue_the_rest(
    two_hosts: tuple[live.LiveServer, live.LiveServer],
) -> None:
    host_a, host_b = two_hosts
    on_a = organization(host_a, chat=15, chat_code=5)  # the owner holds one chat_code: 19 free
    on_b = replace(on_a, base=f"{host_b.url}/scim/v2")  # the same organization and token
    tag = uuid.uuid4().hex[:6]
    people = [user(f"two-hosts-{tag}-{i}") for i in range(40)]
    with ThreadPoolExecutor(2) as hosts:  # each host gets half the people, both at once
        halves = hosts.map(create_all, [on_a, on_b], [people[0::2], people[1::2]])
        responses = [r for half in halves for r in half]

    # SEATS.md §4: automatic provisioning succeeds even when no seat is left.
    assert Counter(r.status_code for r in responses) == {201: 40}, [r.text for r in responses]
    answers = {r.json()["id"]: r.json() for r in responses}
    given = Counter(seat_of(a) for a in answers.values())
    assert given == {"chat_code": 4, "chat": 15, "unassigned": 21}, given
    assert seats_in_database(host_a, on_a.slug) == {
        "chat": (15, 15, 15),
        "chat_code": (5, 5, 5),
    }

    for host in two_hosts:  # both hosts tell the same story: every seat taken, 21 waiting
        state = admin_read(host, on_a, "/organization")
        assert state["allocation"] == {
            "chat": {"purchased": 15, "assigned": 15, "available": 0},
            "chat_code": {"purchased": 5, "assigned": 5, "available": 0},
        }
        assert state["waiting"] == 21
    waiting = admin_read(host_b, on_a, "/members", waiting="true", per_page=500)["members"]
    unseated = {key for key, answer in answers.items() if seat_of(answer) == "unassigned"}
    assert {m["id"] for m in waiting} == unseated

    # SEATS.md §8: one seat event per member, saying what their answer said.
    events = admin_read(host_b, on_a, "/audit-events", source="scim", limit=1000)["events"]
    seat_events = [e for e in events if e["action"].startswith("seat.")]
    assert sorted(e["subject_id"] for e in seat_events) == sorted(answers)
    for event in seat_events:
        seat_type = seat_of(answers[event["subject_id"]])
        assert event["after"]["seat_type"] == seat_type
        assert event["action"] == ("seat.waiting" if seat_type == "unassigned" else "seat.changed")
