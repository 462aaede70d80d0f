"""Helpers for the admin API tests: organizations, members of each role, and their tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from scim_server.persistence.db import Database
from scim_server.persistence.models import Organization, UserRow
from scim_server.services import organizations, tokens

from .conftest import Api

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class Person:
    id: str
    token: str


@dataclass
class Org:
    client: FlaskClient
    db: Database
    slug: str
    pk: int
    scim: Api
    owner: Person  # the primary owner, created with the organization

    def call(
        self,
        token: str | None,
        method: str,
        path: str,
        json_body: Any = None,
        data: str | bytes | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if json_body is not None:
            data = json.dumps(json_body)
        return self.client.open(
            f"/api/v1{path}",
            method=method,
            data=data,
            headers=headers,
            query_string=query,
            content_type="application/json" if data is not None else None,
        )


def new_org(
    app: Any, db: Database, slug: str, plan: str = "enterprise", seats: dict[str, int] | None = None
) -> Org:
    seats = seats or {"chat": 50, "chat_code": 20}
    email = f"owner@{slug}.example"
    created = organizations.create(db, slug.title(), slug, plan, seats, email)
    with db.unit_of_work() as session:
        org_pk = session.scalar(select(Organization.pk).where(Organization.slug == slug))
        owner_id = session.scalar(
            select(UserRow.id).where(UserRow.org_pk == org_pk, UserRow.user_name == email)
        )
    client = app.test_client()
    scim = Api(client, created.scim_token, slug, db)
    return Org(client, db, slug, org_pk, scim, Person(owner_id, created.owner_api_token))


def add_member(org: Org, name: str, /, role: str = "member", **attributes: Any) -> Person:
    """A member provisioned over SCIM (so their seat is resolved), given a role and a token."""
    body = {"schemas": [USER], "userName": name, **attributes}
    response = org.scim.call("POST", "/Users", body)
    assert response.status_code == 201, response.json
    member_id = response.json["id"]
    return Person(member_id, appoint(org.db, member_id, role, name))


def appoint(db: Database, member_id: str, role: str, name: str) -> str:
    """Give a member a role and a personal admin-API token; returns the token."""
    with db.unit_of_work(write=True) as session:
        session.execute(update(UserRow).where(UserRow.id == member_id).values(role=role))
        row = session.scalar(select(UserRow).where(UserRow.id == member_id))
        assert row is not None
        issued = tokens.issue(session, row.org_pk, "api", f"{name} (test)", member_pk=row.pk)
    return issued.secret


def add_members(org: Org, count: int, prefix: str = "m") -> list[Person]:
    return [add_member(org, f"{prefix}{i}") for i in range(count)]


def set_active(org: Org, member_id: str, active: bool) -> None:
    operation = {"op": "replace", "value": {"active": active}}
    body = {"schemas": [PATCH], "Operations": [operation]}
    assert org.scim.call("PATCH", f"/Users/{member_id}", body).status_code == 200


def member_row(org: Org, member_id: str) -> UserRow:
    with org.db.unit_of_work() as session:
        row = session.scalar(select(UserRow).where(UserRow.id == member_id))
        assert row is not None
        return row


# Fixtures shared by the admin-API test modules, which import them by name.


@pytest.fixture
def acme(app: Any, db: Any) -> Org:
    """50 chat and 20 chat_code seats; the primary owner holds a chat_code seat."""
    return new_org(app, db, "acme")


@pytest.fixture
def admin(acme: Org) -> Person:
    return add_member(acme, "ada", role="admin")
