"""Who may call what (SEATS.md §3): every endpoint of /api/v1 against every kind of caller.

Both organizations are on the legacy plan so that every endpoint, extra usage included,
has a success to compare the refusals with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from scim_server.services import group_mappings, oidc_settings

from .admin_client import Org, Person, add_member, new_org
from .oidc_idp import SECRET_KEY

LEGACY = {"standard": 15, "premium": 5}
CALLERS = ["member", "admin", "owner", "primary_owner", "other_org_owner", "scim_token", "none"]


@dataclass
class World:
    acme: Org
    people: dict[str, Person]  # acme's member, admin, owner and primary owner
    target: Person  # an ordinary acme member the endpoints act on
    globex: Org  # another organization, whose primary owner is `other_org_owner`


@pytest.fixture
def world(app: Any, db: Any) -> World:
    acme = new_org(app, db, "acme", plan="enterprise_legacy", seats=LEGACY)
    people = {role: add_member(acme, role, role=role) for role in ("member", "admin", "owner")}
    people["primary_owner"] = acme.owner
    target = add_member(acme, "target")
    globex = new_org(app, db, "globex", plan="enterprise_legacy", seats=LEGACY)
    group_mappings.apply_for(db, "acme", json.dumps(MAPPING), "application/json")
    oidc_settings.configure(
        db, SECRET_KEY, "acme", "https://idp.acme.example", "acme-client", "acme-secret",
        "groups", ["acme.example"],
    )  # fmt: skip
    return World(acme, people, target, globex)


def token_of(world: World, caller: str) -> str | None:
    if caller == "other_org_owner":
        return world.globex.owner.token
    if caller == "scim_token":
        return world.acme.scim.token
    if caller == "none":
        return None
    return world.people[caller].token


# Each endpoint: (method, path, body) built from the world and the caller, and the status
# each caller gets, in CALLERS order. Another organization's token authenticates (it is
# valid) but addresses its own organization: it sees its own data, never acme's, and
# acme's members are unknown to it.
Request = Callable[[World, str], tuple[str, str, Any]]


def fixed(method: str, path: str, body: Any = None) -> Request:
    return lambda world, caller: (method, path, body)


def on_target(method: str, suffix: str = "", body: Any = None) -> Request:
    return lambda world, caller: (method, f"/members/{world.target.id}{suffix}", body)


def on_self(world: World, caller: str) -> tuple[str, str, Any]:
    own = world.globex.owner if caller == "other_org_owner" else world.people.get(caller)
    return "GET", f"/members/{own.id if own else world.target.id}", None


def batch(world: World, caller: str) -> tuple[str, str, Any]:
    body = {"assignments": [{"member": world.target.id, "seat_type": "standard"}]}
    return "POST", "/members/seat-assignments", body


def transfer(world: World, caller: str) -> tuple[str, str, Any]:
    return "POST", "/ownership/transfer", {"member": world.target.id}


SEATS = {"seats": {"premium": 10}}
# Acme has this mapping stored, globex none; it names no group anyone is in: nobody moves.
MAPPING = {"plan": "enterprise_legacy", "rules": [{"group": "Staff", "seat_type": "standard"}]}
MATRIX: dict[str, tuple[Request, tuple[int, ...]]] = {
    #                                                     member admin owner primary other scim none
    "GET organization": (fixed("GET", "/organization"), (200, 200, 200, 200, 200, 401, 401)),
    "GET members": (fixed("GET", "/members"), (403, 200, 200, 200, 200, 401, 401)),
    "GET another member": (on_target("GET"), (403, 200, 200, 200, 404, 401, 401)),
    "GET one's own member": (on_self, (200, 200, 200, 200, 200, 401, 401)),
    "PATCH seat_type": (
        on_target("PATCH", body={"seat_type": "standard"}),
        (403, 200, 200, 200, 404, 401, 401),
    ),
    "PATCH seat_type auto": (
        on_target("PATCH", body={"seat_type": "auto"}),
        (403, 200, 200, 200, 404, 401, 401),
    ),
    "PATCH role": (
        on_target("PATCH", body={"role": "admin"}),
        (403, 200, 200, 200, 404, 401, 401),
    ),
    "POST seat-assignments": (batch, (403, 200, 200, 200, 422, 401, 401)),
    "GET billing seats": (fixed("GET", "/billing/seats"), (403, 403, 200, 200, 200, 401, 401)),
    "POST billing review": (
        fixed("POST", "/billing/seats/review", SEATS),
        (403, 403, 200, 200, 200, 401, 401),
    ),
    "PUT billing seats": (
        fixed("PUT", "/billing/seats", SEATS),
        (403, 403, 200, 200, 200, 401, 401),
    ),
    "PUT extra usage": (
        fixed("PUT", "/billing/extra-usage", {"enabled": True}),
        (403, 403, 200, 200, 200, 401, 401),
    ),
    "POST ownership transfer": (transfer, (403, 403, 403, 200, 404, 401, 401)),
    "GET group mappings": (
        fixed("GET", "/group-mappings"),
        (403, 200, 200, 200, 404, 401, 401),
    ),
    "PUT group mappings": (
        fixed("PUT", "/group-mappings", MAPPING),
        (403, 200, 200, 200, 200, 401, 401),
    ),
    "POST group mappings plan": (
        fixed("POST", "/group-mappings/plan", MAPPING),
        (403, 200, 200, 200, 200, 401, 401),
    ),
    # Acme has OIDC settings, globex none: another organization's owner reads its own.
    "GET oidc settings": (fixed("GET", "/oidc"), (403, 200, 200, 200, 404, 401, 401)),
    "GET audit events": (fixed("GET", "/audit-events"), (403, 200, 200, 200, 200, 401, 401)),
    "GET audit export jsonl": (
        fixed("GET", "/audit-events?format=jsonl"),
        (403, 200, 200, 200, 200, 401, 401),
    ),
    "GET audit export csv": (
        fixed("GET", "/audit-events?format=csv"),
        (403, 200, 200, 200, 200, 401, 401),
    ),
}

CASES = [
    pytest.param(endpoint, caller, statuses[i], id=f"{endpoint} as {caller}")
    for endpoint, (_, statuses) in MATRIX.items()
    for i, caller in enumerate(CALLERS)
]


@pytest.mark.parametrize(("endpoint", "caller", "expected"), CASES)
def test_each_caller_gets_exactly_the_status_its_role_allows(
    world: World, endpoint: str, caller: str, expected: int
) -> None:
    method, path, body = MATRIX[endpoint][0](world, caller)
    response = world.acme.call(token_of(world, caller), method, path, body)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected >= 400:
        error = response.json["error"]
        assert (
            error["code"]
            == {
                401: "unauthorized",
                403: "forbidden",
                404: "not_found",
                422: "invalid_input",
            }[expected]
        )
        if expected == 403:
            assert error["required_role"] in {"admin", "owner", "primary_owner"}


def test_a_refused_caller_changes_nothing(world: World) -> None:
    """Every write attempted by everyone not allowed to make it leaves acme as it was."""
    before = snapshot(world)
    for request, statuses in MATRIX.values():
        for caller, status in zip(CALLERS, statuses, strict=True):
            method, path, body = request(world, caller)
            if method != "GET" and status >= 400:
                world.acme.call(token_of(world, caller), method, path, body)
    assert snapshot(world) == before


def test_another_organizations_token_sees_only_its_own_organization(world: World) -> None:
    token = world.globex.owner.token
    assert world.acme.call(token, "GET", "/organization").json["slug"] == "globex"
    listed = {m["id"] for m in world.acme.call(token, "GET", "/members").json["members"]}
    assert listed == {world.globex.owner.id}
    subjects = {
        e["subject_id"] for e in world.acme.call(token, "GET", "/audit-events").json["events"]
    }
    # Globex's own organization, owner and tokens; nothing of Acme's.
    assert {"globex", world.globex.owner.id} <= subjects
    assert "acme" not in subjects and world.acme.owner.id not in subjects
    assert all(
        s in {"globex", world.globex.owner.id} or s.startswith(("scim_", "sapi_")) for s in subjects
    )
    # Acme has a group mapping stored; globex has none.
    assert world.acme.call(token, "GET", "/group-mappings").status_code == 404


def test_another_organizations_mapping_is_stored_for_it_and_leaves_acmes_alone(
    world: World,
) -> None:
    theirs = {"plan": "enterprise_legacy", "rules": [{"group": "Globex", "seat_type": "premium"}]}
    token = world.globex.owner.token
    assert world.acme.call(token, "PUT", "/group-mappings", theirs).status_code == 200
    assert world.acme.call(token, "GET", "/group-mappings").json["rules"][0]["group"] == "Globex"
    acme = world.acme.call(world.acme.owner.token, "GET", "/group-mappings").json
    assert (acme["version"], acme["rules"][0]["group"]) == (1, "Staff")


def snapshot(world: World) -> Any:
    owner = world.acme.owner.token
    members = world.acme.call(owner, "GET", "/members").json["members"]
    return (
        world.acme.call(owner, "GET", "/billing/seats").json,
        sorted((m["id"], m["role"], m["seat_type"], m["pinned"]) for m in members),
        world.acme.call(owner, "GET", "/audit-events").json["events"],
        world.acme.call(owner, "GET", "/group-mappings").json,
    )
