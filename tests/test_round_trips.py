"""The round trips each hot request makes to PostgreSQL, pinned: a change that adds one fails.

On PostgreSQL a round trip (a statement, BEGIN, COMMIT, a ping) costs more than the
statement itself (issue 21): a create went from eight to two. They are counted where
they happen, on the wire: an engine "connect" listener turns on libpq's trace of every
pooled connection, and each round trip ends with the server's ReadyForQuery message.
Counted in the steady state, once psycopg has prepared the statements (its first uses
of a statement prepare it, one round trip more).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from scim_server.app import create_app

from .admin_client import USER, Org, add_member, new_org

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WARM = 7  # psycopg prepares a statement at its fifth use on a connection


class Wire:
    """libpq's trace of every connection of an engine, read back request by request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w+")

    def attach(self, engine: Any) -> None:
        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.pgconn.trace(self.file.fileno())

        engine.dispose()  # the connections opened before the listener are not traced

    def round_trips(self, request: Callable[[], Any]) -> int:
        self.file.flush()
        start = os.path.getsize(self.path)
        response = request()
        assert response.status_code < 300, response.get_data(as_text=True)
        self.file.flush()
        with self.path.open() as trace:
            trace.seek(start)
            return trace.read().count("\tReadyForQuery\t")

    def steady(self, request: Callable[[int], Any], last: int = 1) -> list[int]:
        """The round trips of the `last` of WARM + `last` requests, each made by `request(i)`."""
        counts = [self.round_trips(lambda i=i: request(i)) for i in range(WARM + last)]
        return counts[-last:]


@pytest.fixture
def traced(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Org, Wire]]:
    from .databases import truncate_all

    app = create_app({"DATABASE_URL": postgres_url})
    database = app.extensions["scim_db"]
    org = new_org(app, database, "acme", seats={"chat": 500, "chat_code": 500})
    wire = Wire(tmp_path / "libpq.trace")
    wire.attach(database.engine)
    yield org, wire
    database.dispose()
    wire.file.close()
    truncate_all(postgres_url)


def user(name: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": name}


def test_a_create_is_two_round_trips_the_token_with_the_counters_and_one_statement(
    traced: tuple[Org, Wire],
) -> None:
    org, wire = traced
    trips = wire.steady(lambda i: org.scim.call("POST", "/Users", user(f"new{i}@acme.example")))
    assert trips == [2]


def test_a_create_that_waits_for_a_seat_is_two_round_trips_too(
    postgres_url: str, tmp_path: Path
) -> None:
    from .databases import truncate_all

    app = create_app({"DATABASE_URL": postgres_url})
    database = app.extensions["scim_db"]
    org = new_org(app, database, "full", seats={"chat": 20, "chat_code": 0})
    for i in range(19):  # the owner and these hold the twenty seats
        add_member(org, f"seated{i}@full.example")
    wire = Wire(tmp_path / "libpq.trace")
    wire.attach(database.engine)
    try:
        trips = wire.steady(
            lambda i: org.scim.call("POST", "/Users", user(f"wait{i}@full.example"))
        )
        assert trips == [2]
        waiting = org.call(org.owner.token, "GET", "/members", query={"waiting": "true"}).json
        assert sorted(m["user_name"] for m in waiting["members"]) == [
            f"wait{i}@full.example" for i in range(WARM + 1)
        ]
    finally:
        database.dispose()
        wire.file.close()
        truncate_all(postgres_url)


def test_a_filter_by_username_is_two_round_trips_with_the_users_groups(
    traced: tuple[Org, Wire],
) -> None:
    org, wire = traced
    ana = add_member(org, "ana@acme.example").id
    groups = [
        org.scim.call("POST", "/Groups", {"schemas": [GROUP], "displayName": name,
                                          "members": [{"value": ana}]}).json["id"]
        for name in ("Sales", "Eng")
    ]  # fmt: skip
    query = '/Users?filter=userName eq "ana@acme.example"'
    assert wire.steady(lambda _i: org.scim.call("GET", query)) == [2]
    (found,) = org.scim.call("GET", query).json["Resources"]
    assert [(g["value"], g["display"]) for g in found["groups"]] == list(
        zip(groups, ["Sales", "Eng"], strict=True)
    )
    none = org.scim.call("GET", '/Users?filter=userName eq "nobody@acme.example"').json
    assert (none["totalResults"], none["Resources"]) == (0, [])


def test_a_patch_adding_or_removing_one_member_is_two_round_trips(
    traced: tuple[Org, Wire],
) -> None:
    org, wire = traced
    people = [add_member(org, f"m{i}@acme.example").id for i in range(3)]
    group = org.scim.call(
        "POST", "/Groups", {"schemas": [GROUP], "displayName": "Eng",
                            "members": [{"value": p} for p in people[:2]]},
    ).json  # fmt: skip

    def toggle(i: int) -> Any:
        if i % 2 == 0:
            operation = {"op": "add", "path": "members", "value": [{"value": people[2]}]}
        else:
            operation = {"op": "remove", "path": f'members[value eq "{people[2]}"]'}
        body = {"schemas": [PATCH], "Operations": [operation]}
        return org.scim.call("PATCH", f"/Groups/{group['id']}", body)

    adds = [wire.round_trips(lambda i=i: toggle(i)) for i in range(WARM * 2)]
    assert adds[-2:] == [2, 2]  # an add, then a remove
    members = org.scim.call("GET", f"/Groups/{group['id']}").json["members"]
    assert {m["value"] for m in members} == set(people[:2])


def test_a_seat_reassignment_by_an_admin_is_pinned(traced: tuple[Org, Wire]) -> None:
    org, wire = traced
    person = add_member(org, "bea@acme.example")

    def reassign(i: int) -> Any:
        seat = "chat" if i % 2 == 0 else "chat_code"
        return org.call(org.owner.token, "PATCH", f"/members/{person.id}", {"seat_type": seat})

    assert wire.steady(reassign, last=4) == [SEAT_REASSIGNMENT] * 4


# The token (with its member's role), BEGIN, the member locked, the allocation's take and
# release, the member's row (its seat and new version in one UPDATE), the audit event, COMMIT.
SEAT_REASSIGNMENT = 8
