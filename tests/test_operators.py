"""Operator actions (SEATS.md §2 renewal, §7 migration) and personal API tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from scim_server.errors import InvalidInput, NotFound
from scim_server.persistence.models import AuditEvent, Organization, UserRow
from scim_server.persistence.seats import SeatRepository
from scim_server.services import operators, organizations

from .conftest import Api
from .test_cli import run

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SEAT = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"


@pytest.fixture
def legacy(app: Any, db: Any) -> Api:
    created = organizations.create(
        db, "Old", "old", "enterprise_legacy", {"standard": 15, "premium": 5}, "owner@old.example"
    )
    return Api(app.test_client(), created.scim_token, "old", db)


def add_users(api: Api, count: int) -> list[str]:
    ids = []
    for i in range(count):
        response = api.call("POST", "/Users", {"schemas": [USER], "userName": f"m{i}"})
        assert response.status_code == 201
        ids.append(response.json["id"])
    return ids


def allocation(api: Api) -> Any:
    with api.db.unit_of_work() as session:
        org = session.scalar(select(Organization).where(Organization.slug == api.slug))
        return SeatRepository(session, org.pk).allocation()


def test_migration_carries_every_allocation_and_assignment_over_and_is_audited(legacy: Api) -> None:
    ids = add_users(legacy, 6)  # the owner and four more take premium, then standard
    pin = {"op": "replace", "path": f"{SEAT}:seatType", "value": "standard"}
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [pin]}
    assert legacy.call("PATCH", f"/Users/{ids[0]}", patch).status_code == 200
    before = allocation(legacy)
    result = operators.migrate(legacy.db, "old", "enterprise")
    after = allocation(legacy)
    assert result["plan"] == "enterprise" and result["members_moved"] == 7
    assert dict(after.purchased) == {"chat": 15, "chat_code": 5}
    assert after.assigned["chat"] == before.assigned["standard"]
    assert after.assigned["chat_code"] == before.assigned["premium"]
    with legacy.db.unit_of_work() as session:
        pinned = session.scalar(select(UserRow).where(UserRow.id == ids[0]))
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "plan.migrated")
        ).all()
    assert (pinned.seat_type, pinned.pinned_seat_type) == ("chat", "chat")
    assert len(events) == 1 and events[0].before["plan"] == "enterprise_legacy"
    assert legacy.call("GET", f"/Users/{ids[1]}").json[SEAT]["seatType"] == "chat_code"


def test_migrating_an_organization_already_on_the_current_plan_is_refused(api: Api) -> None:
    with pytest.raises(InvalidInput, match="no migration"):
        operators.migrate(api.db, api.slug, "enterprise")


def test_api_token_create_acts_as_the_member_and_is_refused_for_unknown_emails(api: Api) -> None:
    issued = operators.issue_api_token(api.db, api.slug, "OWNER@acme.example")
    assert issued.secret.startswith("sapi_")
    with pytest.raises(NotFound):
        operators.issue_api_token(api.db, api.slug, "nobody@acme.example")


def test_the_operator_commands_speak_json(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    run(url, "db", "upgrade")
    run(url, "org", "create", "--name", "L", "--slug", "l", "--plan", "enterprise_legacy",
        "--seats", "standard=15,premium=5", "--owner-email", "o@l.example")  # fmt: skip
    token = json.loads(
        run(url, "api-token", "create", "--org", "l", "--email", "o@l.example", "--json").stdout
    )
    assert token["token"].startswith("sapi_")
    renewed = json.loads(
        run(url, "org", "renew", "--org", "l", "--seats", "standard=20,premium=5", "--json").stdout
    )
    assert renewed["seats"] == {"standard": 15, "premium": 5}, "until the term ends"
    assert renewed["renewal"]["seats"] == {"standard": 20, "premium": 5}
    assert renewed["renewal"]["term_start"] == renewed["term_end"]
    migrated = json.loads(
        run(url, "org", "migrate", "--org", "l", "--to", "enterprise", "--json").stdout
    )
    assert migrated["plan"] == "enterprise" and migrated["seats"] == {"chat": 15, "chat_code": 5}
    bad = run(url, "org", "renew", "--org", "l", "--seats", "chat=1", "--json", check=False)
    assert bad.returncode == 1 and "at least 20" in bad.stderr
