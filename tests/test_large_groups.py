"""Membership statements that name more rows than one statement holds, and their counts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from scim_server.persistence.models import UserRow
from scim_server.persistence.repositories import CHUNK, OrganizationRepository
from scim_server.persistence.types import utcnow

from .conftest import Api
from .test_scim_protocol import member_ids, new_group, new_user, patch


def bulk_users(api: Api, count: int) -> list[str]:
    """`count` users of the organization, inserted directly: over HTTP this would be slow."""
    with api.db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(api.slug)
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {"id": str(uuid.uuid4()), "org_pk": org.pk, "user_name": f"bulk{i}",
             "user_name_key": f"bulk{i}", "active": True, "data": {"userName": f"bulk{i}"},
             "created": now, "last_modified": now, "version": 1}
            for i in range(count)
        ]  # fmt: skip
        session.execute(insert(UserRow), rows)
    return [row["id"] for row in rows]


def test_a_group_larger_than_one_statement_is_created_patched_and_read_whole(api: Api) -> None:
    ids = bulk_users(api, CHUNK + 5)
    group = new_group(api, "Everyone", ids[:-2])
    assert len(group["members"]) == CHUNK + 3
    path = f"/Groups/{group['id']}"
    added = [{"value": i} for i in ids[-2:]]
    assert patch(api, path, {"op": "add", "path": "members", "value": added}).status_code == 204
    assert member_ids(api, group["id"]) == set(ids)
    replaced = [{"value": i} for i in ids[3:]]
    assert (
        patch(api, path, {"op": "replace", "path": "members", "value": replaced}).status_code == 204
    )
    assert member_ids(api, group["id"]) == set(ids[3:])
    assert patch(api, path, {"op": "remove", "path": "members"}).status_code == 204
    assert member_ids(api, group["id"]) == set()


def test_adding_members_already_in_the_group_leaves_its_version(api: Api) -> None:
    a, b = new_user(api, "a")["id"], new_user(api, "b")["id"]
    group = new_group(api, "Pair", [a, b])
    path = f"/Groups/{group['id']}"
    again = [{"value": a}, {"value": b}]
    response = patch(api, path, {"op": "add", "path": "members", "value": again})
    assert response.status_code == 204 and response.headers["ETag"] == 'W/"1"'
    response = patch(api, path, {"op": "remove", "path": 'members[value eq "no-such-id"]'})
    assert response.headers["ETag"] == 'W/"1"'
    c = new_user(api, "c")["id"]
    response = patch(api, path, {"op": "add", "path": "members", "value": [*again, {"value": c}]})
    assert response.headers["ETag"] == 'W/"2"'
    assert member_ids(api, group["id"]) == {a, b, c}


def test_one_member_added_or_removed_changes_the_version_only_when_it_changes_the_group(
    api: Api,
) -> None:
    """The one-member statements (a PATCH's usual shape) report what they changed."""
    a, b = new_user(api, "one-a")["id"], new_user(api, "one-b")["id"]
    group = new_group(api, "One", [a])
    path = f"/Groups/{group['id']}"
    tags = []
    for operation in (
        {"op": "add", "path": "members", "value": [{"value": a}]},  # already in
        {"op": "remove", "path": f'members[value eq "{b}"]'},  # not in
        {"op": "add", "path": "members", "value": [{"value": b}]},
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "remove", "path": "members", "value": [{"value": a}]},  # gone already
    ):
        response = patch(api, path, operation)
        assert response.status_code == 204
        tags.append(response.headers["ETag"])
    assert tags == ['W/"1"', 'W/"1"', 'W/"2"', 'W/"3"', 'W/"3"']
    assert member_ids(api, group["id"]) == {b}
