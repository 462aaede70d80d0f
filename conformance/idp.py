"""Replays of what Okta and Microsoft Entra ID send, over real HTTP, against any deployment.

Each replay takes a `target` (an object with `.base`, the .../scim/v2 URL, and `.headers`,
which carry the bearer token), creates the users and groups it needs under unique names,
sends the requests byte for byte as the IdP documents them, and raises AssertionError
with the request and the answer when the server does not behave as the IdP needs.
Only the SCIM API is used, so a replay runs against any deployment and any tenant,
including one that already holds other users.

Sources of the payloads:
- Okta, "SCIM 2.0 Protocol Reference" (developer.okta.com/docs/api/openapi/okta-scim/
  guides/scim-20): requests carry no Content-Type; the test user is test.user@okta.local.
- Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
  Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/
  use-scim-to-provision-users-and-groups), and "Known issues and resolutions with SCIM 2.0
  protocol compliance" (…/application-provisioning-config-problem-scim-compatibility):
  the default PATCH shapes and those sent with the `aadOptscim062020` flag.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import requests

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# The schema URI Entra adds to every group it creates (Microsoft's "Create Group" example).
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"
ENTRA_CONTENT_TYPE = "application/scim+json; charset=utf-8"
TIMEOUT = 30


# --- the wire -------------------------------------------------------------------------------


class Idp:
    """Requests as one IdP sends them: its headers, its Content-Type (or none), its encoding."""

    def __init__(self, target: Any, content_type: str | None, user_agent: str | None = None):
        self.base = str(target.base).rstrip("/")
        headers = {k: v for k, v in dict(target.headers).items() if k.lower() != "content-type"}
        if user_agent:
            headers["User-Agent"] = user_agent
        self.headers = headers
        self.content_type = content_type

    def send(self, method: str, path: str, body: Any = None, **query: Any) -> requests.Response:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            if self.content_type:
                headers["Content-Type"] = self.content_type
        url = self.base + path + (f"?{urlencode(query, quote_via=quote)}" if query else "")
        return requests.request(method, url, data=data, headers=headers, timeout=TIMEOUT)

    def get(self, path: str, **query: Any) -> requests.Response:
        return self.send("GET", path, **query)


def okta(target: Any) -> Idp:
    """Okta's documented requests carry its User-Agent and no Content-Type at all."""
    return Idp(target, None, OKTA_USER_AGENT)


def entra(target: Any) -> Idp:
    return Idp(target, ENTRA_CONTENT_TYPE)


# --- checks ---------------------------------------------------------------------------------


def require(condition: Any, message: str) -> None:
    """An assertion that survives `python -O`: a replay is a check, not a debugging aid."""
    if not condition:
        raise AssertionError(message)


def expect(response: requests.Response, statuses: int | tuple[int, ...], doing: str) -> Any:
    """The JSON body of a response whose status is one of `statuses`; else a clear failure."""
    wanted = (statuses,) if isinstance(statuses, int) else statuses
    request = response.request
    require(
        response.status_code in wanted,
        f"{doing}: expected HTTP {' or '.join(map(str, wanted))}, got {response.status_code} "
        f"for {request.method} {request.url}\n  sent: {_text(request.body)}\n"
        f"  answer: {response.text[:800]}",
    )
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise AssertionError(f"{doing}: the answer is not JSON: {response.text[:300]}") from exc


def _text(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return (body or "(no body)")[:800]


def expect_list(response: requests.Response, doing: str) -> list[dict[str, Any]]:
    """RFC 7644 §3.4.2: a query answers with a ListResponse whose counts are integers."""
    body = expect(response, 200, doing)
    require(isinstance(body, dict), f"{doing}: expected a ListResponse, got {body!r}")
    require(LIST_RESPONSE in body.get("schemas", []), f"{doing}: not a ListResponse: {body}")
    resources = body.get("Resources", [])
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        value = body.get(key)
        optional = key != "totalResults" and value is None
        require(
            optional or (isinstance(value, int) and not isinstance(value, bool)),
            f"{doing}: {key} must be an integer (Okta requires it), got {value!r}",
        )
    require(isinstance(resources, list), f"{doing}: Resources must be a list: {body}")
    require(
        body["totalResults"] >= len(resources),
        f"{doing}: totalResults {body['totalResults']} < {len(resources)} Resources",
    )
    return resources


def expect_error(
    response: requests.Response, status: int, scim_type: str | None, doing: str
) -> None:
    body = expect(response, status, doing)
    require(isinstance(body, dict), f"{doing}: expected a SCIM Error body, got {body!r}")
    require(ERROR in body.get("schemas", []), f"{doing}: not a SCIM Error: {body}")
    require(
        str(body.get("status")) == str(status), f"{doing}: Error status is {body.get('status')!r}"
    )
    if scim_type:
        require(
            body.get("scimType") == scim_type,
            f"{doing}: expected scimType {scim_type!r}, got {body.get('scimType')!r}",
        )


def ids_of(resources: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("id")) for r in resources]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def filtered(idp: Idp, endpoint: str, expression: str, **query: Any) -> list[dict[str, Any]]:
    response = idp.get(f"/{endpoint}", filter=expression, **query)
    return expect_list(response, f"GET /{endpoint}?filter={expression}")


def fetch(idp: Idp, endpoint: str, resource_id: str, **query: Any) -> dict[str, Any]:
    body = expect(idp.get(f"/{endpoint}/{resource_id}", **query), 200, f"GET /{endpoint}/{{id}}")
    require(
        body.get("id") == resource_id,
        f"GET /{endpoint}/{resource_id} answered id {body.get('id')!r}",
    )
    return dict(body)


def member_ids(idp: Idp, group_id: str) -> set[str]:
    return {m["value"] for m in fetch(idp, "Groups", group_id).get("members") or []}


def patch(idp: Idp, endpoint: str, resource_id: str, operations: list[Any], doing: str) -> Any:
    """PATCH as both IdPs accept the answer: 200 with the resource, or 204 (RFC 7644 §3.5.2)."""
    body = {"schemas": [PATCH_OP], "Operations": operations}
    return expect(idp.send("PATCH", f"/{endpoint}/{resource_id}", body), (200, 204), doing)


def enterprise(user: dict[str, Any]) -> dict[str, Any]:
    return dict(user.get(ENTERPRISE) or {})


# --- Okta ---------------------------------------------------------------------------------


def okta_user(user_name: str, given: str = "Test") -> dict[str, Any]:
    """Okta's create body: with `password`, `groups: []` and `locale`, as its reference shows."""
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} User",
        "locale": "en-US",
        "externalId": unique("00u"),
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def okta_user_name() -> str:
    return f"{unique('test.user.')}@okta.local"


def okta_create_user(idp: Idp, user_name: str | None = None) -> dict[str, Any]:
    body = okta_user(user_name or okta_user_name())
    created = expect(idp.send("POST", "/Users", body), 201, "Okta creates a user")
    require(created.get("id"), f"Okta needs the created user's id back: {created}")
    return dict(created)


def okta_group(idp: Idp, members: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    body = {"schemas": [GROUP], "displayName": unique("Test SCIMv2 "), "members": []}
    group = expect(idp.send("POST", "/Groups", body), 201, "Okta pushes a group")
    if members:
        add = [{"value": u["id"], "display": u["userName"]} for u in members]
        patch(idp, "Groups", group["id"], [{"op": "add", "path": "members", "value": add}], "add")
    return dict(group)


def okta_existence_check_by_username(target: Any) -> None:
    """GET /Users?filter=userName eq "…"&startIndex=1&count=100, before and after creation."""
    idp = okta(target)
    user_name = okta_user_name()
    before = filtered(idp, "Users", f'userName eq "{user_name}"', startIndex=1, count=100)
    require(before == [], f"no user {user_name} exists yet, but the filter returned {before}")
    created = okta_create_user(idp, user_name)
    after = filtered(idp, "Users", f'userName eq "{user_name}"', startIndex=1, count=100)
    require(ids_of(after) == [created["id"]], f"the filter must find the user once: {after}")
    shouted = user_name.upper()
    found = filtered(idp, "Users", f'userName eq "{shouted}"', startIndex=1, count=100)
    require(
        ids_of(found) == [created["id"]],
        f"userName is caseExact=false (RFC 7643 §4.1.1): {shouted} must find {user_name}",
    )


def okta_creates_a_user_without_content_type(target: Any) -> None:
    """POST /Users with password, groups: [], locale and no Content-Type header at all."""
    idp = okta(target)
    body = okta_user(okta_user_name())
    response = idp.send("POST", "/Users", body)
    require("Content-Type" not in response.request.headers, "the replay must send no Content-Type")
    created = expect(response, 201, "Okta creates a user without a Content-Type")
    for key in ("userName", "locale", "externalId", "displayName", "active"):
        require(
            created.get(key) == body[key],
            f"{key} must round-trip: sent {body[key]!r}, got {created.get(key)!r}",
        )
    require("password" not in created, "the password must never be returned (RFC 7643 §4.1.1)")
    stored = fetch(idp, "Users", created["id"])
    require(stored.get("name", {}).get("givenName") == "Test", f"name was not stored: {stored}")
    require("password" not in stored, "the password must never be returned")


def okta_duplicate_username_is_a_conflict(target: Any) -> None:
    """The same userName again (in another case) is 409 with scimType uniqueness."""
    idp = okta(target)
    created = okta_create_user(idp)
    again = okta_user(created["userName"].upper())
    response = idp.send("POST", "/Users", again)
    expect_error(response, 409, "uniqueness", "Okta creates a user whose userName exists")


def okta_updates_a_profile_with_put(target: Any) -> None:
    """GET the user, change the profile, PUT the whole body back with its id and meta."""
    idp = okta(target)
    created = okta_create_user(idp)
    current = fetch(idp, "Users", created["id"])
    body = {
        "schemas": [USER],
        "id": created["id"],
        "userName": created["userName"],
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [
            {
                "primary": True,
                "value": created["userName"],
                "type": "work",
                "display": created["userName"],
            }
        ],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    require(current.get("active") is True, f"a new user is active: {current}")
    updated = expect(idp.send("PUT", f"/Users/{created['id']}", body), 200, "Okta PUTs a profile")
    require(
        updated.get("name") == body["name"], f"PUT must return the new name: {updated.get('name')}"
    )
    stored = fetch(idp, "Users", created["id"])
    require(
        stored.get("name") == body["name"], f"PUT must store the new name: {stored.get('name')}"
    )


def okta_deactivates_with_a_no_path_replace_of_active(target: Any) -> None:
    """PATCH {"op":"replace","value":{"active":false}}, then the same with true."""
    idp = okta(target)
    user = okta_create_user(idp)
    for active in (False, True):
        operation = {"op": "replace", "value": {"active": active}}
        answer = patch(idp, "Users", user["id"], [operation], f"Okta sets active={active}")
        if answer is not None:
            require(answer.get("active") is active, f"PATCH must answer active={active}: {answer}")
        stored = fetch(idp, "Users", user["id"])
        require(stored.get("active") is active, f"active must now be {active}: {stored}")


def okta_never_deletes_a_deactivated_user_stays_readable(target: Any) -> None:
    """Okta deactivates instead of deleting: the user stays readable, findable and listed."""
    idp = okta(target)
    user = okta_create_user(idp)
    patch(idp, "Users", user["id"], [{"op": "replace", "value": {"active": False}}], "deactivate")
    stored = fetch(idp, "Users", user["id"])
    require(stored.get("active") is False, f"the user must be inactive: {stored}")
    found = filtered(idp, "Users", f'userName eq "{user["userName"]}"', startIndex=1, count=100)
    require(ids_of(found) == [user["id"]], f"a deactivated user must still match: {found}")
    require(found[0].get("active") is False, f"the match must say active=false: {found[0]}")


def okta_syncs_a_password_with_a_no_path_replace(target: Any) -> None:
    """Password sync is a PATCH; the password is accepted and never returned."""
    idp = okta(target)
    user = okta_create_user(idp)
    secret = unique("Pw-")
    operation = {"op": "replace", "value": {"password": secret}}
    answer = patch(idp, "Users", user["id"], [operation], "Okta syncs a password")
    require(secret not in json.dumps(answer or {}), "the password must never be returned")
    stored = fetch(idp, "Users", user["id"])
    require(secret not in json.dumps(stored), "the password must never be returned")
    require(stored.get("active") is True, f"a password sync changes nothing else: {stored}")


def okta_imports_users_and_groups_page_by_page(target: Any) -> None:
    """GET /Users?startIndex=1&count=100, then +100, until totalResults: each resource once."""
    idp = okta(target)
    users = [okta_create_user(idp) for _ in range(3)]
    group = okta_group(idp)
    for endpoint, wanted in (("Users", {u["id"] for u in users}), ("Groups", {group["id"]})):
        seen: list[str] = []
        start, total = 1, 1
        while start <= total:
            response = idp.get(f"/{endpoint}", startIndex=start, count=100)
            page = expect_list(response, f"Okta imports {endpoint} from {start}")
            total = response.json()["totalResults"]
            require(page, f"the page at {start} of {total} {endpoint} is empty")
            seen += ids_of(page)
            start += 100
        require(len(seen) == len(set(seen)), f"paging returned some {endpoint} twice: {seen}")
        require(wanted <= set(seen), f"paging missed {sorted(wanted - set(seen))} in {endpoint}")


def okta_checks_a_group_exists_by_display_name(target: Any) -> None:
    """GET /Groups?filter=displayName eq "…"&startIndex=1&count=100 before and after a push."""
    idp = okta(target)
    name = unique("Test SCIMv2 ")
    before = filtered(idp, "Groups", f'displayName eq "{name}"', startIndex=1, count=100)
    require(before == [], f"group {name} does not exist yet, but the filter found {before}")
    body = {"schemas": [GROUP], "displayName": name, "members": []}
    group = expect(idp.send("POST", "/Groups", body), 201, "Okta pushes a group")
    require(group.get("displayName") == name, f"the created group must keep its name: {group}")
    after = filtered(idp, "Groups", f'displayName eq "{name}"', startIndex=1, count=100)
    require(ids_of(after) == [group["id"]], f"the filter must find the pushed group: {after}")


def okta_renames_a_group_with_its_id_in_the_value(target: Any) -> None:
    """PATCH {"op":"replace","value":{"id":"<gid>","displayName":"new"}}: the id is its own."""
    idp = okta(target)
    group = okta_group(idp)
    new_name = unique("Renamed ")
    operation = {"op": "replace", "value": {"id": group["id"], "displayName": new_name}}
    patch(idp, "Groups", group["id"], [operation], "Okta renames a group")
    stored = fetch(idp, "Groups", group["id"])
    require(stored.get("displayName") == new_name, f"the group must be renamed: {stored}")
    # Okta sends the same rename before every membership update: it must stay harmless.
    patch(idp, "Groups", group["id"], [operation], "Okta repeats the rename")
    require(fetch(idp, "Groups", group["id"]).get("displayName") == new_name, "rename lost")


def okta_adds_a_member_with_its_display(target: Any) -> None:
    """{"op":"add","path":"members","value":[{"value":uid,"display":"…"}]}."""
    idp = okta(target)
    user = okta_create_user(idp)
    group = okta_group(idp)
    add = [{"value": user["id"], "display": user["userName"]}]
    patch(idp, "Groups", group["id"], [{"op": "add", "path": "members", "value": add}], "add")
    require(member_ids(idp, group["id"]) == {user["id"]}, "the user must now be a member")
    groups = {g["value"] for g in fetch(idp, "Users", user["id"]).get("groups") or []}
    require(group["id"] in groups, f"the user's groups must list the group: {groups}")


def okta_removes_a_member_by_filter_and_adds_one_in_one_request(target: Any) -> None:
    """Okta's membership update: remove members[value eq "…"] then add, in one PATCH."""
    idp = okta(target)
    leaving, staying, joining = (okta_create_user(idp) for _ in range(3))
    group = okta_group(idp, (leaving, staying))
    operations = [
        {"op": "remove", "path": f'members[value eq "{leaving["id"]}"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": joining["id"], "display": joining["userName"]}],
        },
    ]
    patch(idp, "Groups", group["id"], operations, "Okta updates a membership")
    members = member_ids(idp, group["id"])
    require(members == {staying["id"], joining["id"]}, f"expected staying + joining, got {members}")


def okta_replaces_all_members(target: Any) -> None:
    """{"op":"replace","path":"members","value":[…]}: the membership becomes exactly that."""
    idp = okta(target)
    first, second, third = (okta_create_user(idp) for _ in range(3))
    group = okta_group(idp, (first, second))
    value = [{"value": u["id"], "display": u["userName"]} for u in (second, third)]
    operation = {"op": "replace", "path": "members", "value": value}
    patch(idp, "Groups", group["id"], [operation], "Okta pushes the full membership")
    members = member_ids(idp, group["id"])
    require(members == {second["id"], third["id"]}, f"expected exactly the pushed two: {members}")


def okta_updates_a_membership_with_put(target: Any) -> None:
    """App Integration Wizard apps update groups with PUT: name and full membership."""
    idp = okta(target)
    user, other = okta_create_user(idp), okta_create_user(idp)
    group = okta_group(idp, (other,))
    body = {
        "schemas": [GROUP],
        "displayName": group["displayName"],
        "members": [{"value": user["id"], "display": user["userName"]}],
    }
    updated = expect(idp.send("PUT", f"/Groups/{group['id']}", body), 200, "Okta PUTs a group")
    require(updated.get("displayName") == group["displayName"], f"the name must stay: {updated}")
    require(member_ids(idp, group["id"]) == {user["id"]}, "PUT must set exactly the members sent")


def okta_unlinks_a_pushed_group_and_deletes_it(target: Any) -> None:
    """DELETE /Groups/{id} answers 204; the group is gone, its members are not."""
    idp = okta(target)
    user = okta_create_user(idp)
    group = okta_group(idp, (user,))
    expect(idp.send("DELETE", f"/Groups/{group['id']}"), 204, "Okta deletes a pushed group")
    expect_error(idp.get(f"/Groups/{group['id']}"), 404, None, "GET a deleted group")
    require(fetch(idp, "Users", user["id"]).get("active") is True, "the member must remain")


def okta_gets_an_unknown_user(target: Any) -> None:
    """GET /Users/<unknown id> is a 404 SCIM Error, as Okta's spec test expects."""
    idp = okta(target)
    expect_error(idp.get(f"/Users/{uuid.uuid4()}"), 404, None, "GET an unknown user")


# --- Microsoft Entra ID -----------------------------------------------------------------------


def entra_user(user_name: str, **extra: Any) -> dict[str, Any]:
    """Microsoft's "Create User" request."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"mail.{user_name}"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
        **extra,
    }


def entra_user_name() -> str:
    return f"Test_User_{uuid.uuid4()}@testuser.com"


def entra_create_user(idp: Idp, **extra: Any) -> dict[str, Any]:
    created = expect(
        idp.send("POST", "/Users", entra_user(entra_user_name(), **extra)),
        201,
        "Entra creates a user",
    )
    require(created.get("id"), f"Entra needs the created user's id back: {created}")
    return dict(created)


def entra_group(idp: Idp, members: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """Microsoft's "Create Group" request: groups are created empty, members added by PATCH."""
    body = {
        "schemas": [GROUP, ENTRA_GROUP],
        "externalId": str(uuid.uuid4()),
        "displayName": unique("displayName "),
        "meta": {"resourceType": "Group"},
    }
    group = expect(idp.send("POST", "/Groups", body), 201, "Entra creates a group")
    if members:
        add = [{"$ref": None, "value": u["id"]} for u in members]
        patch(idp, "Groups", group["id"], [{"op": "Add", "path": "members", "value": add}], "add")
    return dict(group)


def entra_test_connection_finds_no_random_user(target: Any) -> None:
    """Test Connection: a user (and a group) named by a random GUID: 200, empty ListResponse."""
    idp = entra(target)
    for endpoint, attribute in (("Users", "userName"), ("Groups", "displayName")):
        found = filtered(idp, endpoint, f'{attribute} eq "{uuid.uuid4()}"')
        require(found == [], f"a random GUID must match no {endpoint}: {found}")


def entra_creates_a_user_with_charset_in_the_content_type(target: Any) -> None:
    """POST with Content-Type: application/scim+json; charset=utf-8, meta and roles: []."""
    idp = entra(target)
    body = entra_user(entra_user_name())
    response = idp.send("POST", "/Users", body)
    require(response.request.headers.get("Content-Type") == ENTRA_CONTENT_TYPE, "wrong replay")
    created = expect(response, 201, "Entra creates a user")
    require(created.get("userName") == body["userName"], f"userName must round-trip: {created}")
    require(
        created.get("externalId") == body["externalId"], f"externalId must round-trip: {created}"
    )
    found = filtered(idp, "Users", f'userName eq "{body["userName"]}"')
    require(ids_of(found) == [created["id"]], f"Entra finds the user it created: {found}")


def entra_creates_and_replaces_a_user_with_explicit_nulls(target: Any) -> None:
    """Microsoft's "Provision user" example sends unset attributes as null (and its schema
    URI misspelt "…enterprise:2.0User"); a null in a replacement clears the attribute."""
    idp = entra(target)
    nick = unique("jyoung")
    body = {
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": nick,
        "userName": f"{nick}@testuser.com",
        "active": True,
        "addresses": None,
        "displayName": "Joy Young",
        "emails": [{"type": "work", "value": f"{nick}@contoso.com", "primary": True}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": "Young", "givenName": "Joy"},
        "phoneNumbers": None,
        "preferredLanguage": None,
        "title": None,
        "department": None,
        "manager": None,
    }
    created = expect(idp.send("POST", "/Users", body), 201, "Entra creates a user with nulls")
    require(created.get("displayName") == "Joy Young", f"the values sent must be kept: {created}")
    require(created.get("title") is None, f"a null title is no title: {created}")
    titled = {**body, "schemas": [USER, ENTERPRISE], "title": "Engineer"}
    titled[ENTERPRISE] = {"department": None, "manager": None, "employeeNumber": "100009"}
    replaced = expect(idp.send("PUT", f"/Users/{created['id']}", titled), 200, "PUT with nulls")
    require(replaced.get("title") == "Engineer", f"PUT must set the title: {replaced}")
    require(enterprise(replaced).get("employeeNumber") == "100009", f"extension lost: {replaced}")
    cleared = expect(idp.send("PUT", f"/Users/{created['id']}", body), 200, "PUT title: null")
    require(cleared.get("title") is None, f"a null in a replacement clears the title: {cleared}")


def entra_sends_patch_ops_in_any_case(target: Any) -> None:
    """Entra capitalises op: "Add", "Replace", "Remove" (RFC 7644 §3.5.2 is case-insensitive)."""
    idp = entra(target)
    user = entra_create_user(idp)
    operations = [
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "title", "value": "Tester"},
    ]
    patch(idp, "Users", user["id"], operations, "Entra patches with capitalised ops")
    stored = fetch(idp, "Users", user["id"])
    got = (stored.get("nickName"), stored.get("displayName"), stored.get("title"))
    require(got == ("Babs", "Pvlo", "Tester"), f"Add/Replace must apply: {got}")
    patch(idp, "Users", user["id"], [{"op": "Remove", "path": "nickName"}], "Entra removes")
    require("nickName" not in fetch(idp, "Users", user["id"]), "Remove must clear nickName")


def entra_disables_a_user_with_active_as_the_string_false(target: Any) -> None:
    """Without the aadOptscim062020 flag Entra sends "False" and "True" as strings."""
    idp = entra(target)
    user = entra_create_user(idp)
    for text, active in (("False", False), ("True", True)):
        operation = {"op": "Replace", "path": "active", "value": text}
        patch(idp, "Users", user["id"], [operation], f"Entra sets active to {text!r}")
        stored = fetch(idp, "Users", user["id"])
        require(stored.get("active") is active, f'"{text}" must set active={active}: {stored}')


def entra_replaces_attributes_one_path_each(target: Any) -> None:
    """Without the flag: one Replace per attribute, filtered and extension paths included."""
    idp = entra(target)
    user = entra_create_user(idp)
    email, external = f"{unique('TestBcwqnm')}@test.microsoft.com", unique("Eqpj")
    operations = [
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": email},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": external},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
    ]
    patch(idp, "Users", user["id"], operations, "Entra replaces attributes one by one")
    stored = fetch(idp, "Users", user["id"])
    work = [e["value"] for e in stored.get("emails", []) if e.get("type") == "work"]
    require(work == [email], f"the work email must be replaced in place: {stored.get('emails')}")
    require(stored.get("name", {}).get("givenName") == "Gtfd", f"name: {stored.get('name')}")
    require(stored.get("name", {}).get("familyName") == "Pkqf", f"name: {stored.get('name')}")
    require(stored.get("externalId") == external, f"externalId: {stored.get('externalId')}")
    require(enterprise(stored).get("employeeNumber") == "Eqpj", f"extension: {stored}")


def entra_replaces_attributes_with_dotted_keys_in_a_no_path_replace(target: Any) -> None:
    """With the flag: a filtered-path Replace, then one no-path replace with dotted keys."""
    idp = entra(target)
    user = entra_create_user(idp)
    email = f"{unique('TestMhvaes')}@test.microsoft.com"
    operations = [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": email},
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE}:employeeNumber": "Aklq",
            },
        },
    ]
    patch(idp, "Users", user["id"], operations, "Entra replaces with dotted keys")
    stored = fetch(idp, "Users", user["id"])
    name = stored.get("name", {})
    require(stored.get("displayName") == "Bjfe", f"displayName: {stored.get('displayName')}")
    require((name.get("givenName"), name.get("familyName")) == ("Kkom", "Unua"), f"name: {name}")
    require(enterprise(stored).get("employeeNumber") == "Aklq", f"employeeNumber: {stored}")
    work = [e["value"] for e in stored.get("emails", []) if e.get("type") == "work"]
    require(work == [email], f"the work email must be replaced: {stored.get('emails')}")


def entra_adds_a_work_email_through_a_filter_that_matches_nothing_yet(target: Any) -> None:
    """{"op":"Add","path":"emails[type eq \\"work\\"].value",…} on a user without emails."""
    idp = entra(target)
    user = entra_create_user(idp, emails=None)
    require(not user.get("emails"), f"the user starts without emails: {user}")
    email = f"{unique('work')}@contoso.com"
    operation = {"op": "Add", "path": 'emails[type eq "work"].value', "value": email}
    patch(idp, "Users", user["id"], [operation], "Entra adds a work email")
    emails = fetch(idp, "Users", user["id"]).get("emails") or []
    require(
        [(e.get("type"), e.get("value")) for e in emails] == [("work", email)],
        f"the filter must create the work email it describes: {emails}",
    )


def entra_sets_the_manager_as_a_plain_id(target: Any) -> None:
    """{"op":"Add","path":"urn:…:enterprise:2.0:User:manager","value":"<id>"}."""
    idp = entra(target)
    manager, employee = entra_create_user(idp), entra_create_user(idp)
    operation = {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]}
    patch(idp, "Users", employee["id"], [operation], "Entra sets the manager")
    got = enterprise(fetch(idp, "Users", employee["id"])).get("manager") or {}
    require(got.get("value") == manager["id"], f"manager.value must be the id sent: {got}")


def entra_removes_only_the_member_named_in_the_value(target: Any) -> None:
    """Without the flag: {"op":"Remove","path":"members","value":[{"value":id}]} removes
    that member only; the others stay."""
    idp = entra(target)
    first, leaving, last = (entra_create_user(idp) for _ in range(3))
    group = entra_group(idp, (first, leaving, last))
    operation = {
        "op": "Remove",
        "path": "members",
        "value": [{"$ref": None, "value": leaving["id"]}],
    }
    patch(idp, "Groups", group["id"], [operation], "Entra removes one member")
    members = member_ids(idp, group["id"])
    require(members == {first["id"], last["id"]}, f"only the named member may go: {members}")


def entra_removes_a_member_with_a_filtered_path(target: Any) -> None:
    """With the flag: {"op":"remove","path":"members[value eq \\"id\\"]"}."""
    idp = entra(target)
    staying, leaving = entra_create_user(idp), entra_create_user(idp)
    group = entra_group(idp, (staying, leaving))
    operation = {"op": "remove", "path": f'members[value eq "{leaving["id"]}"]'}
    patch(idp, "Groups", group["id"], [operation], "Entra removes a member by filter")
    members = member_ids(idp, group["id"])
    require(members == {staying["id"]}, f"only the filtered member may go: {members}")


def entra_creates_a_group_with_its_microsoft_schema(target: Any) -> None:
    """The extra ADSCIM group schema URI is accepted; the group starts without members."""
    idp = entra(target)
    group = entra_group(idp)
    require(not group.get("members"), f"a created group has no members: {group}")
    stored = fetch(idp, "Groups", group["id"])
    require(stored.get("displayName") == group["displayName"], f"displayName: {stored}")
    require(stored.get("externalId") == group["externalId"], f"externalId: {stored}")


def entra_renames_a_group_and_adds_members_with_null_refs(target: Any) -> None:
    """Replace displayName by path, Add members with "$ref": null."""
    idp = entra(target)
    user = entra_create_user(idp)
    group = entra_group(idp)
    new_name = unique("updatedDisplayName ")
    rename = {"op": "Replace", "path": "displayName", "value": new_name}
    patch(idp, "Groups", group["id"], [rename], "Entra renames a group")
    add = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user["id"]}]}
    patch(idp, "Groups", group["id"], [add], "Entra adds a member")
    stored = fetch(idp, "Groups", group["id"])
    require(stored.get("displayName") == new_name, f"the group must be renamed: {stored}")
    require({m["value"] for m in stored.get("members", [])} == {user["id"]}, f"members: {stored}")


def entra_gets_groups_without_members(target: Any) -> None:
    """GET /Groups/{id}?excludedAttributes=members and
    GET /Groups?excludedAttributes=members&filter=displayName eq "…": no members."""
    idp = entra(target)
    user = entra_create_user(idp)
    group = entra_group(idp, (user,))
    one = fetch(idp, "Groups", group["id"], excludedAttributes="members")
    require("members" not in one, f"excludedAttributes=members must drop members: {one}")
    expression = f'displayName eq "{group["displayName"]}"'
    found = filtered(idp, "Groups", expression, excludedAttributes="members")
    require(ids_of(found) == [group["id"]], f"the group must be found by displayName: {found}")
    require("members" not in found[0], f"excludedAttributes=members must drop members: {found}")
    require(found[0].get("displayName") == group["displayName"], f"displayName: {found[0]}")


def entra_checks_membership_with_an_id_and_members_filter(target: Any) -> None:
    """GET /Groups?filter=id eq "G" and members eq "U": one result if U is a member, else none."""
    idp = entra(target)
    member, outsider = entra_create_user(idp), entra_create_user(idp)
    group = entra_group(idp, (member,))
    for user, wanted in ((member, [group["id"]]), (outsider, [])):
        expression = f'id eq "{group["id"]}" and members eq "{user["id"]}"'
        found = ids_of(filtered(idp, "Groups", expression))
        require(found == wanted, f"{expression}: expected {wanted}, got {found}")


def entra_looks_up_users_by_external_id(target: Any) -> None:
    """filter=externalId eq "…", and unquoted as Microsoft's example shows (externalId eq jyoung)."""
    idp = entra(target)
    external = unique("1a2b")
    user = entra_create_user(idp, externalId=external)
    for expression in (f'externalId eq "{external}"', f"externalId eq {external}"):
        found = filtered(idp, "Users", expression)
        require(ids_of(found) == [user["id"]], f"{expression} must find the user: {found}")
    missing = filtered(idp, "Users", f'externalId eq "{unique("none")}"')
    require(missing == [], f"an unknown externalId matches nobody: {missing}")


def entra_matches_users_on_their_work_email(target: Any) -> None:
    """Users may be matched on emails[type eq "work"].value instead of userName."""
    idp = entra(target)
    user = entra_create_user(idp)
    email = user["emails"][0]["value"]
    found = filtered(idp, "Users", f'emails[type eq "work"].value eq "{email}"')
    require(ids_of(found) == [user["id"]], f"the work email must find the user: {found}")


def entra_still_returns_a_deactivated_user(target: Any) -> None:
    """Soft delete is active=false; the user is still returned by GET and by userName."""
    idp = entra(target)
    user = entra_create_user(idp)
    operation = {"op": "replace", "path": "active", "value": False}
    patch(idp, "Users", user["id"], [operation], "Entra soft-deletes a user")
    require(fetch(idp, "Users", user["id"]).get("active") is False, "the user must be inactive")
    found = filtered(idp, "Users", f'userName eq "{user["userName"]}"')
    require(ids_of(found) == [user["id"]], f"a soft-deleted user must still be found: {found}")
    require(found[0].get("active") is False, f"and be shown inactive: {found[0]}")


def entra_renames_a_user_with_a_path_replace(target: Any) -> None:
    """{"op":"Replace","path":"userName","value":"…"}: the new name finds the user."""
    idp = entra(target)
    user = entra_create_user(idp)
    new_name = entra_user_name()
    operation = {"op": "Replace", "path": "userName", "value": new_name}
    patch(idp, "Users", user["id"], [operation], "Entra renames a user")
    require(fetch(idp, "Users", user["id"]).get("userName") == new_name, "userName not replaced")
    found = filtered(idp, "Users", f'userName eq "{new_name}"')
    require(ids_of(found) == [user["id"]], f"the new userName must find the user: {found}")
    old = filtered(idp, "Users", f'userName eq "{user["userName"]}"')
    require(old == [], f"the old userName must find nobody: {old}")


def entra_deletes_a_user_and_a_group(target: Any) -> None:
    """A hard delete: 204, then 404; a deleted user leaves its groups."""
    idp = entra(target)
    user, other = entra_create_user(idp), entra_create_user(idp)
    group = entra_group(idp, (user, other))
    expect(idp.send("DELETE", f"/Users/{user['id']}"), 204, "Entra deletes a user")
    expect_error(idp.get(f"/Users/{user['id']}"), 404, None, "GET a deleted user")
    require(member_ids(idp, group["id"]) == {other["id"]}, "a deleted user must leave its groups")
    expect(idp.send("DELETE", f"/Groups/{group['id']}"), 204, "Entra deletes a group")
    expect_error(idp.get(f"/Groups/{group['id']}"), 404, None, "GET a deleted group")


REPLAYS: dict[str, Callable[[Any], None]] = {
    replay.__name__: replay
    for replay in (
        okta_existence_check_by_username,
        okta_creates_a_user_without_content_type,
        okta_duplicate_username_is_a_conflict,
        okta_updates_a_profile_with_put,
        okta_deactivates_with_a_no_path_replace_of_active,
        okta_never_deletes_a_deactivated_user_stays_readable,
        okta_syncs_a_password_with_a_no_path_replace,
        okta_imports_users_and_groups_page_by_page,
        okta_checks_a_group_exists_by_display_name,
        okta_renames_a_group_with_its_id_in_the_value,
        okta_adds_a_member_with_its_display,
        okta_removes_a_member_by_filter_and_adds_one_in_one_request,
        okta_replaces_all_members,
        okta_updates_a_membership_with_put,
        okta_unlinks_a_pushed_group_and_deletes_it,
        okta_gets_an_unknown_user,
        entra_test_connection_finds_no_random_user,
        entra_creates_a_user_with_charset_in_the_content_type,
        entra_creates_and_replaces_a_user_with_explicit_nulls,
        entra_sends_patch_ops_in_any_case,
        entra_disables_a_user_with_active_as_the_string_false,
        entra_replaces_attributes_one_path_each,
        entra_replaces_attributes_with_dotted_keys_in_a_no_path_replace,
        entra_adds_a_work_email_through_a_filter_that_matches_nothing_yet,
        entra_sets_the_manager_as_a_plain_id,
        entra_removes_only_the_member_named_in_the_value,
        entra_removes_a_member_with_a_filtered_path,
        entra_creates_a_group_with_its_microsoft_schema,
        entra_renames_a_group_and_adds_members_with_null_refs,
        entra_gets_groups_without_members,
        entra_checks_membership_with_an_id_and_members_filter,
        entra_looks_up_users_by_external_id,
        entra_matches_users_on_their_work_email,
        entra_still_returns_a_deactivated_user,
        entra_renames_a_user_with_a_path_replace,
        entra_deletes_a_user_and_a_group,
    )
}
