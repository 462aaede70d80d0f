"""RFC 7644 behaviour of /scim/v2 through the Flask app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Api

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(api: Api, user_name: str, **extra: Any) -> dict[str, Any]:
    response = api.call("POST", "/Users", {"schemas": [USER], "userName": user_name, **extra})
    assert response.status_code == 201, response.json
    return response.json


def new_group(api: Api, name: str, members: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    response = api.call("POST", "/Groups", body)
    assert response.status_code == 201, response.json
    return response.json


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/scim+json"
    body = response.json
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    assert body.get("scimType") == scim_type


# --- creation, reading, versions ---------------------------------------------------------


def test_a_created_user_is_returned_with_location_etag_and_meta(api: Api) -> None:
    response = api.call("POST", "/Users", {"schemas": [USER], "userName": "bjensen"})
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert response.headers["ETag"] == body["meta"]["version"] == 'W/"1"'
    assert body["meta"]["resourceType"] == "User"
    assert response.mimetype == "application/scim+json"


def test_locations_name_the_host_and_scheme_the_client_used_as_an_ascii_uri(api: Api) -> None:
    for base in ("https://scim.example.com:8443", "http://xn--bcher-kva.example"):
        response = api.client.get("/scim/v2/Users?count=1", base_url=base, headers=api.headers())
        location = response.json["Resources"][0]["meta"]["location"]
        assert location.startswith(f"{base}/scim/v2/Users/"), location


def test_a_password_is_accepted_but_never_returned(api: Api) -> None:
    created = new_user(api, "pw-user", password="s3cret-Passw0rd")
    fetched = api.call("GET", f"/Users/{created['id']}").json
    listed = api.call("GET", "/Users").json
    assert "password" not in created and "password" not in fetched
    assert "s3cret" not in str(listed)


def test_directory_email_addresses_email_validator_refuses_are_stored_domain_lowercased(
    api: Api,
) -> None:
    """RFC 7643 §4.1.2: a string, canonicalized; not a deliverability check (schema.py)."""
    sent = ["test.user@Okta.LOCAL", "jdoe@CONTOSO", "ops@[10.0.0.1]", "José@Exämple.DE"]
    created = new_user(api, "directory-emails", emails=[{"value": v} for v in sent])
    fetched = api.call("GET", f"/Users/{created['id']}").json
    expected = ["test.user@okta.local", "jdoe@contoso", "ops@[10.0.0.1]", "José@exämple.de"]
    assert [e["value"] for e in created["emails"]] == expected
    assert [e["value"] for e in fetched["emails"]] == expected
    found = api.call("GET", '/Users?filter=emails.value eq "jdoe@contoso"').json
    assert [r["id"] for r in found["Resources"]] == [created["id"]]


def test_a_value_with_no_local_part_at_sign_or_domain_is_not_an_email(api: Api) -> None:
    for value in ("jdoe", "jdoe@", "@contoso.com", "jdoe@contoso .com"):
        body = {"schemas": [USER], "userName": "bad-email", "emails": [{"value": value}]}
        response = api.call("POST", "/Users", body)
        assert_scim_error(response, 400, "invalidValue")
        assert "not an email address" in response.json["detail"]
    assert api.call("GET", '/Users?filter=userName eq "bad-email"').json["totalResults"] == 0


def test_a_duplicate_username_differing_only_in_case_is_a_uniqueness_conflict(api: Api) -> None:
    new_user(api, "Alice@Example.com")
    response = api.call("POST", "/Users", {"schemas": [USER], "userName": "alice@example.COM"})
    assert_scim_error(response, 409, "uniqueness")


def test_a_replace_bumps_the_version_and_if_match_on_a_stale_version_is_refused(api: Api) -> None:
    user = new_user(api, "versioned")
    path = f"/Users/{user['id']}"
    body = {"schemas": [USER], "userName": "versioned", "displayName": "V"}
    updated = api.call("PUT", path, body, **{"If-Match": 'W/"1"'})
    assert updated.status_code == 200
    assert updated.json["meta"]["version"] == 'W/"2"'
    stale = api.call("PUT", path, body, **{"If-Match": 'W/"1"'})
    assert_scim_error(stale, 412)


def test_if_none_match_on_the_current_version_answers_304(api: Api) -> None:
    user = new_user(api, "cached")
    response = api.call("GET", f"/Users/{user['id']}", **{"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.headers["ETag"] == 'W/"1"'
    changed = api.call("GET", f"/Users/{user['id']}", **{"If-None-Match": 'W/"0"'})
    assert changed.status_code == 200


def test_a_deleted_user_is_gone_and_leaves_its_groups(api: Api) -> None:
    user = new_user(api, "leaver")
    group = new_group(api, "Team", [user["id"]])
    assert api.call("DELETE", f"/Users/{user['id']}").status_code == 204
    assert_scim_error(api.call("GET", f"/Users/{user['id']}"), 404)
    assert "members" not in api.call("GET", f"/Groups/{group['id']}").json


# --- tenancy -----------------------------------------------------------------------------


def test_another_organizations_users_are_invisible_and_unreachable(
    api: Api, other_api: Api
) -> None:
    theirs = new_user(other_api, "shared-name@example.com")
    ours = new_user(api, "shared-name@example.com")  # userName is unique per organization only
    assert ours["id"] != theirs["id"]
    for method, body in (
        ("GET", None),
        ("PUT", {"schemas": [USER], "userName": "x"}),
        ("DELETE", None),
    ):
        assert_scim_error(api.call(method, f"/Users/{theirs['id']}", body), 404)
    listed = api.call("GET", "/Users").json
    assert theirs["id"] not in {r["id"] for r in listed["Resources"]}


def test_a_group_cannot_take_another_organizations_user_as_member(api: Api, other_api: Api) -> None:
    theirs = new_user(other_api, "outsider")
    body = {"schemas": [GROUP], "displayName": "G", "members": [{"value": theirs["id"]}]}
    assert_scim_error(api.call("POST", "/Groups", body), 400, "invalidValue")


# --- authentication ----------------------------------------------------------------------


def test_no_token_or_a_bad_token_is_401_with_www_authenticate(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer scim_0000_nope"},
        {"Authorization": "Basic eDp5"},
    ):
        response = api.client.get("/scim/v2/Users", headers=headers)
        assert_scim_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working(api: Api) -> None:
    from scim_server.services import tokens

    prefix = tokens.listing(api.db, api.slug, "scim")[0]["prefix"]
    assert api.call("GET", "/Users").status_code == 200
    tokens.revoke(api.db, api.slug, prefix)
    assert_scim_error(api.call("GET", "/Users"), 401)


def test_an_api_token_is_not_a_scim_token(api: Api, db: Any) -> None:
    from .conftest import make_org

    created = make_org(db, "initech")
    response = api.client.get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {created.owner_api_token}"}
    )
    assert_scim_error(response, 401)


# --- errors ------------------------------------------------------------------------------


def test_malformed_json_is_invalid_syntax(api: Api) -> None:
    response = api.client.post(
        "/scim/v2/Users",
        data="{not json",
        headers=api.headers(),
        content_type="application/scim+json",
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_a_body_that_is_not_an_object_is_invalid_syntax(api: Api) -> None:
    assert_scim_error(api.call("POST", "/Users", ["a list"]), 400, "invalidSyntax")


def test_a_user_without_username_is_refused_with_a_scim_error(api: Api) -> None:
    response = api.call("POST", "/Users", {"schemas": [USER], "displayName": "Nameless"})
    assert response.status_code == 400
    assert response.json["schemas"] == [ERROR]
    assert "userName" in response.json["detail"]


def test_post_on_a_discovery_endpoint_is_405_naming_the_methods_it_takes(api: Api) -> None:
    for path in ("/ServiceProviderConfig", "/Schemas", "/ResourceTypes"):
        response = api.call("POST", path, {})
        assert_scim_error(response, 405)
        # RFC 9110 §15.5.6: a 405 carries Allow.
        assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET"}


def test_an_unknown_endpoint_is_a_scim_404(api: Api) -> None:
    assert_scim_error(api.call("GET", "/Widgets"), 404)


def test_a_body_over_the_size_limit_is_413(app: Any, api: Api) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = api.call("POST", "/Users", {"schemas": [USER], "userName": "x" * 2000})
    assert_scim_error(response, 413)


def test_json_and_missing_content_types_are_accepted_and_others_refused(api: Api) -> None:
    payload = '{"schemas": ["%s"], "userName": "%s"}'
    for index, content_type in enumerate(("application/json", None)):
        response = api.client.post(
            "/scim/v2/Users",
            data=payload % (USER, f"ct{index}"),
            headers=api.headers(),
            content_type=content_type,
        )
        assert response.status_code == 201, (content_type, response.json)
    refused = api.client.post(
        "/scim/v2/Users",
        data=payload % (USER, "ct-x"),
        headers=api.headers(),
        content_type="text/plain",
    )
    assert_scim_error(refused, 400, "invalidSyntax")


# --- attribute selection -----------------------------------------------------------------


def test_attributes_select_what_is_returned_and_id_always_comes_back(api: Api) -> None:
    user = new_user(api, "sel", displayName="Sel", name={"givenName": "S", "familyName": "L"})
    body = api.call("GET", f"/Users/{user['id']}?attributes=name.givenName,userName").json
    assert body == {
        "schemas": [USER],
        "id": user["id"],
        "userName": "sel",
        "name": {"givenName": "S"},
    }


def test_excluded_attributes_remove_what_is_named_but_never_id(api: Api) -> None:
    user = new_user(api, "exc", displayName="Exc")
    body = api.call("GET", f"/Users/{user['id']}?excludedAttributes=displayName,id,meta").json
    assert "displayName" not in body and "meta" not in body
    assert body["id"] == user["id"] and body["userName"] == "exc"


def test_excluding_members_returns_groups_without_them(api: Api) -> None:
    user = new_user(api, "member")
    group = new_group(api, "Big", [user["id"]])
    body = api.call("GET", f"/Groups/{group['id']}?excludedAttributes=members").json
    assert "members" not in body and body["displayName"] == "Big"
    assert api.call("GET", f"/Groups/{group['id']}").json["members"][0]["value"] == user["id"]


def test_a_users_groups_are_listed_on_the_user(api: Api) -> None:
    user = new_user(api, "grouped")
    group = new_group(api, "Readers", [user["id"]])
    groups = api.call("GET", f"/Users/{user['id']}").json["groups"]
    assert [(g["value"], g["display"]) for g in groups] == [(group["id"], "Readers")]


def test_member_and_group_references_are_the_resources_absolute_uris(api: Api) -> None:
    user = new_user(api, "referenced")
    group = new_group(api, "Refs", [user["id"]])
    fetched_user = api.call("GET", f"/Users/{user['id']}").json
    fetched_group = api.call("GET", f"/Groups/{group['id']}").json
    # RFC 7643 §4.2: $ref is the member's URI, the one its meta.location names.
    assert fetched_group["members"][0]["$ref"] == fetched_user["meta"]["location"]
    assert fetched_user["groups"][0]["$ref"] == fetched_group["meta"]["location"]


# --- group membership PATCH --------------------------------------------------------------


def patch(api: Api, path: str, *operations: dict[str, Any], **headers: str) -> Any:
    return api.call("PATCH", path, {"schemas": [PATCH], "Operations": list(operations)}, **headers)


def member_ids(api: Api, group_id: str) -> set[str]:
    return {m["value"] for m in api.call("GET", f"/Groups/{group_id}").json.get("members", [])}


def test_group_patch_adds_and_removes_only_the_named_members(api: Api) -> None:
    a, b, c = (new_user(api, n)["id"] for n in ("a", "b", "c"))
    group = new_group(api, "Team", [a, b])
    path = f"/Groups/{group['id']}"
    response = patch(api, path, {"op": "add", "path": "members", "value": [{"value": c}]})
    assert response.status_code == 204
    assert response.headers["ETag"] == 'W/"2"'
    assert member_ids(api, group["id"]) == {a, b, c}
    patch(api, path, {"op": "remove", "path": f'members[value eq "{a}"]'})
    assert member_ids(api, group["id"]) == {b, c}
    patch(api, path, {"op": "replace", "path": "members", "value": [{"value": a}]})
    assert member_ids(api, group["id"]) == {a}
    patch(api, path, {"op": "remove", "path": "members"})
    assert member_ids(api, group["id"]) == set()


def test_a_member_keeps_the_display_it_was_added_with_else_shows_the_users_name(api: Api) -> None:
    named = new_user(api, "named", displayName="Named User")["id"]
    plain = new_user(api, "plain")["id"]
    group = new_group(api, "Shown")
    added = [{"value": named, "display": "From the IdP"}, {"value": plain}]
    patch(api, f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": added})
    members = api.call("GET", f"/Groups/{group['id']}").json["members"]
    # RFC 7643 §2.4: a member's display is immutable, so it is kept as the client sent it.
    assert {m["value"]: m["display"] for m in members} == {named: "From the IdP", plain: "plain"}


def test_removing_active_leaves_it_unassigned(api: Api) -> None:
    user = new_user(api, "unassigned", active=False)
    response = patch(api, f"/Users/{user['id']}", {"op": "remove", "path": "active"})
    # RFC 7644 §3.5.2.2: a removed single-valued attribute "SHALL be considered unassigned".
    assert response.status_code == 200 and "active" not in response.json
    assert "active" not in api.call("GET", f"/Users/{user['id']}").json


def test_group_patch_with_attributes_answers_200_with_the_group(api: Api) -> None:
    group = new_group(api, "Renamed")
    response = patch(
        api,
        f"/Groups/{group['id']}?excludedAttributes=members",
        {"op": "replace", "value": {"displayName": "New name"}},
    )
    assert response.status_code == 200
    assert response.json["displayName"] == "New name"


def test_adding_an_unknown_member_changes_nothing(api: Api) -> None:
    a = new_user(api, "known")["id"]
    group = new_group(api, "Team", [a])
    response = patch(
        api,
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]},
    )
    assert_scim_error(response, 400, "invalidValue")
    assert member_ids(api, group["id"]) == {a}
    assert api.call("GET", f"/Groups/{group['id']}").json["meta"]["version"] == 'W/"1"'


def test_a_patch_with_an_unknown_op_is_invalid_and_changes_nothing(api: Api) -> None:
    user = new_user(api, "stable", displayName="Before")
    response = patch(
        api,
        f"/Users/{user['id']}",
        {"op": "replace", "path": "displayName", "value": "After"},
        {"op": "frobnicate", "path": "displayName", "value": "x"},
    )
    assert response.status_code == 400
    assert api.call("GET", f"/Users/{user['id']}").json["displayName"] == "Before"


# --- paging ------------------------------------------------------------------------------


def test_pages_walk_every_user_exactly_once(api: Api) -> None:
    created = {new_user(api, f"p{i:02}")["id"] for i in range(23)}
    seen: list[str] = []
    start = 1
    while True:
        page = api.call("GET", f"/Users?startIndex={start}&count=5").json
        seen += [r["id"] for r in page["Resources"]]
        if page["itemsPerPage"] == 0 or start + 5 > page["totalResults"]:
            break
        start += 5
    assert len(seen) == len(set(seen))
    assert created <= set(seen)


def test_count_zero_returns_only_the_total(api: Api) -> None:
    new_user(api, "counted")
    body = api.call("GET", "/Users?count=0").json
    assert body["totalResults"] == 2  # the owner and this user
    assert body["itemsPerPage"] == 0 and body["Resources"] == []


def test_count_is_capped_at_max_results(app: Any, api: Api) -> None:
    app.config["MAX_RESULTS"] = 3
    for i in range(5):
        new_user(api, f"cap{i}")
    body = api.call("GET", "/Users?count=50").json
    assert body["itemsPerPage"] == 3 and body["totalResults"] == 6


def test_a_non_numeric_count_is_invalid_value(api: Api) -> None:
    assert_scim_error(api.call("GET", "/Users?count=ten"), 400, "invalidValue")


# --- discovery ---------------------------------------------------------------------------


def test_discovery_declares_users_groups_and_the_enterprise_extension(api: Api) -> None:
    config = api.call("GET", "/ServiceProviderConfig").json
    assert config["patch"]["supported"] and config["bulk"]["supported"]
    assert config["filter"]["maxResults"] == 1000 and config["etag"]["supported"]
    types = {r["id"]: r for r in api.call("GET", "/ResourceTypes").json["Resources"]}
    assert types["User"]["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    schema_ids = {s["id"] for s in api.call("GET", "/Schemas").json["Resources"]}
    assert {USER, GROUP, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} <= schema_ids
    assert api.call("GET", f"/Schemas/{USER}").json["id"] == USER


# --- bulk --------------------------------------------------------------------------------

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_bulk_resolves_bulk_id_references_between_operations(api: Api) -> None:
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": "u1",
            "data": {"schemas": [USER], "userName": "bulk-a"},
        },
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g1",
            "data": {"schemas": [GROUP], "displayName": "BG", "members": [{"value": "bulkId:u1"}]},
        },
    ]
    body = api.call("POST", "/Bulk", {"schemas": [BULK], "Operations": operations}).json
    assert [op["status"] for op in body["Operations"]] == ["201", "201"]
    group_id = body["Operations"][1]["location"].rsplit("/", 1)[1]
    user_id = body["Operations"][0]["location"].rsplit("/", 1)[1]
    assert member_ids(api, group_id) == {user_id}


def test_bulk_stops_after_fail_on_errors_errors(api: Api) -> None:
    bad = {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER]}}
    good = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "y",
        "data": {"schemas": [USER], "userName": "y"},
    }
    body = api.call(
        "POST", "/Bulk", {"schemas": [BULK], "failOnErrors": 1, "Operations": [bad, good]}
    ).json
    assert len(body["Operations"]) == 1 and body["Operations"][0]["status"] == "400"


def test_bulk_over_max_operations_is_413(app: Any, api: Api) -> None:
    app.config["BULK_MAX_OPERATIONS"] = 2
    op = {"method": "DELETE", "path": "/Users/x"}
    response = api.call("POST", "/Bulk", {"schemas": [BULK], "Operations": [op, op, op]})
    assert_scim_error(response, 413)


def test_bulk_over_max_payload_size_is_413(app: Any, api: Api) -> None:
    app.config["BULK_MAX_PAYLOAD_SIZE"] = 200
    op = {
        "method": "POST",
        "path": "/Users",
        "bulkId": "z",
        "data": {"schemas": [USER], "userName": "z" * 300},
    }
    assert_scim_error(api.call("POST", "/Bulk", {"schemas": [BULK], "Operations": [op]}), 413)


@pytest.mark.parametrize("schemas", [5, True, {"urn": BULK}, BULK])
def test_a_bulk_request_whose_schemas_is_no_list_is_a_400(api: Api, schemas: Any) -> None:
    """RFC 7644 §3.7: schemas is a list; a number was iterated (a 500), a string searched."""
    response = api.call("POST", "/Bulk", {"schemas": schemas, "Operations": []})
    assert_scim_error(response, 400, "invalidValue")
    assert "schemas must be a list" in response.json["detail"]


def test_a_bulk_reference_to_an_unknown_bulk_id_fails_that_operation_only(api: Api) -> None:
    operations = [
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g",
            "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:nope"}]},
        },
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": "u",
            "data": {"schemas": [USER], "userName": "after"},
        },
    ]
    body = api.call("POST", "/Bulk", {"schemas": [BULK], "Operations": operations}).json
    assert [op["status"] for op in body["Operations"]] == ["409", "201"]


# --- health ------------------------------------------------------------------------------


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json == {"status": "ok"}
    assert api.client.get("/readyz").json["database"] == "ok"


def test_nul_characters_are_refused_as_invalid_values_not_500s(api: Api) -> None:
    assert_scim_error(api.call("GET", "/Users/a%00b"), 404)  # no id holds one
    assert_scim_error(api.call("GET", '/Users?filter=userName eq "a%00b"'), 400, "invalidValue")
    body = {"schemas": [USER], "userName": "nul\u0000name"}
    assert_scim_error(api.call("POST", "/Users", body), 400, "invalidValue")
    # A NUL escaped, or raw in a UTF-16 body (JSON may come in UTF-16; json.loads reads it).
    escaped = {"schemas": [USER], "userName": "fine", "nickName": "a\u0000b"}
    assert_scim_error(api.call("POST", "/Users", escaped), 400, "invalidValue")
    utf16 = json.dumps(body, ensure_ascii=False).encode("utf-16")
    response = api.client.post(
        "/scim/v2/Users", data=utf16, headers=api.headers(), content_type="application/scim+json"
    )
    assert_scim_error(response, 400, "invalidValue")
    assert api.call("GET", "/Users?count=0").json["totalResults"] == 1  # only the owner
