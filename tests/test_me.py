"""GET /api/v1/me: any member learns who their token acts as, their seat and organization."""

from __future__ import annotations

from typing import Any

from .admin_client import Org, Person, acme, add_member, admin, new_org, set_active

__all__ = ["acme", "admin"]  # fixtures, imported to be used here


def test_a_member_learns_who_they_are_with_their_seat_and_their_organization(acme: Org) -> None:
    ana = add_member(acme, "ana@acme.example", displayName="Ana López")
    me = acme.call(ana.token, "GET", "/me")
    assert me.status_code == 200
    assert me.json["member"] == acme.call(ana.token, "GET", f"/members/{ana.id}").json
    assert me.json["organization"] == {"slug": "acme", "name": "Acme"}
    member = me.json["member"]
    assert (member["id"], member["user_name"], member["display_name"]) == (
        ana.id, "ana@acme.example", "Ana López",
    )  # fmt: skip
    assert (member["role"], member["seat_type"], member["waiting"]) == (
        "member",
        "chat_code",
        False,
    )
    assert member["entitlements"] == ["claude_apps", "claude_code"]


def test_a_member_waiting_for_a_seat_sees_that_they_wait_and_have_no_access(
    app: Any, db: Any
) -> None:
    full = new_org(app, db, "full", seats={"chat": 19, "chat_code": 1})  # the owner holds one
    for i in range(19):
        add_member(full, f"m{i}")
    late = add_member(full, "late")
    member = full.call(late.token, "GET", "/me").json["member"]
    assert (member["seat_type"], member["waiting"], member["entitlements"]) == (
        "unassigned", True, [],
    )  # fmt: skip


def test_me_answers_for_the_token_and_its_role_as_it_is_now(acme: Org, admin: Person) -> None:
    assert acme.call(admin.token, "GET", "/me").json["member"]["role"] == "admin"
    acme.call(acme.owner.token, "PATCH", f"/members/{admin.id}", {"role": "member"})
    assert acme.call(admin.token, "GET", "/me").json["member"]["role"] == "member"
    assert acme.call(acme.owner.token, "GET", "/me").json["member"]["role"] == "primary_owner"


def test_another_organizations_token_learns_only_of_its_own(acme: Org, app: Any, db: Any) -> None:
    globex = new_org(app, db, "globex")
    me = acme.call(globex.owner.token, "GET", "/me").json
    assert me["organization"]["slug"] == "globex" and me["member"]["id"] == globex.owner.id


def test_me_without_a_valid_token_is_401(acme: Org) -> None:
    ben = add_member(acme, "ben")
    set_active(acme, ben.id, False)
    for token in (None, "nonsense", acme.scim.token, ben.token):
        response = acme.call(token, "GET", "/me")
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
