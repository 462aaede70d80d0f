"""PostgreSQL's shorter paths keep every guarantee of the long ones (issue 21).

A create is one statement after its reads (persistence/joining.py), a one-member group
PATCH one statement (persistence/membership.py), and pooled connections are no longer
pinged at every checkout. Each test here drives the case the short path must hand back
to the long one, or survive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from scim_server.app import create_app
from scim_server.domain.seats import Allocation
from scim_server.persistence.models import AuditEvent, GroupMember, SeatAllocation, UserRow
from scim_server.persistence.seats import SeatRepository

from .admin_client import USER, Org, add_member, new_org
from .databases import truncate_all

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def app(postgres_url: str) -> Iterator[Any]:
    application = create_app({"DATABASE_URL": postgres_url})
    yield application
    application.extensions["scim_db"].dispose()
    truncate_all(postgres_url)


@pytest.fixture
def org(app: Any) -> Org:
    return new_org(app, app.extensions["scim_db"], "acme", seats={"chat": 20, "chat_code": 0})


def held(org: Org) -> dict[str, tuple[int, int]]:
    with org.db.unit_of_work() as session:
        rows = session.execute(
            select(SeatAllocation.seat_type, SeatAllocation.assigned, func.count(UserRow.pk))
            .outerjoin(
                UserRow,
                (UserRow.org_pk == SeatAllocation.org_pk)
                & (UserRow.seat_type == SeatAllocation.seat_type),
            )
            .where(SeatAllocation.org_pk == org.pk)
            .group_by(SeatAllocation.seat_type, SeatAllocation.assigned)
        )
        return {seat_type: (assigned, holding) for seat_type, assigned, holding in rows}


def test_a_create_whose_seat_was_taken_since_it_was_decided_waits_instead(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(19):  # the owner and these hold the twenty chat seats
        add_member(org, f"seated{i}@acme.example")
    # The decision reads the allocation without a lock: make it read one seat still free,
    # as if the read had come just before another request took the last seat.
    real = SeatRepository.allocation

    def stale(self: SeatRepository) -> Allocation:
        now = real(self)
        return Allocation(now.purchased, {**now.assigned, "chat": now.assigned["chat"] - 1})

    monkeypatch.setattr(SeatRepository, "allocation", stale)
    response = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "late@acme.example"})
    monkeypatch.undo()

    assert response.status_code == 201, response.json
    assert held(org)["chat"] == (20, 20)  # the invariant held: no twenty-first seat
    late = org.call(org.owner.token, "GET", f"/members/{response.json['id']}").json
    assert (late["seat_type"], late["waiting"]) == ("unassigned", True)
    with org.db.unit_of_work() as session:
        events = session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == response.json["id"])
        ).all()
    assert events == ["seat.waiting"]  # one event, from the transaction that wrote the member


def test_a_create_that_fails_writes_nothing_at_all(org: Org) -> None:
    add_member(org, "ana@acme.example")
    before = held(org)
    again = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "ANA@acme.example"})
    assert again.status_code == 409, again.json
    assert held(org) == before
    with org.db.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent))
        names = session.scalars(select(UserRow.user_name).order_by(UserRow.pk)).all()
    assert names == ["owner@acme.example", "ana@acme.example"]
    assert count == session_count_of_seat_events(org, 2)


def session_count_of_seat_events(org: Org, members: int) -> int:
    """The events two members' creation wrote: the organization's, then one seat each."""
    with org.db.unit_of_work() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.pk)).all()
    assert actions.count("seat.changed") == members
    return len(actions)


def group_with(org: Org, *members: str) -> str:
    body = {"schemas": [GROUP], "displayName": "Eng", "members": [{"value": m} for m in members]}
    created = org.scim.call("POST", "/Groups", body)
    assert created.status_code == 201, created.json
    return str(created.json["id"])


def one_member(op: str, member: str) -> dict[str, Any]:
    if op == "add":
        operation = {"op": "add", "path": "members", "value": [{"value": member}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{member}"]'}
    return {"schemas": [PATCH], "Operations": [operation]}


def test_a_one_member_patch_gives_a_new_version_only_when_the_membership_changes(
    org: Org,
) -> None:
    ana = add_member(org, "ana@acme.example").id
    group = group_with(org)
    first = org.scim.call("PATCH", f"/Groups/{group}", one_member("add", ana))
    again = org.scim.call("PATCH", f"/Groups/{group}", one_member("add", ana))
    gone = org.scim.call("PATCH", f"/Groups/{group}", one_member("remove", ana))
    assert [r.status_code for r in (first, again, gone)] == [204, 204, 204]
    assert [r.headers["ETag"] for r in (first, again, gone)] == ['W/"2"', 'W/"2"', 'W/"3"']
    assert org.scim.call("GET", f"/Groups/{group}").json["meta"]["version"] == 'W/"3"'


def test_a_one_member_patch_naming_an_unknown_user_or_group_is_refused_and_writes_nothing(
    org: Org,
) -> None:
    group = group_with(org)
    unknown = "01a23c1e-0000-7000-8000-000000000000"
    refused = org.scim.call("PATCH", f"/Groups/{group}", one_member("add", unknown))
    assert refused.status_code == 400
    assert unknown in refused.json["detail"]
    missing = org.scim.call("PATCH", f"/Groups/{unknown}", one_member("add", unknown))
    assert missing.status_code == 404
    assert org.scim.call("GET", f"/Groups/{group}").json["meta"]["version"] == 'W/"1"'


def test_a_one_member_patch_in_an_organization_with_a_mapping_moves_the_seat(app: Any) -> None:
    """With a mapping stored, the one statement writes nothing and the full PATCH runs."""
    org = new_org(app, app.extensions["scim_db"], "globex", seats={"chat": 10, "chat_code": 10})
    mapping = {"plan": "enterprise", "rules": [{"group": "Eng", "seat_type": "chat"}]}
    stored = org.call(org.owner.token, "PUT", "/group-mappings", mapping)
    assert stored.status_code == 200, stored.json
    ana = add_member(org, "ana@globex.example").id
    assert org.call(org.owner.token, "GET", f"/members/{ana}").json["seat_type"] == "chat_code"
    group = group_with(org)
    added = org.scim.call("PATCH", f"/Groups/{group}", one_member("add", ana))
    assert added.status_code == 204
    member = org.call(org.owner.token, "GET", f"/members/{ana}").json
    assert (member["seat_type"], member["seat_source"]) == ("chat", "group_mapping")
    with org.db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(GroupMember)) == 1


def test_a_request_on_a_connection_that_died_in_the_pool_is_answered(
    org: Org, postgres_url: str
) -> None:
    """No ping at checkout: the token read fails on the dead connection and runs again."""
    assert org.scim.call("GET", "/Users?count=1").status_code == 200  # a pooled connection
    name = postgres_url.rsplit("/", 1)[1]
    from sqlalchemy import create_engine

    admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres")
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar()
    admin.dispose()
    assert killed and killed >= 1
    for _ in range(3):
        assert org.scim.call("GET", "/Users?count=1").status_code == 200
    created = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "bo@acme.example"})
    assert created.status_code == 201


def test_a_create_after_the_term_ended_decides_on_the_renewed_counts(org: Org) -> None:
    """The counters read with the token are the old term's when it has ended: the create
    reads them again after the new term begins (services/tokens.py)."""
    from sqlalchemy import update

    from scim_server.persistence.models import Organization
    from scim_server.persistence.types import utcnow
    from scim_server.services import operators

    for i in range(19):  # the owner and these hold the twenty chat seats
        add_member(org, f"seated{i}@acme.example")
    operators.renew(org.db, "acme", {"chat": 25, "chat_code": 0})
    with org.db.unit_of_work(write=True) as session:  # the clock passes the term's end
        session.execute(
            update(Organization).where(Organization.pk == org.pk).values(term_end=utcnow())
        )
    created = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "new@acme.example"})
    assert created.status_code == 201, created.json
    member = org.call(org.owner.token, "GET", f"/members/{created.json['id']}").json
    assert (member["seat_type"], member["waiting"]) == ("chat", False)
    assert held(org)["chat"] == (21, 21)


def test_a_connection_lost_during_a_request_is_a_503_to_retry_not_a_500(
    org: Org, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away between the token read and the request's statement."""
    from sqlalchemy import create_engine

    from scim_server.persistence import repositories

    name = postgres_url.rsplit("/", 1)[1]
    read_token = repositories.token_credentials

    def then_the_database_goes(connection: Any, prefix: str, *more: Any) -> Any:
        found = read_token(connection, prefix, *more)
        admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres")
        with admin.connect() as other:
            other.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        admin.dispose()
        return found

    monkeypatch.setattr("scim_server.services.tokens.token_credentials", then_the_database_goes)
    lost = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "lost@acme.example"})
    assert lost.status_code == 503, lost.json
    assert lost.json["detail"] == "the connection to the database was lost; retry the request"
    monkeypatch.undo()
    again = org.scim.call("POST", "/Users", {"schemas": [USER], "userName": "lost@acme.example"})
    assert again.status_code == 201, again.json
