"""Issue 18: hostile or malformed input is refused in its protocol's error shape, never a 500.

Each test pins one class of input the fuzzer answered with a server error, refused at the
one place that class is decoded (README "Limits"). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import sys
import time
from typing import Any

import pytest

from scim_server import cli
from scim_server.mappings_file import MappingErrors, load_mapping
from scim_server.persistence.db import Database

from .admin_client import Org, Person, acme, admin
from .conftest import Api
from .test_scim_protocol import ERROR, GROUP, PATCH, USER, assert_scim_error, new_user

__all__ = ["acme", "admin"]  # fixtures, imported to be used here

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEAT = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"


def send(api: Api, method: str, path: str, raw: str | bytes) -> Any:
    """A body sent as it is, not re-encoded: what a hostile client can put on the wire."""
    return api.client.open(
        f"/scim/v2{path}",
        method=method,
        data=raw,
        headers=api.headers(),
        content_type="application/scim+json",
    )


def detail(response: Any) -> str:
    assert response.json["schemas"] == [ERROR]
    return str(response.json["detail"])


def nested(depth: int) -> Any:
    """`depth` arrays, one inside the other."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def admin_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    error: dict[str, Any] = response.json["error"]
    assert error["code"] == code, error
    return error


# --- depth and size (finding 6) --------------------------------------------------------------


def test_json_nested_a_thousand_deep_is_refused_as_invalid_syntax_on_every_scim_endpoint(
    api: Api,
) -> None:
    deep = "[" * 1000 + "]" * 1000
    user = new_user(api, "deep@example.com")
    targets = [
        ("POST", "/Users"),
        ("PUT", f"/Users/{user['id']}"),
        ("PATCH", f"/Users/{user['id']}"),
        ("POST", "/Groups"),
        ("POST", "/Users/.search"),
        ("POST", "/.search"),
        ("POST", "/Bulk"),
    ]
    for method, path in targets:
        for raw in (
            deep,
            json.dumps({"schemas": [USER], "userName": "x"})[:-1] + f', "a": {deep}}}',
        ):
            response = send(api, method, path, raw)
            assert_scim_error(response, 400, "invalidSyntax")
            assert "nests more than 32" in detail(response)


def test_json_one_level_deeper_than_the_limit_is_refused_and_the_limit_itself_is_read(
    api: Api,
) -> None:
    # The user object is one level; its nickName 31 more makes 32, which is read (and then
    # refused by the schema: a nickName is a string); 32 more makes 33, over the limit.
    at_limit = {"schemas": [USER], "userName": "limit@example.com", "nickName": nested(31)}
    response = send(api, "POST", "/Users", json.dumps(at_limit))
    assert_scim_error(response, 400, "invalidValue")
    over = {**at_limit, "nickName": nested(32)}
    response = send(api, "POST", "/Users", json.dumps(over))
    assert_scim_error(response, 400, "invalidSyntax")
    assert "nests more than 32" in detail(response)


def test_a_wide_body_of_many_shallow_objects_is_read(api: Api) -> None:
    members = [new_user(api, f"wide{i}@example.com")["id"] for i in range(40)]
    body = {"schemas": [GROUP], "displayName": "Wide", "members": [{"value": m} for m in members]}
    response = api.call("POST", "/Groups", body)
    assert response.status_code == 201, response.json
    assert len(response.json["members"]) == 40


def test_json_nested_a_thousand_deep_is_refused_on_the_admin_api(acme: Org, admin: Person) -> None:
    for raw in ("[" * 1000 + "]" * 1000, "[" * 100_000, json.dumps({"assignments": nested(40)})):
        response = acme.call(admin.token, "POST", "/members/seat-assignments", data=raw)
        assert "nests more than 32" in admin_error(response, 400, "nesting_too_deep")["message"]


def test_a_start_index_beyond_any_database_integer_gives_an_empty_page(api: Api) -> None:
    new_user(api, "paged@example.com")
    for start in (10**30, 2**63, 2**31):
        response = api.call("GET", f"/Users?startIndex={start}")
        assert response.status_code == 200, response.json
        assert response.json["Resources"] == []
        body = {"schemas": [SEARCH], "startIndex": start}
        for path in ("/Users/.search", "/.search"):
            response = api.call("POST", path, body)
            assert response.status_code == 200, response.json
            assert response.json["Resources"] == []


def test_a_count_beyond_any_database_integer_is_capped_at_max_results(api: Api) -> None:
    new_user(api, "counted@example.com")
    for count in (10**30, -(10**30)):
        response = api.call("GET", f"/Users?count={count}")
        assert response.status_code == 200, response.json
        response = api.call("POST", "/Users/.search", {"schemas": [SEARCH], "count": count})
        assert response.status_code == 200, response.json


def test_a_start_index_that_is_no_integer_is_refused_as_invalid_value(api: Api) -> None:
    search = json.dumps({"schemas": [SEARCH]})[:-1]
    for raw in (f'{search}, "startIndex": 1e400}}', f'{search}, "count": 1.5}}'):
        assert_scim_error(send(api, "POST", "/Users/.search", raw), 400, "invalidValue")
    response = api.call("GET", f"/Users?startIndex={'9' * 5000}")
    assert_scim_error(response, 400, "invalidValue")
    assert len(detail(response)) < 200


def terms(count: int, term: str = 'userName eq "a{i}@example.com"', joiner: str = " or ") -> str:
    return joiner.join(term.format(i=i) for i in range(count))


def filtered(api: Api, resource: str, text: str) -> Any:
    return api.client.get(
        f"/scim/v2/{resource}", query_string={"filter": text}, headers=api.headers()
    )


def test_a_filter_of_more_terms_than_the_limit_is_refused_with_invalid_filter(api: Api) -> None:
    # SQLite stops at an expression tree of 1,000: the bound is the parser's, on both databases.
    for text in (terms(900, term='id eq "{i}"'), terms(201), terms(201, joiner=" and ")):
        response = filtered(api, "Users", text)
        assert_scim_error(response, 400, "invalidFilter")
        assert "more than 200 terms" in detail(response)
        body = {"schemas": [SEARCH], "filter": text}
        assert_scim_error(api.call("POST", "/.search", body), 400, "invalidFilter")


def test_a_filter_at_the_term_limit_runs_on_both_databases_whatever_its_shape(api: Api) -> None:
    new_user(api, "a7@example.com", emails=[{"value": "a7@example.com", "type": "work"}])
    shapes = [  # 200 terms each
        terms(200),
        terms(200, joiner=" and "),
        terms(200, term='not (userName ne "a{i}@example.com")'),
        terms(100, term='emails[type eq "work" and value co "a{i}@"]'),
        terms(
            100, term='(userName eq "a{i}@example.com" or displayName co "x{i}")', joiner=" and "
        ),
        "(" * 30 + terms(200, term='name.givenName ne "{i}"') + ")" * 30,
        terms(100, term='userName sw "a{i}" and emails.value ew "{i}@example.com"'),
    ]
    for text in shapes:
        response = filtered(api, "Users", text)
        assert response.status_code == 200, (text[:80], response.json)
    found = filtered(api, "Users", terms(200)).json["Resources"]
    assert [user["userName"] for user in found] == ["a7@example.com"]
    groups = filtered(api, "Groups", terms(200, term='members[value eq "{i}"]'))
    assert groups.status_code == 200, groups.json


def test_a_filter_of_a_few_kilobytes_as_entra_or_okta_send_in_a_get_works(api: Api) -> None:
    new_user(api, "a3@example.com")
    text = terms(60, term='userName eq "a{i}@example.com" or externalId eq "ext-{i}-0123456789"')
    assert 4_000 < len(text) < 8_000
    response = filtered(api, "Users", text)
    assert response.status_code == 200, response.json
    assert [user["userName"] for user in response.json["Resources"]] == ["a3@example.com"]


def test_a_filter_longer_than_the_limit_is_refused_before_it_is_parsed(api: Api) -> None:
    # Parsing costs about 8 us a parenthesis: 16 KiB is a tenth of a second at worst.
    for text in (
        'userName eq "' + "a" * 16_400 + '"',
        "(" * 8_200 + 'userName eq "a"' + ")" * 8_200,
    ):
        response = api.call("POST", "/Users/.search", {"schemas": [SEARCH], "filter": text})
        assert_scim_error(response, 400, "invalidFilter")
        assert "longer than 16,384 characters" in detail(response)
    at_limit = "(" * 8_000 + 'userName eq "a"' + ")" * 8_000
    response = api.call("POST", "/Users/.search", {"schemas": [SEARCH], "filter": at_limit})
    assert response.status_code == 200, response.json


def test_a_sort_by_or_patch_path_longer_than_1024_characters_is_refused_before_parsing(
    api: Api,
) -> None:
    # Each names one attribute, with at most a short value selection; scim2-models keeps
    # paths up to 1 KiB parsed, and parses a longer one again at every step (four times).
    user = new_user(api, "pathed-long@example.com")
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "L"}).json
    nested = "emails[" + "(" * 600 + 'value eq "a"' + ")" * 600 + "]"
    response = api.call("POST", "/Users/.search", {"schemas": [SEARCH], "sortBy": nested})
    assert_scim_error(response, 400, "invalidValue")
    assert "sortBy is longer than 1,024 characters" in detail(response)
    operation = {"op": "remove", "path": nested + ".value"}
    for path in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
        body = {"schemas": [PATCH], "Operations": [{"op": "add", "value": {}}, operation]}
        response = api.call("PATCH", path, body)
        assert_scim_error(response, 400, "invalidPath")
        assert "longer than 1,024 characters" in detail(response)
    members = " or ".join(f'value eq "{i:04}"' for i in range(50))  # 946 characters
    body = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f"members[{members}]"}]}
    assert api.call("PATCH", f"/Groups/{group['id']}", body).status_code == 204


# --- lone surrogates and NUL (findings 3 and 4) ----------------------------------------------

LONE = "\\ud800"  # as a client writes it in JSON: an escape decoding to no character


def user_with(**attributes: str) -> str:
    """A create body with raw JSON `attributes`, escapes kept as written."""
    fields = "".join(f', "{name}": {value}' for name, value in attributes.items())
    return f'{{"schemas": ["{USER}"]{fields}}}'


def patch_op(operation: str) -> str:
    """A PatchOp of one raw JSON operation."""
    return f'{{"schemas": ["{PATCH}"], "Operations": [{operation}]}}'


def test_a_lone_surrogate_in_a_scim_body_is_refused_with_invalid_value(api: Api) -> None:
    user = new_user(api, "surrogate@example.com")
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "G"}).json
    refused = [
        ("POST", "/Users", user_with(userName=f'"{LONE}"')),
        ("POST", "/Users", user_with(userName='"ok@x.example"', emails=f'[{{"value": "a{LONE}@x.example"}}]')),
        ("PUT", f"/Users/{user['id']}", user_with(userName='"ok@x.example"', nickName=f'"{LONE}"')),
        ("PATCH", f"/Users/{user['id']}", patch_op(f'{{"op": "replace", "path": "displayName", "value": "{LONE}"}}')),
        ("PATCH", f"/Users/{user['id']}", patch_op(f'{{"op": "replace", "value": {{"nickName": "x{LONE}"}}}}')),
        ("PATCH", f"/Groups/{group['id']}", patch_op(f'{{"op": "add", "path": "members", "value": [{{"value": "{LONE}"}}]}}')),
        ("POST", "/Groups", f'{{"schemas": ["{GROUP}"], "displayName": "H", "members": [{{"value": "{LONE}"}}]}}'),
        ("POST", "/Users/.search", f'{{"schemas": ["{SEARCH}"], "filter": "userName eq \\"{LONE}\\""}}'),
        ("POST", "/Users", user_with(userName='"ok@x.example"', **{f"x{LONE}": '"key"'})),
    ]  # fmt: skip
    for method, path, raw in refused:
        response = send(api, method, path, raw)
        assert_scim_error(response, 400, "invalidValue")
        assert "lone surrogate (U+D800)" in detail(response), (path, detail(response))
    # A surrogate pair is one character, escaped as ASCII-only JSON writers do.
    created = send(
        api, "POST", "/Users", user_with(userName='"pair@x.example"', nickName='"\\ud83d\\ude00"')
    )
    assert created.status_code == 201 and created.json["nickName"] == "\U0001f600"  # fmt: skip
    # Nothing else was stored: the owner, surrogate@ and pair@.
    assert api.call("GET", "/Users?count=0").json["totalResults"] == 3


def test_a_lone_surrogate_in_the_bytes_of_a_body_is_refused_as_invalid_syntax(api: Api) -> None:
    raw = user_with(userName='"a\udc80@x.example"').encode("utf-8", "surrogatepass")
    response = send(api, "POST", "/Users", raw)
    assert_scim_error(response, 400, "invalidSyntax")
    assert "UTF-8" in detail(response)


def test_a_filter_with_a_lone_surrogate_is_refused_with_invalid_value(api: Api) -> None:
    new_user(api, "filtered@example.com")
    for text in (
        f'userName eq "{LONE}"',
        f'emails[value co "{LONE}"]',
        f'userName eq "a" or not (displayName sw "{LONE}x")',
    ):
        response = filtered(api, "Users", text)
        assert_scim_error(response, 400, "invalidValue")
        assert "lone surrogate (U+D800)" in detail(response)
    response = filtered(api, "Groups", f'members[value eq "{LONE}"]')
    assert_scim_error(response, 400, "invalidValue")


def test_a_nul_escaped_in_a_filter_is_refused_with_invalid_value_on_both_databases(
    api: Api,
) -> None:
    new_user(api, "nul@example.com")
    for text in ('userName eq "\\u0000"', 'externalId eq "a\\u0000"', 'displayName co "\\u0000"'):
        response = filtered(api, "Users", text)
        assert_scim_error(response, 400, "invalidValue")
        assert "NUL character (U+0000)" in detail(response)
        body = {"schemas": [SEARCH], "filter": text}
        assert_scim_error(api.call("POST", "/.search", body), 400, "invalidValue")


def test_a_patch_path_filter_with_a_lone_surrogate_or_nul_is_refused(api: Api) -> None:
    user = new_user(api, "pathed@example.com")
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "P"}).json
    for escape in (LONE, "\\u0000"):
        add = {"op": "add", "path": f'emails[type eq "{escape}"].value', "value": "e@x.example"}
        # The filter's escape stands in the path's text: JSON escapes its backslash once more.
        raw = json.dumps({"schemas": [PATCH], "Operations": [add]})
        assert_scim_error(send(api, "PATCH", f"/Users/{user['id']}", raw), 400, "invalidValue")
        remove = {"op": "remove", "path": f'members[value eq "{escape}"]'}
        raw = json.dumps({"schemas": [PATCH], "Operations": [remove]})
        assert_scim_error(send(api, "PATCH", f"/Groups/{group['id']}", raw), 400, "invalidValue")
    assert "emails" not in api.call("GET", f"/Users/{user['id']}").json


def test_a_lone_surrogate_in_an_admin_api_body_is_refused_with_forbidden_character(
    acme: Org, admin: Person
) -> None:
    refused = [
        ("POST", "/ownership/transfer", f'{{"member": "{LONE}"}}'),
        ("POST", "/members/seat-assignments", f'{{"assignments": [{{"member": "{LONE}", "seat_type": "chat"}}]}}'),
        ("PATCH", f"/members/{admin.id}", f'{{"seat_type": "chat{LONE}"}}'),
        ("POST", "/billing/seats/review", f'{{"seats": {{"{LONE}": 3}}}}'),
    ]  # fmt: skip
    for method, path, raw in refused:
        error = admin_error(
            acme.call(acme.owner.token, method, path, data=raw), 400, "forbidden_character"
        )
        assert "lone surrogate (U+D800)" in error["message"]  # fmt: skip


def test_a_nul_in_an_admin_api_body_or_query_is_refused_with_forbidden_character(
    acme: Org,
) -> None:
    transfer = acme.call(acme.owner.token, "POST", "/ownership/transfer", {"member": "a\x00b"})
    error = admin_error(transfer, 400, "forbidden_character")
    assert error["message"] == "member holds a NUL character (U+0000), which is not allowed"
    listing = acme.call(acme.owner.token, "GET", "/audit-events", query={"action": "a\x00"})
    assert "action" in admin_error(listing, 400, "forbidden_character")["message"]


def test_a_nul_in_a_url_path_names_nothing_on_every_protocol(
    app: Any, api: Api, secret_app: Any
) -> None:
    assert_scim_error(api.call("GET", "/Users/a%00b"), 404)
    assert_scim_error(api.call("PATCH", "/Groups/%00", {"schemas": [PATCH], "Operations": []}), 404)
    admin_error(app.test_client().get("/api/v1/members/a%00b"), 404, "not_found")
    sso = app.test_client().get("/sso/%00/login")
    admin_error(sso, 404, "not_found")
    for path, status in (("/console/acme/%00", 404), ("/console/%00/", 404), ("/console/acme/sign-in?next=%00", 400)):  # fmt: skip
        page = secret_app.test_client().get(path)
        assert (page.status_code, page.mimetype) == (status, "text/html"), path


def test_a_nul_in_a_scim_query_parameter_is_refused_with_invalid_value(api: Api) -> None:
    for query in ('filter=userName eq "a%00b"', "attributes=%00", "sortBy=user%00Name"):
        assert_scim_error(api.call("GET", f"/Users?{query}"), 400, "invalidValue")


def test_a_lone_surrogate_or_nul_in_a_mapping_file_is_an_error_at_its_line(
    acme: Org, admin: Person
) -> None:
    headers = {"Authorization": f"Bearer {admin.token}"}
    yaml_file = f'plan: enterprise\nrules:\n  - group: "Eng{LONE}"\n    seat_type: chat\n'
    json_file = (
        f'{{"plan": "enterprise",\n "rules": [{{"group": "x", "seat_type": "chat{LONE}"}}]}}'
    )
    nul_file = 'plan: "enterprise\\0"\nrules: []\n'
    for body, media_type, line in (
        (yaml_file, "application/yaml", 3),
        (json_file, "application/json", 2),
        (nul_file, "application/yaml", 1),
    ):
        for method, path in (("PUT", "/group-mappings"), ("POST", "/group-mappings/plan")):
            response = acme.client.open(
                f"/api/v1{path}", method=method, data=body, headers=headers, content_type=media_type
            )
            errors = admin_error(response, 422, "invalid_mapping")["errors"]
            assert {error["line"] for error in errors} == {line}, errors
            assert "must not hold a " in errors[0]["message"], errors
    assert acme.call(admin.token, "GET", "/group-mappings").status_code == 404


# --- string lengths (finding 2) --------------------------------------------------------------


def test_a_scim_string_longer_than_its_column_is_refused_with_invalid_value_naming_the_limit(
    api: Api,
) -> None:
    user = new_user(api, "long@example.com")
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Long"}).json
    too_long = "a" * 256
    refused = [
        ("POST", "/Users", {"schemas": [USER], "userName": too_long}, "userName"),
        ("POST", "/Users", {"schemas": [USER], "userName": "x@x", "displayName": too_long}, "displayName"),
        ("POST", "/Users", {"schemas": [USER], "userName": "x@x", "externalId": too_long}, "externalId"),
        ("PUT", f"/Users/{user['id']}", {"schemas": [USER], "userName": too_long}, "userName"),
        ("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": too_long}]}, "displayName"),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": too_long}, "displayName"),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": "G", "externalId": too_long}, "externalId"),
        ("PUT", f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": too_long}, "displayName"),
        ("PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": too_long}]}, "displayName"),
    ]  # fmt: skip
    for method, path, body, attribute in refused:
        response = api.call(method, path, body)
        assert_scim_error(response, 400, "invalidValue")
        assert detail(response) == f"{attribute} must be at most 255 characters", (path, body)
    operation = {"method": "POST", "path": "/Users", "bulkId": "a", "data": refused[0][2]}
    bulk = api.call("POST", "/Bulk", {"schemas": [BULK], "Operations": [operation]}).json
    assert bulk["Operations"][0]["status"] == "400"
    # Nothing was written: the user and the group are as they were.
    assert api.call("GET", f"/Users/{user['id']}").json["userName"] == "long@example.com"
    assert api.call("GET", f"/Groups/{group['id']}").json["displayName"] == "Long"
    assert api.call("GET", "/Users?count=0").json["totalResults"] == 2


def test_a_scim_string_of_exactly_255_characters_is_stored_on_both_databases(api: Api) -> None:
    at_limit = "a" * 245 + "@x.example"
    created = new_user(api, at_limit, displayName="d" * 255, externalId="e" * 255)
    assert created["userName"] == at_limit and len(created["displayName"]) == 255
    group = {"schemas": [GROUP], "displayName": "g" * 255, "externalId": "e" * 255}
    assert api.call("POST", "/Groups", group).status_code == 201


def test_a_user_name_whose_lowercase_form_outgrows_its_column_is_refused(api: Api) -> None:
    # "İ" lowercases to two characters: the indexed comparison form would not fit.
    response = api.call("POST", "/Users", {"schemas": [USER], "userName": "İ" * 200})
    assert_scim_error(response, 400, "invalidValue")
    assert "userName" in detail(response) and "255" in detail(response)


def test_a_seat_type_longer_than_any_is_refused_not_stored(acme: Org) -> None:
    body = {"schemas": [USER, SEAT], "userName": "s@x.example", SEAT: {"seatType": "s" * 300}}
    response = acme.scim.call("POST", "/Users", body)
    assert 400 <= response.status_code < 500, response.json
    person = acme.call(
        acme.owner.token, "PATCH", f"/members/{acme.owner.id}", {"seat_type": "s" * 40}
    )
    assert person.status_code == 422, person.json  # fmt: skip


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> Any:
    """`scim-server ARGS` in this process, on the test database: (exit code, stderr)."""

    def run(*args: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr(cli, "database", lambda: db)
        monkeypatch.setenv("SCIM_SERVER_SECRET_KEY", "a-secret-key-of-32-characters-or-more")
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli.main(list(args))
        return code, capsys.readouterr().err

    return run


def test_an_operator_name_longer_than_its_column_is_refused_naming_the_limit(
    run_cli: Any, acme: Org
) -> None:
    long_email = "o" * 250 + "@x.example"
    for args, message in [
        (["org", "create", "--name", "N" * 256, "--slug", "n1", "--plan", "enterprise", "--seats", "chat=20", "--owner-email", "o@n1.example"], "name must be at most 255 characters"),
        (["org", "create", "--name", "N", "--slug", "n2", "--plan", "enterprise", "--seats", "chat=20", "--owner-email", long_email], "owner email must be at most 255 characters"),
        (["token", "create", "--org", "acme", "--name", "t" * 256], "name must be at most 255 characters"),
        (["org", "oidc", "set", "--org", "acme", "--issuer", "https://idp.example/" + "i" * 1024, "--client-id", "c", "--allowed-domains", "acme.example", "--client-secret-stdin"], "issuer must be at most 1,024 characters"),
        (["org", "oidc", "set", "--org", "acme", "--issuer", "https://idp.example", "--client-id", "c" * 256, "--allowed-domains", "acme.example", "--client-secret-stdin"], "client id must be at most 255 characters"),
        (["org", "oidc", "set", "--org", "acme", "--issuer", "https://idp.example", "--client-id", "c", "--groups-claim", "g" * 256, "--allowed-domains", "acme.example", "--client-secret-stdin"], "groups claim must be at most 255 characters"),
    ]:  # fmt: skip
        code, err = run_cli(*args, stdin="s3cret\n")
        assert (code, err) == (1, f"error: {message}\n"), args  # refused by a rule (README)


def test_a_token_label_the_server_derives_from_a_long_email_is_cut_to_fit(
    run_cli: Any, db: Database
) -> None:
    email = "o" * 244 + "@x.example"  # 254 characters: "… (owner)" would be 262
    args = ["org", "create", "--name", "N", "--slug", "n3", "--plan", "enterprise"]
    code, err = run_cli(*args, "--seats", "chat=20", "--owner-email", email)
    assert (code, err) == (0, "")
    code, err = run_cli("api-token", "create", "--org", "n3", "--email", email)
    assert (code, err) == (0, "")


def test_an_operator_argument_that_is_no_text_is_refused_not_a_traceback(run_cli: Any) -> None:
    # A byte that is not UTF-8 on the command line reaches Python as a lone surrogate.
    name = b"Acme \xff".decode("utf-8", "surrogateescape")
    args = ["org", "create", "--name", name, "--slug", "n4", "--plan", "enterprise"]
    code, err = run_cli(*args, "--seats", "chat=20", "--owner-email", "o@n4.example")
    assert (code, err) == (
        2,
        "error: --name holds a lone surrogate (U+DCFF), which is not allowed\n",
    )


# --- the seat extension's entitlements (finding 5) -------------------------------------------


def test_the_seat_entitlements_in_a_filter_are_refused_as_derived_from_the_seat_type(
    api: Api,
) -> None:
    new_user(api, "entitled@example.com")
    for text in (
        f'{SEAT}:entitlements eq "claude_code"',
        f"{SEAT}:entitlements pr",
        f'not ({SEAT}:entitlements co "code")',
        f'userName eq "x" or {SEAT}:entitlements ne "claude_apps"',
    ):
        response = filtered(api, "Users", text)
        assert_scim_error(response, 400, "invalidFilter")
        assert "follows from seatType" in detail(response), text
    # The core User's entitlements are stored, and filter as before.
    assert filtered(api, "Users", 'entitlements.value eq "x"').json["totalResults"] == 0


def test_the_seat_entitlements_as_sort_by_are_refused_with_invalid_value(api: Api) -> None:
    response = api.call("GET", f"/Users?sortBy={SEAT}:entitlements")
    assert_scim_error(response, 400, "invalidValue")
    assert "follows from seatType" in detail(response)
    body = {"schemas": [SEARCH], "sortBy": f"{SEAT}:entitlements"}
    assert_scim_error(api.call("POST", "/.search", body), 400, "invalidValue")
    assert api.call("GET", f"/Users?sortBy={SEAT}:seatType").status_code == 200


# --- JSON types (finding 7) ------------------------------------------------------------------


def test_a_search_request_member_of_the_wrong_json_type_is_refused_with_invalid_value(
    api: Api,
) -> None:
    for member, value in [
        ("schemas", 5),
        ("schemas", SEARCH),  # a string, not a list of them
        ("attributes", 5),
        ("attributes", [1]),
        ("excludedAttributes", {"userName": True}),
        ("filter", ["userName pr"]),
        ("sortBy", 5),
        ("sortOrder", True),
        ("startIndex", "2"),
        ("count", [10]),
    ]:
        body = {"schemas": [SEARCH], member: value}
        for path in ("/Users/.search", "/Groups/.search", "/.search"):
            response = api.call("POST", path, body)
            assert_scim_error(response, 400, "invalidValue")
            assert member in detail(response), (path, member, detail(response))
    # What a search request may hold still works, attributes also as one comma-separated string.
    body = {"schemas": [SEARCH], "attributes": "userName", "sortOrder": "descending", "count": 1}
    assert api.call("POST", "/Users/.search", body).status_code == 200


def test_patch_operations_that_are_not_a_list_of_objects_are_refused_with_invalid_value(
    api: Api,
) -> None:
    user = new_user(api, "typed@example.com")
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "T"}).json
    for operations in (1.5, "replace", {"op": "replace", "value": {"nickName": "x"}}, [1], None):
        body = {"schemas": [PATCH], "Operations": operations}
        for path in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
            response = api.call("PATCH", path, body)
            assert_scim_error(response, 400, "invalidValue")
            assert "operations" in detail(response).lower(), (operations, detail(response))


# --- mapping files: what YAML expands to, and what its tags build (findings 1 and 8) ---------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
plan: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
rules: []
"""


def mapping_errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(MappingErrors) as refused:
        load_mapping(text, "enterprise")
    return [(error.line, error.message) for error in refused.value.errors]


def test_a_yaml_alias_bomb_is_refused_before_anything_expands_it() -> None:
    started = time.perf_counter()
    [(line, message)] = mapping_errors(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    assert line == 6  # where the values first exceed the bound: f's 100,000-odd
    assert (
        message
        == "not valid YAML: the file holds more than 100,000 values once its aliases are expanded"
    )


def test_yaml_aliases_beyond_the_limit_are_refused_and_a_thousand_are_read() -> None:
    def with_aliases(count: int) -> str:
        rules = "".join(f"  - {{group: G{i}, seat_type: *t}}\n" for i in range(count))
        return f"plan: enterprise\nrules:\n  - {{group: G, seat_type: &t chat}}\n{rules}"

    [(_, message)] = mapping_errors(with_aliases(1_001))
    assert message == "not valid YAML: the file uses more than 1,000 aliases"
    assert len(load_mapping(with_aliases(1_000), "enterprise").rules) == 1_001


def test_yaml_nested_deeper_than_the_limit_is_refused_with_its_line() -> None:
    deep = "[" * 17 + "]" * 17
    [(line, message)] = mapping_errors(f"plan: enterprise\nrules:\n  - group: {deep}\n")
    assert line == 3 and "nested too deeply" in message and "16" in message
    [(line, message)] = mapping_errors("plan: enterprise\nrules: &r [*r]\n")
    assert (line, message) == (2, "not valid YAML: an alias stands inside the collection it names")


def test_a_yaml_alias_bomb_is_a_422_on_the_admin_api_and_an_error_of_the_cli(
    acme: Org, admin: Person, run_cli: Any, tmp_path: Any
) -> None:
    headers = {"Authorization": f"Bearer {admin.token}"}
    for method, path in (("PUT", "/group-mappings"), ("POST", "/group-mappings/plan")):
        response = acme.client.open(
            f"/api/v1{path}", method=method, data=BILLION_LAUGHS, headers=headers,
            content_type="application/yaml",
        )  # fmt: skip
        [error] = admin_error(response, 422, "invalid_mapping")["errors"]
        assert error["line"] == 6
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    for command in ("check", "plan", "apply"):
        code, err = run_cli("mappings", command, str(bomb), "--org", "acme")
        assert code == 1 and err.startswith(f"{bomb}:6: not valid YAML: the file holds more"), err


def test_a_yaml_tag_whose_value_it_cannot_build_is_an_error_at_its_line() -> None:
    for tagged in ("!!int x", "!!float x", "!!bool x", "!!timestamp x", "!!int " + "9" * 5_000):
        [(line, message)] = mapping_errors(
            f"plan: enterprise\nrules:\n  - {{group: {tagged}, seat_type: chat}}\n"
        )
        assert line == 3 and message.startswith("not valid YAML: "), (tagged, message)
        assert len(message) < 200
    [(line, message)] = mapping_errors("plan: !!binary aGVsbG8=\nrules: []\n")
    assert line == 1 and "tag:yaml.org,2002:binary" in message


def test_a_5000_digit_integer_in_a_mapping_sent_as_json_is_an_error_at_its_line(
    acme: Org, admin: Person
) -> None:
    digits = "9" * 5_000
    body = f'{{"plan": "enterprise",\n "rules": [\n  {{"group": "x", "seat_type": "chat", "priority": {digits}}}]}}'
    headers = {"Authorization": f"Bearer {admin.token}"}
    response = acme.client.put(
        "/api/v1/group-mappings", data=body, headers=headers, content_type="application/json"
    )
    [error] = admin_error(response, 422, "invalid_mapping")["errors"]
    assert error["line"] == 3 and len(error["message"]) < 200


def test_a_python_tag_is_refused_and_nothing_runs(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    for tag in ("!!python/object/apply:os.system", "!!python/object/new:os.system"):
        text = f"plan: {tag} ['touch {marker}']\nrules: []\n"
        [(line, message)] = mapping_errors(text)
        assert line == 1 and "could not determine a constructor" in message
    assert not marker.exists()


# --- removing by value (found beside the list: a 4 MB PATCH held a worker 45 s) --------------


def test_removing_thousands_of_members_by_value_costs_what_it_names(api: Api) -> None:
    users = [new_user(api, f"member{i}@example.com")["id"] for i in range(60)]
    body = {"schemas": [GROUP], "displayName": "Big", "members": [{"value": u} for u in users]}
    group = api.call("POST", "/Groups", body).json
    unknown = [{"value": f"00000000-0000-7000-8000-{i:012d}"} for i in range(20_000)]
    remove = {
        "op": "Remove",
        "path": "members",
        "value": [{"value": u} for u in users[:50]] + unknown,
    }
    started = time.perf_counter()
    response = api.call(
        "PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [remove]}
    )
    assert response.status_code == 204, response.json
    assert time.perf_counter() - started < 3  # it was 45 s for 70,000 values
    members = api.call("GET", f"/Groups/{group['id']}").json["members"]
    assert sorted(m["value"] for m in members) == sorted(users[50:])


def test_member_operations_by_value_apply_in_their_order(api: Api) -> None:
    user = new_user(api, "ordered@example.com")["id"]
    group = api.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "O"}).json
    add = {"op": "add", "path": "members", "value": [{"value": user}]}
    remove = {"op": "remove", "path": "members", "value": [{"value": user}]}
    for operations, expected in (([add, remove], []), ([remove, add], [user])):
        body = {
            "schemas": [PATCH],
            "Operations": [*operations, {"op": "replace", "path": "displayName", "value": "P"}],
        }
        assert api.call("PATCH", f"/Groups/{group['id']}", body).status_code == 204
        found = api.call("GET", f"/Groups/{group['id']}").json
        assert [m["value"] for m in found.get("members", [])] == expected
        assert found["displayName"] == "P"


def test_a_remove_by_more_values_than_a_filter_has_terms_is_refused_for_users(api: Api) -> None:
    user = new_user(api, "emails@example.com", emails=[{"value": "e@x.example", "type": "work"}])
    values = [{"value": f"e{i}@x.example"} for i in range(20_000)]
    path = f"/Users/{user['id']}"
    for count in (201, 20_000):
        remove = {"op": "remove", "path": "emails", "value": values[:count]}
        started = time.perf_counter()
        response = api.call("PATCH", path, {"schemas": [PATCH], "Operations": [remove]})
        assert_scim_error(response, 400, "invalidValue")
        assert "more than 200" in detail(response)
        assert time.perf_counter() - started < 1  # refused before a filter of them is parsed
    remove = {"op": "remove", "path": "emails", "value": [{"value": "e@x.example"}, *values[:199]]}
    response = api.call("PATCH", path, {"schemas": [PATCH], "Operations": [remove]})
    assert response.status_code == 200 and "emails" not in response.json


def test_a_filter_instant_no_utc_time_can_hold_is_refused_with_invalid_filter(api: Api) -> None:
    # Found beside the list: the year 1 east of Greenwich is before UTC's year 1.
    for text in (
        'meta.created gt "0001-01-01T00:00:00+14:00"',
        'meta.lastModified lt "9999-12-31T23:59:59-14:00"',
    ):
        response = filtered(api, "Users", text)
        assert_scim_error(response, 400, "invalidFilter")
        assert "out of range" in detail(response)
    assert filtered(api, "Users", 'meta.created gt "0001-01-01T00:00:00Z"').status_code == 200
