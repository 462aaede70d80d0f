"""Reads answer from core rows on a plain connection: the same documents, and no writes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow
from scim_server.persistence.repositories import UserRepository

from .conftest import Api
from .test_scim_protocol import new_group, new_user

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


def test_reads_outside_a_held_block_each_take_their_own_connection(db: Database) -> None:
    with db.reading() as first, db.reading() as second:
        assert first is not second
    with db.holding():
        with db.reading() as first:
            pass
        with db.reading() as second:
            assert second is first and not second.closed
    assert second.closed
