"""Reads answer from core rows on a plain connection: the same documents, and no writes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from scim_server.persistence.audit import AuditRepository
from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, Organization, UserRow
from scim_server.persistence.repositories import UserRepository
from scim_server.services import audit
from scim_server.services.audit import SYSTEM

from .conftest import Api, make_org
from .test_scim_protocol import PATCH, USER, new_group, new_user

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def test_a_user_is_the_same_document_when_created_read_listed_and_searched(api: Api) -> None:
    created = new_user(
        api, "same@example.com", name={"givenName": "Sam"}, **{ENTERPRISE: {"department": "R&D"}}
    )
    new_group(api, "Team", [created["id"]])
    read = api.call("GET", f"/Users/{created['id']}").json
    listed = api.call("GET", '/Users?filter=userName eq "same@example.com"').json["Resources"]
    assert listed == [read]
    assert read["groups"][0]["display"] == "Team"
    del read["groups"]
    assert read == created


def test_a_group_read_by_id_and_listed_is_the_same_document(api: Api) -> None:
    group = new_group(api, "Listed", [new_user(api, "member")["id"]])
    read = api.call("GET", f"/Groups/{group['id']}").json
    listed = api.call("GET", '/Groups?filter=displayName eq "Listed"').json["Resources"]
    assert read == group and listed == [group]


def test_a_repository_on_a_reading_connection_refuses_to_write(db: Database) -> None:
    with db.reading() as connection:
        repository = UserRepository(connection, org_pk=1)
        assert repository.read("no-such-id") is None
        with pytest.raises(TypeError):
            repository.add(UserRow(), "a user")


def test_a_read_request_checks_out_one_connection_for_its_token_and_resources(
    api: Api, app: Any
) -> None:
    """Database.holding(): the token check and the list share a connection, then return it."""
    new_user(api, "held@example.com")
    app.config["TOKEN_TOUCH_SECONDS"] = 3600  # just used: no write to record its use
    db = app.extensions["scim_db"]
    checkouts: list[int] = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    event.listen(db.engine, "checkout", listener)
    try:
        listed = api.call("GET", '/Users?filter=userName eq "held@example.com"')
        search = {"schemas": [SEARCH], "filter": 'userName eq "held@example.com"'}
        searched = api.call("POST", "/Users/.search", search)
    finally:
        event.remove(db.engine, "checkout", listener)
    assert listed.json["totalResults"] == searched.json["totalResults"] == 1
    assert len(checkouts) == 2  # one per request
    assert db.engine.pool.checkedout() == 0  # each was returned after its request


def test_a_write_request_runs_its_token_check_and_its_transaction_on_one_connection(
    api: Api, app: Any
) -> None:
    """Database.holding(writes=True): a create, a PATCH (a session) and a DELETE each
    check out one connection, commit on it, and return it."""
    app.config["TOKEN_TOUCH_SECONDS"] = 3600
    api.call("GET", "/Users?count=0")  # the token's use recorded once, before counting
    db = app.extensions["scim_db"]
    checkouts: list[int] = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    event.listen(db.engine, "checkout", listener)
    try:
        created = api.call("POST", "/Users", {"schemas": [USER], "userName": "one@example.com"})
        patch = {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "nickName", "value": "o"}],
        }
        patched = api.call("PATCH", f"/Users/{created.json['id']}", patch)
        deleted = api.call("DELETE", f"/Users/{created.json['id']}")
    finally:
        event.remove(db.engine, "checkout", listener)
    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 200, 204)
    assert len(checkouts) == 3  # one per request
    assert db.engine.pool.checkedout() == 0
    assert api.call("GET", f"/Users/{created.json['id']}").status_code == 404  # committed


def test_units_of_work_in_a_held_block_end_its_reads_and_commit_on_its_connection(
    db: Database,
) -> None:
    make_org(db, "heldw")
    with db.reading() as connection:
        org_pk = connection.execute(
            select(Organization.pk).where(Organization.slug == "heldw")
        ).scalar_one()

    def mark(unit: Any, subject: str) -> None:
        event = audit.event(SYSTEM, "test.held", ("test", subject), None, None, None)
        AuditRepository(unit, org_pk).add(event)

    with db.holding(writes=True):
        with db.reading() as connection:
            connection.execute(select(func.count()).select_from(AuditEvent)).scalar()
            assert connection.in_transaction()  # a read transaction, still open
        with db.writing() as writer:
            assert writer is connection
            mark(writer, "on the connection")
        with db.unit_of_work(write=True) as session:
            assert session.connection() is connection
            mark(session, "in a session")
    with db.reading() as other:
        marked = other.execute(
            select(AuditEvent.subject_id).where(AuditEvent.action == "test.held")
        )
        assert sorted(str(s) for s in marked.scalars()) == ["in a session", "on the connection"]
    assert connection.closed


def test_reads_outside_a_held_block_each_take_their_own_connection(db: Database) -> None:
    with db.reading() as first, db.reading() as second:
        assert first is not second
    with db.holding():
        with db.reading() as first:
            pass
        with db.reading() as second:
            assert second is first and not second.closed
    assert second.closed


def test_the_connection_returned_last_is_lent_next(db: Database) -> None:
    """SQLite keeps a connection's page cache only while no other connection writes."""
    with db.reading() as first, db.reading() as second:  # two in the pool
        first_driver = first.connection.dbapi_connection
        second_driver = second.connection.dbapi_connection
    for _ in range(3):
        with db.reading() as again:
            assert again.connection.dbapi_connection is first_driver
    assert first_driver is not second_driver
