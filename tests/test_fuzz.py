"""The fuzzer: hostile input of every kind, over real HTTP, to the live gunicorn (issue 18).

/scim/v2 (resources, filters, .search, PATCH, Bulk, discovery), /api/v1 (every endpoint
of docs/admin-api.md, mapping files) and /sso/<org>, with every kind of token, on
SQLite and PostgreSQL (the `live_server` fixture: two gunicorn workers). For every
request, tests/answers.py: no server error, no traceback, never HTML, each error in
its protocol's JSON shape and Content-Type, an answer within a bound. Each test also
replays, as explicit examples, what the fuzzing run of issue 18 found.

CI runs a fixed seed and FUZZ_EXAMPLES examples per test. Longer (README, "Fuzzing"):
SCIM_FUZZ_EXAMPLES=2000 for more, SCIM_FUZZ_SEED=N for other examples than CI's, and
SCIM_FUZZ_REPORT=FILE to append each database's figures (requests, 5xx, HTML, the slowest
answer, the workers' memory) to FILE.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from scim_server.persistence.db import Database

from . import hostile as h
from .admin_client import appoint
from .answers import Answer, assert_well_formed
from .live import (
    LiveServer,
    ScimTarget,
    cpu_seconds,
    new_organization,
    reset_peak,
    resident_kib,
    send_raw,
)
from .test_oidc_live import provider, setup_organization

__all__ = ["provider"]  # a fixture, imported to be used here

pytestmark = [
    pytest.mark.live,
    # A failing example's report of a 100 kB string is large, and still wanted.
    pytest.mark.filterwarnings(
        "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
    ),
]
# httpx refuses longer URLs; those go over a raw socket (over 32 KiB, a 414 is the answer).
URL_LIMIT_OF_HTTPX = 65_000

FUZZ_EXAMPLES = int(os.environ.get("SCIM_FUZZ_EXAMPLES", "200"))
FUZZ_SEED = os.environ.get("SCIM_FUZZ_SEED")


def fuzz(test: Callable[..., None]) -> Callable[..., None]:
    """CI's fixed seed (derandomized), or SCIM_FUZZ_SEED's; no deadline: the server is timed."""
    configured = settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=FUZZ_SEED is None,
        database=None,
        deadline=None,  # each answer's cost is bounded instead (answers.py)
        # Big and deep inputs are the point of these strategies.
        suppress_health_check=[HealthCheck.data_too_large, HealthCheck.large_base_example],
    )(test)
    return seed(int(FUZZ_SEED))(configured) if FUZZ_SEED is not None else configured


# --- the fuzzed deployment ----------------------------------------------------------------------


class Fuzzed:
    """Two organizations on the live server, the first with users, a group, OIDC and tokens.

    Not a dataclass: a failing example prints it, and its repr names no token."""

    def __init__(
        self,
        server: LiveServer,
        org: ScimTarget,
        other: ScimTarget,
        http: httpx.Client,
        fills: dict[str, str],  # placeholder -> what the request carries instead
    ) -> None:
        self.server, self.org, self.other, self.http, self.fills = server, org, other, http, fills
        postgresql = server.database_url.startswith("postgresql")
        self.backend = "postgresql" if postgresql else "sqlite"
        self.figures: Counter[str] = Counter()
        self.slowest: Answer | None = None  # the longest wait for an answer
        self.costliest: Answer | None = None  # the most CPU of the server's
        self.workers = server.worker_pids()

    def __repr__(self) -> str:
        return f"Fuzzed({self.backend}, {self.server.url})"

    def fill(self, text: str) -> str:
        for placeholder, value in self.fills.items():
            text = text.replace(placeholder, value)
        return text

    def fill_bytes(self, data: bytes) -> bytes:
        for placeholder, value in self.fills.items():
            data = data.replace(placeholder.encode(), value.encode())
        return data

    def send(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, Any] | None = None,
    ) -> Answer:
        """One request over HTTP; its answer checked (tests/answers.py) and counted."""
        url = self.fill(path) + (f"?{query_string(query, self.fill)}" if query else "")
        sent = {
            name.encode(): header_bytes(self.fill(value)) if isinstance(value, str) else value
            for name, value in (headers or {}).items()
            if value is not None
        }
        content = self.fill_bytes(body) if body else None
        if len(url) > URL_LIMIT_OF_HTTPX:
            head = b"\r\n".join([f"{method} {url} HTTP/1.1".encode(), b"Host: 127.0.0.1"])
            head += b"".join(b"\r\n" + name + b": " + value for name, value in sent.items())
            length = f"\r\nContent-Length: {len(content)}" if content else ""
            raw = head + length.encode() + b"\r\n\r\n" + (content or b"")
            return self.send_raw(unquote(urlsplit(url).path), raw, method)
        cpu, started = self.server_cpu(), time.perf_counter()
        response = self.http.request(method, url, content=content, headers=sent)
        answer = Answer.of(response, time.perf_counter() - started)
        return self.check(replace(answer, cpu_seconds=self.cpu_since(cpu)))

    def send_raw(self, path: str, data: bytes, method: str = "GET") -> Answer:
        cpu = self.server_cpu()
        raw = send_raw(self.server, self.fill_bytes(data), "HEAD" if method == "HEAD" else "GET")
        answer = Answer.of_raw(method, path, raw)
        return self.check(replace(answer, cpu_seconds=self.cpu_since(cpu)))

    def server_cpu(self) -> float | None:
        """The workers' CPU so far: this process's requests are the only ones they serve."""
        try:
            return sum(cpu_seconds(pid) for pid in self.workers)
        except OSError:  # a worker was replaced (killed for its time): measure from the next
            self.workers = self.server.worker_pids()
            return None

    def cpu_since(self, before: float | None) -> float | None:
        after = self.server_cpu()
        return None if before is None or after is None else after - before

    def check(self, answer: Answer) -> Answer:
        self.figures["requests"] += 1
        self.figures["5xx"] += answer.status >= 500
        self.figures["html"] += answer.is_html
        if self.slowest is None or answer.seconds > self.slowest.seconds:
            self.slowest = answer
        if (answer.cpu_seconds or 0) > ((self.costliest and self.costliest.cpu_seconds) or 0):
            self.costliest = answer
        assert_well_formed(answer)
        return answer

    def never_shows_the_fuzzed_organization(self, answer: Answer) -> None:
        """Another organization's token learns nothing of this one (SEATS.md §3).

        An id the request named may come back in its 404; nothing else of this one may."""
        text = answer.body.decode("utf-8", "replace")
        for secret in (self.org.slug, self.fills[h.A_USER], self.fills[h.A_GROUP]):
            if secret not in answer.path:
                assert secret not in text, f"another organization's token saw {secret!r}:\n{answer}"


def query_string(params: dict[str, Any], fill: Callable[[str], str]) -> str:
    """Percent-encoded from UTF-8, lone surrogates as their (invalid) bytes, like a broken client."""

    def encode(value: Any) -> str:
        text = value.text if isinstance(value, h.Raw) else str(value)
        return quote(fill(text).encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{encode(name)}={encode(value)}" for name, value in params.items())


def header_bytes(value: str) -> bytes:
    """httpx sends str headers as ASCII only: the rest as latin-1 (or UTF-8) bytes."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def path_segment(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="%@")


@pytest.fixture(scope="module")
def fuzzed(live_server: LiveServer, provider: str) -> Iterator[Fuzzed]:
    org, other = new_organization(live_server), new_organization(live_server)
    for target in (org, other):
        setup_organization(live_server, target, provider)  # OIDC, and a group mapping
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        user, group = _provision(client, org)
        other_user, _ = _provision(client, other)
        db = Database(live_server.database_url)
        try:
            admin_token = appoint(db, _provision(client, org)[0], "admin", "fuzz admin")
            member_token = appoint(db, _provision(client, org)[0], "member", "fuzz member")
        finally:
            db.dispose()
        bearer = {
            "scim": org.token, "owner": org.owner_api_token, "admin": admin_token,
            "member": member_token, "other_scim": other.token, "other_owner": other.owner_api_token,
        }  # fmt: skip
        fills = {f"@{kind}@": f"Bearer {token}" for kind, token in bearer.items()}
        fills |= {h.A_USER: user, h.A_GROUP: group, h.OTHER_USER: other_user, "@slug@": org.slug}
        fills["@other-slug@"] = other.slug
        fuzzed = Fuzzed(live_server, org, other, client, fills)
        yield fuzzed
    _report(fuzzed)


def _provision(client: httpx.Client, target: ScimTarget) -> tuple[str, str]:
    """A user and a group holding them, over SCIM; their ids."""
    name = f"fuzz-{time.monotonic_ns()}@{target.slug}.example"
    body = {"schemas": [h.USER], "userName": name, "emails": [{"value": name}]}
    user = client.post(f"{target.base}/Users", json=body, headers=target.headers)
    assert user.status_code == 201, user.text
    members = [{"value": user.json()["id"]}]
    body = {"schemas": [h.GROUP], "displayName": "Everyone", "members": members}
    group = client.post(f"{target.base}/Groups", json=body, headers=target.headers)
    assert group.status_code == 201, group.text
    return user.json()["id"], group.json()["id"]


def _report(fuzzed: Fuzzed) -> None:
    """SCIM_FUZZ_REPORT=FILE: one JSON line per database and test process."""
    target = os.environ.get("SCIM_FUZZ_REPORT")
    if target:
        line: dict[str, Any] = {"backend": fuzzed.backend, "examples": FUZZ_EXAMPLES}
        line |= fuzzed.figures
        for name, answer in (("slowest", fuzzed.slowest), ("costliest", fuzzed.costliest)):
            if answer is not None:
                line[name] = f"{answer.method} {answer.path[:80]} -> {answer.status}"
                line[f"{name}_s"] = round(answer.seconds, 3)
                line[f"{name}_cpu_s"] = answer.cpu_seconds
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


def scim_headers(content_type: str | None = "application/scim+json") -> dict[str, Any]:
    return {"Authorization": "@scim@", "Content-Type": content_type}


# --- /scim/v2 ----------------------------------------------------------------------------------


@fuzz
@given(
    endpoint=st.sampled_from(["Users", "Groups"]),
    replace=st.booleans(),
    body=st.one_of(h.encoded(h.users()), h.encoded(h.groups())),
    content_type=st.sampled_from(h.CONTENT_TYPES),
)
@example("Users", False, h.dumps({"schemas": [h.USER], "userName": "u" * 256}).encode(), None)
@example("Groups", False, h.dumps({"schemas": [h.GROUP], "displayName": "g" * 256}).encode(), None)
@example("Users", False, b'{"schemas": ["' + h.USER.encode() + b'"], "userName": "\\ud800"}', None)
@example(
    "Users",
    False,
    h.dumps({"schemas": [h.USER], "userName": "x", "externalId": "e" * 300}).encode(),
    None,
)
@example(
    "Users",
    True,
    h.dumps({"schemas": [h.USER], "userName": "y", "displayName": "d" * 300}).encode(),
    None,
)
@example("Users", False, h.deep(1_000).text.encode(), "application/scim+json")
@example("Groups", False, h.deep(1_000, "{").text.encode(), "application/json")
def test_resources_of_any_shape_are_answered_in_scim_json(
    fuzzed: Fuzzed, endpoint: str, replace: bool, body: bytes, content_type: str | None
) -> None:
    """Findings 2 (over 255 characters), 3 (lone surrogates), 6 (depth)."""
    resource = h.A_USER if endpoint == "Users" else h.A_GROUP
    path = f"/scim/v2/{endpoint}/{resource}" if replace else f"/scim/v2/{endpoint}"
    fuzzed.send("PUT" if replace else "POST", path, body=body, headers=scim_headers(content_type))


@fuzz
@given(
    endpoint=st.sampled_from(["/scim/v2/Users", "/scim/v2/Groups"]),
    params=h.search_parameters(),
    as_search=st.booleans(),
)
@example("/scim/v2/Users", {"filter": 'userName eq "\x00"'}, False)
@example("/scim/v2/Users", {"filter": 'userName eq "\ud800"'}, False)
@example("/scim/v2/Users", {"filter": f'{h.SEAT}:entitlements eq "claude_code"'}, False)
@example("/scim/v2/Users", {"sortBy": f"{h.SEAT}:entitlements"}, False)
@example("/scim/v2/Users", {"startIndex": str(10**30)}, False)
@example("/scim/v2/Users", {"count": str(10**30)}, True)
@example("/scim/v2/Users", {"filter": h.wide_filter(1_001, "or")}, True)
@example("/scim/v2/Groups", {"filter": h.wide_filter(1_001, "and")}, True)
@example("/scim/v2/Users", {"filter": h.nested_filter(1_000)}, True)
def test_filters_from_the_rfc_grammar_and_mutated_are_answered_in_scim_json(
    fuzzed: Fuzzed, endpoint: str, params: dict[str, Any], as_search: bool
) -> None:
    """GET ?filter= and POST .search (RFC 7644 §3.4.2, §3.4.3): findings 3, 4, 5, 6."""
    if as_search:
        body = h.dumps({"schemas": [h.SEARCH_REQUEST], **params}).encode("utf-8", "surrogatepass")
        fuzzed.send("POST", f"{endpoint}/.search", body=body, headers=scim_headers())
    else:
        fuzzed.send("GET", endpoint, query=params, headers=scim_headers(None))


@fuzz
@given(
    path=st.sampled_from(["/scim/v2/Users/.search", "/scim/v2/Groups/.search", "/scim/v2/.search"]),
    body=h.encoded(h.search_requests()),
)
@example(
    "/scim/v2/Users/.search",
    h.dumps({"schemas": [h.SEARCH_REQUEST], "attributes": "userName"}).encode(),
)
@example(
    "/scim/v2/.search", h.dumps({"schemas": [h.SEARCH_REQUEST], "excludedAttributes": 7}).encode()
)
@example("/scim/v2/Users/.search", h.dumps({"schemas": 5}).encode())
@example(
    "/scim/v2/Groups/.search", h.dumps({"schemas": [h.SEARCH_REQUEST], "sortOrder": True}).encode()
)
@example(
    "/scim/v2/.search",
    h.dumps({"schemas": [h.SEARCH_REQUEST], "startIndex": h.Raw("1" * 5_000)}).encode(),
)
def test_search_requests_of_the_wrong_types_are_answered_in_scim_json(
    fuzzed: Fuzzed, path: str, body: bytes
) -> None:
    """Finding 7: attributes not a list, schemas a number, sortOrder a boolean."""
    fuzzed.send("POST", path, body=body, headers=scim_headers())


@fuzz
@given(endpoint=st.sampled_from(["Users", "Groups"]), body=h.encoded(h.patch_operations()))
@example("Users", h.dumps({"schemas": [h.PATCH_OP], "Operations": 1.5}).encode())
@example("Groups", h.dumps({"schemas": [h.PATCH_OP], "Operations": 1.5}).encode())
@example(
    "Users",
    b'{"schemas": ["'
    + h.PATCH_OP.encode()
    + b'"], "Operations": [{"op": "replace", "value": {"displayName": "\\ud800"}}]}',
)
@example(
    "Groups",
    b'{"schemas": ["'
    + h.PATCH_OP.encode()
    + b'"], "Operations": [{"op": "add", "path": "members", "value": [{"value": "\\ud800"}]}]}',
)
@example(
    "Groups",
    h.dumps(
        {
            "schemas": [h.PATCH_OP],
            "Operations": [{"op": "remove", "path": 'members[value eq "\x00"]'}],
        }
    ).encode(),
)
def test_patch_operations_of_any_shape_are_answered_in_scim_json(
    fuzzed: Fuzzed, endpoint: str, body: bytes
) -> None:
    """RFC 7644 §3.5.2: findings 3 and 7 (Operations 1.5), member values, paths."""
    resource = h.A_USER if endpoint == "Users" else h.A_GROUP
    fuzzed.send("PATCH", f"/scim/v2/{endpoint}/{resource}", body=body, headers=scim_headers())


@fuzz
@given(body=h.encoded(h.bulk_requests()))
@example(
    h.dumps(
        {
            "schemas": [h.BULK_REQUEST],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "u1",
                    "data": {"schemas": [h.USER], "userName": "b" * 300},
                }
            ],
        }
    ).encode()
)
@example(
    h.dumps(
        {"schemas": [h.BULK_REQUEST], "failOnErrors": h.Raw("1" * 5_000), "Operations": []}
    ).encode()
)
@example(h.deep(5_000).text.encode())
def test_bulk_requests_of_any_shape_are_answered_in_scim_json(fuzzed: Fuzzed, body: bytes) -> None:
    """RFC 7644 §3.7: each operation's own error inside a 200, never the whole request's 500."""
    fuzzed.send("POST", "/scim/v2/Bulk", body=body, headers=scim_headers())


URL_TEMPLATES = [
    "/scim/v2/Users/{}", "/scim/v2/Groups/{}", "/scim/v2/Schemas/{}", "/scim/v2/ResourceTypes/{}",
    "/scim/v2/{}", "/scim/v2/Users/{}/x", "/api/v1/members/{}", "/api/v1/{}", "/sso/{}/login",
    "/sso/{}/me", "/{}",
]  # fmt: skip
URLS = [
    "/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/ResourceTypes",
    "/scim/v2/Users", "/scim/v2/Groups", "/scim/v2/Bulk", "/scim/v2/.search", "/scim/v2/Me",
    "/scim/v2", "/scim/v2/", "/healthz", "/readyz", "/api/v1/organization", "/api/v1/members",
]  # fmt: skip


@fuzz
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    url=st.one_of(
        st.sampled_from(URLS),
        st.builds(lambda template, id_: template.format(path_segment(id_)), st.sampled_from(URL_TEMPLATES), h.resource_ids()),
    ),
    authorization=h.authorizations(),
)  # fmt: skip
@example("GET", "/sso/%00/login", None)
@example("GET", "/sso/%00/login", "@scim@")
@example("GET", "/scim/v2/Users/%00", "@scim@")
@example("GET", "/scim/v2/Schemas/%ED%A0%80", "@scim@")
@example("GET", "/api/v1/members/%ED%A0%80", "@owner@")
def test_ids_and_methods_in_urls_are_answered_in_the_protocols_json(
    fuzzed: Fuzzed, method: str, url: str, authorization: str | None
) -> None:
    """Finding 4 (NUL in /sso/%00/login), and every endpoint with any id, method and token."""
    if method == "DELETE" and any(placeholder in url for placeholder in h.IDS):
        method = "GET"  # the fuzzed organization keeps its user and group
    answer = fuzzed.send(method, url, headers={"Authorization": authorization})
    if authorization in ("@other_scim@", "@other_owner@"):
        fuzzed.never_shows_the_fuzzed_organization(answer)


TOKEN_CHECKS = [
    ("GET", "/scim/v2/Users/@user-id@"), ("GET", "/scim/v2/Users"), ("GET", "/scim/v2/Schemas"),
    ("GET", "/scim/v2/Groups/@group-id@"), ("GET", "/api/v1/organization"),
    ("GET", "/api/v1/members/@user-id@"), ("GET", "/api/v1/members"), ("GET", "/api/v1/audit-events"),
    ("GET", "/api/v1/group-mappings"), ("GET", "/api/v1/billing/seats"), ("GET", "/api/v1/oidc"),
]  # fmt: skip


@fuzz
@given(check=st.sampled_from(TOKEN_CHECKS), authorization=h.authorizations())
def test_each_kind_of_token_opens_only_its_own_door(
    fuzzed: Fuzzed, check: tuple[str, str], authorization: str | None
) -> None:
    """SCIM tokens only /scim/v2, admin-API tokens only /api/v1, each only its organization."""
    method, path = check
    answer = fuzzed.send(method, path, headers={"Authorization": authorization})
    kind = (authorization or "").strip("@")
    refused = (401, 431)  # a token of 9,000 characters is a header over the limit
    if path.startswith("/scim/v2") and kind not in ("scim", "other_scim"):
        assert answer.status in refused, answer
    if path.startswith("/api/v1") and kind not in ("owner", "admin", "member", "other_owner"):
        assert answer.status in refused, answer
    if kind.startswith("other_"):
        fuzzed.never_shows_the_fuzzed_organization(answer)


@fuzz
@given(
    endpoint=st.sampled_from(["/scim/v2/Users", "/scim/v2/Groups/@group-id@", "/scim/v2/Users/@user-id@", "/api/v1/members/@user-id@", "/api/v1/group-mappings", "/api/v1/billing/seats/review"]),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH"]),
    content_type=st.sampled_from(h.CONTENT_TYPES),
    accept=st.sampled_from(h.ACCEPTS),
    if_match=st.none() | h.header_values(),
    if_none_match=st.none() | h.header_values(),
    request_id=st.none() | h.header_values(),
    body=st.one_of(st.just(b'{"schemas": []}'), st.binary(max_size=64), h.encoded(h.hostile_json(4))),
)  # fmt: skip
@example("/scim/v2/Users", "POST", "application/scim+json", None, None, None, b"\xe9\xff", b"{}")
def test_headers_and_content_types_are_answered_in_the_protocols_json(
    fuzzed: Fuzzed,
    endpoint: str,
    method: str,
    content_type: str | None,
    accept: str | None,
    if_match: bytes | None,
    if_none_match: bytes | None,
    request_id: bytes | None,
    body: bytes,
) -> None:
    authorization = "@scim@" if endpoint.startswith("/scim/v2") else "@owner@"
    headers = {
        "Authorization": authorization, "Content-Type": content_type, "Accept": accept,
        "If-Match": if_match, "If-None-Match": if_none_match, "X-Request-Id": request_id,
    }  # fmt: skip
    if method == "PUT" and endpoint == "/api/v1/group-mappings":
        method = "POST"  # the plan, not the stored mapping
    fuzzed.send(method, endpoint, body=body, headers=headers)


# --- /api/v1 -----------------------------------------------------------------------------------

SEAT_TYPES = st.sampled_from(["chat", "chat_code", "unassigned", "auto", "premium", "CHAT"])
ROLES = st.sampled_from(["member", "admin", "owner", "primary_owner", "root"])
ADMIN_BODIES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("PATCH", "/api/v1/members/@user-id@"): st.fixed_dictionaries({}, optional={"seat_type": h.maybe(SEAT_TYPES), "role": h.maybe(ROLES)}),
    ("PATCH", "/api/v1/members/@other-user-id@"): st.fixed_dictionaries({"seat_type": h.maybe(SEAT_TYPES)}),
    ("POST", "/api/v1/members/seat-assignments"): st.fixed_dictionaries({"assignments": h.maybe(st.lists(st.fixed_dictionaries({"member": h.maybe(st.sampled_from(h.IDS)), "seat_type": h.maybe(SEAT_TYPES)}), max_size=4))}),
    ("POST", "/api/v1/ownership/transfer"): st.fixed_dictionaries({"member": h.maybe(st.sampled_from([h.OTHER_USER, "nobody"]))}),
    ("POST", "/api/v1/billing/seats/review"): st.fixed_dictionaries({"seats": h.maybe(st.dictionaries(SEAT_TYPES, h.hostile_numbers(), max_size=3))}),
    ("PUT", "/api/v1/billing/seats"): st.fixed_dictionaries({"seats": h.maybe(st.dictionaries(SEAT_TYPES, h.hostile_numbers(), max_size=3))}),
    ("PUT", "/api/v1/billing/extra-usage"): st.fixed_dictionaries({"enabled": h.maybe(st.booleans())}),
}  # fmt: skip
ADMIN_QUERIES: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    ("GET", "/api/v1/organization"): st.just({}),
    ("GET", "/api/v1/billing/seats"): st.just({}),
    ("GET", "/api/v1/oidc"): st.just({}),
    ("GET", "/api/v1/members/@user-id@"): st.just({}),
    ("GET", "/api/v1/members"): st.fixed_dictionaries({}, optional={"seat_type": h.maybe(SEAT_TYPES), "role": h.maybe(ROLES), "status": h.hostile_text(), "page": h.hostile_numbers(), "per_page": h.hostile_numbers()}),
    ("GET", "/api/v1/audit-events"): st.fixed_dictionaries({}, optional={"action": h.hostile_text(), "member": h.maybe(st.sampled_from(h.IDS)), "source": h.hostile_text(), "since": h.hostile_text(), "until": st.sampled_from(["2024-01-01T00:00:00Z", "9999-99-99", "0"]), "after": h.hostile_numbers(), "limit": h.hostile_numbers(), "format": st.sampled_from(["json", "jsonl", "csv", "xml", ""])}),
    ("GET", "/api/v1/group-mappings"): st.just({}),
}  # fmt: skip


@fuzz
@given(
    call=st.one_of(
        st.sampled_from(sorted(ADMIN_BODIES)).flatmap(lambda key: st.tuples(st.just(key), h.encoded(ADMIN_BODIES[key]) | h.encoded(h.hostile_json()), st.just({}))),
        st.sampled_from(sorted(ADMIN_QUERIES)).flatmap(lambda key: st.tuples(st.just(key), st.none(), ADMIN_QUERIES[key])),
    ),
    authorization=st.sampled_from(["@owner@", "@owner@", "@admin@", "@member@"]),
)  # fmt: skip
@example((("PATCH", "/api/v1/members/@user-id@"), h.deep(1_000).text.encode(), {}), "@owner@")
@example(
    (
        ("POST", "/api/v1/members/seat-assignments"),
        b'{"assignments": [{"member": "\\ud800", "seat_type": "chat"}]}',
        {},
    ),
    "@owner@",
)
@example((("POST", "/api/v1/ownership/transfer"), b'{"member": "\\ud800"}', {}), "@owner@")
@example((("GET", "/api/v1/members"), None, {"page": str(10**30)}), "@owner@")
@example(
    (("GET", "/api/v1/audit-events"), None, {"after": "1" * 5_000, "member": "\x00"}), "@owner@"
)
def test_the_admin_api_answers_hostile_bodies_and_queries_in_its_json(
    fuzzed: Fuzzed,
    call: tuple[tuple[str, str], bytes | None, dict[str, Any]],
    authorization: str,
) -> None:
    """docs/admin-api.md, every endpoint: findings 3 ({"member": "\\ud800"}), 6 and 7."""
    (method, path), body, query = call
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    fuzzed.send(method, path, query=query, body=body, headers=headers)


MAPPING_TYPES = ["application/yaml", "text/yaml", "application/x-yaml", "application/json", "application/yaml; charset=utf-8"]  # fmt: skip
BOMB = h.alias_bomb(9, 9, "plan")


@fuzz
@given(
    method_path=st.sampled_from([("POST", "/api/v1/group-mappings/plan"), ("PUT", "/api/v1/group-mappings")]),
    source=st.one_of(h.mapping_files().map(lambda text: text.encode("utf-8", "surrogatepass")), h.encoded(h.hostile_json())),
    content_type=st.sampled_from(MAPPING_TYPES),
)  # fmt: skip
@example(("POST", "/api/v1/group-mappings/plan"), BOMB.encode(), "application/yaml")
@example(("PUT", "/api/v1/group-mappings"), BOMB.encode(), "application/yaml")
@example(
    ("POST", "/api/v1/group-mappings/plan"),
    b"plan: enterprise\nrules:\n  - group: !!int x\n    seat_type: chat\n",
    "application/yaml",
)
@example(
    ("POST", "/api/v1/group-mappings/plan"),
    b"plan: !!binary aGVsbG8=\nrules: []\n",
    "application/yaml",
)
@example(
    ("POST", "/api/v1/group-mappings/plan"),
    b"plan: !!python/object/apply:os.system ['true']\n",
    "application/yaml",
)
@example(
    ("POST", "/api/v1/group-mappings/plan"),
    b'{"plan": "enterprise", "rules": [{"group": "g", "seat_type": "chat", "priority": '
    + b"1" * 5_000
    + b"}]}",
    "application/json",
)
@example(
    ("POST", "/api/v1/group-mappings/plan"),
    b"plan: enterprise\nrules: " + b"[" * 1_000 + b"]" * 1_000,
    "application/yaml",
)
def test_mapping_files_of_any_shape_are_answered_in_the_admin_apis_json(
    fuzzed: Fuzzed, method_path: tuple[str, str], source: bytes, content_type: str
) -> None:
    """SEATS.md §5 files: findings 1 (alias bombs), 8 (tags, 5,000 digits), 6 (depth)."""
    method, path = method_path
    headers = {"Authorization": "@admin@", "Content-Type": content_type}
    fuzzed.send(method, path, body=source, headers=headers)


# --- /sso ---------------------------------------------------------------------------------------

SLUGS = [
    "@slug@",
    "@slug@",
    "@other-slug@",
    "nosuch",
    "%00",
    "%ED%A0%80",
    "..",
    "A" * 300,
    "%2F",
    "%C3%A9",
]


@fuzz
@given(
    slug=st.sampled_from(SLUGS),
    endpoint=st.sampled_from([("GET", "login"), ("GET", "callback"), ("GET", "callback"), ("GET", "me"), ("POST", "logout"), ("GET", "nosuch")]),
    params=st.fixed_dictionaries({}, optional={"code": h.hostile_text(), "state": st.sampled_from(["@state@", "x"]) | h.hostile_text(), "error": h.hostile_text(), "error_description": h.hostile_text(), "iss": h.hostile_text()}),
    state_cookie=st.sampled_from([None, "@state-cookie@", "@other-state-cookie@", "garbage", "", "a.b.c"]),
    session_cookie=st.sampled_from([None, "garbage", "@state-cookie@", "x" * 4_000]),
)  # fmt: skip
@example("%00", ("GET", "login"), {}, None, None)
@example(
    "@slug@", ("GET", "callback"), {"state": "@state@", "code": "nope"}, "@state-cookie@", None
)
@example(
    "@slug@", ("GET", "callback"), {"state": "@state@", "code": "\ud800"}, "@state-cookie@", None
)
@example(
    "@slug@", ("GET", "callback"), {"state": "@state@", "code": "x"}, "@other-state-cookie@", None
)
def test_sign_in_answers_hostile_requests_in_its_json(
    fuzzed: Fuzzed,
    sso_states: dict[str, str],
    slug: str,
    endpoint: tuple[str, str],
    params: dict[str, Any],
    state_cookie: str | None,
    session_cookie: str | None,
) -> None:
    """/sso/<org>/login, callback, me and logout (SEATS.md §6), the provider a real one."""
    method, name = endpoint
    cookies = []
    if state_cookie is not None:
        cookies.append(f"sso_state={state_cookie}")
    if session_cookie is not None:
        cookies.append(f"sso_session={session_cookie}")
    query = {key: _filled(str(value), sso_states) for key, value in params.items()}
    headers = {"Cookie": _filled("; ".join(cookies), sso_states) if cookies else None}
    fuzzed.send(method, f"/sso/{slug}/{name}", query=query, headers=headers)


def _filled(text: str, states: dict[str, str]) -> str:
    for placeholder, value in states.items():
        text = text.replace(placeholder, value)
    return text


@pytest.fixture(scope="module")
def sso_states(fuzzed: Fuzzed) -> dict[str, str]:
    """A sign-in started for each organization: a state and the cookie that holds it."""
    states = {}
    for prefix, slug in (("", fuzzed.org.slug), ("other-", fuzzed.other.slug)):
        login = fuzzed.http.get(f"/sso/{slug}/login")
        assert login.status_code == 302, login.text
        if not prefix:
            query = urlsplit(login.headers["location"]).query
            state = dict(pair.split("=", 1) for pair in query.split("&"))["state"]
            states["@state@"] = unquote(state)
        states[f"@{prefix}state-cookie@"] = cookies_of_httpx(login)["sso_state"]
    return states


def cookies_of_httpx(response: httpx.Response) -> dict[str, str]:
    values = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        values[name] = rest.split(";", 1)[0]
    return values


# --- raw HTTP ------------------------------------------------------------------------------------


@fuzz
@given(request=h.raw_requests())
@example(("/scim/v2/Users", b"GET /scim/v2/Users?filter=\xe9 HTTP/1.1\r\nHost: x\r\n\r\n"))
@example(
    (
        "/scim/v2/Users",
        b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\x7f\r\nContent-Length: 2\r\n\r\n{}",
    )
)
@example(
    (
        "/scim/v2/Users",
        b"GET /scim/v2/Users?filter=" + b"x" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    )
)
@example(
    (
        "/api/v1/organization",
        b"GET /api/v1/organization HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9 * 1024 + b"\r\n\r\n",
    )
)
@example(
    (
        "/scim/v2/Users",
        b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: @scim@\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad chunk\r\n",
    )
)
def test_raw_http_that_no_client_library_sends_is_answered_in_the_protocols_json(
    fuzzed: Fuzzed, request: tuple[str, bytes]
) -> None:
    """Finding 9: what gunicorn refuses before the application, and framing it lets through."""
    target, data = request
    fuzzed.send_raw(request_path(target), data, data.split(b" ", 1)[0].decode("latin-1"))


def request_path(target: str) -> str:
    """The path of a request target as werkzeug's request.path reads it: percent-decoded, one
    leading slash (//scim/v2//Users is /scim/v2//Users); its protocol is the answer's."""
    if target.startswith("/"):
        return "/" + unquote(target.split("?", 1)[0]).lstrip("/")
    return unquote(urlsplit(target).path) if "://" in target else ""


# --- the workers' memory -------------------------------------------------------------------------

MIB = 1024
# What a worker may keep after the hostile inputs, and reach while it reads them, above its
# resident memory before them (about 100 MiB). Issue 18's alias bomb took 1.2 GB; bounded,
# the inputs below leave 4-6 MiB and peak 11-15 MiB above it.
KEPT_KIB = 32 * MIB
PEAK_KIB = 96 * MIB
MEMORY_INPUTS = [
    ("POST", "/api/v1/group-mappings/plan", "@admin@", "application/yaml", BOMB.encode()),
    ("PUT", "/api/v1/group-mappings", "@admin@", "application/yaml", BOMB.encode()),
    ("POST", "/api/v1/group-mappings/plan", "@admin@", "application/yaml", h.alias_bomb(9, 9, "rules").encode()),
    ("POST", "/scim/v2/Users", "@scim@", "application/scim+json", h.deep(100_000).text.encode()),
    ("POST", "/scim/v2/Bulk", "@scim@", "application/scim+json", h.deep(100_000, "{").text.encode()),
    ("PATCH", "/api/v1/members/@user-id@", "@owner@", "application/json", h.deep(100_000).text.encode()),
    ("POST", "/scim/v2/Users/.search", "@scim@", "application/scim+json", h.dumps({"schemas": [h.SEARCH_REQUEST], "filter": h.wide_filter(3_000, "or")}).encode()),
    ("POST", "/scim/v2/Users", "@scim@", "application/scim+json", h.dumps({"schemas": [h.USER], "userName": "m" * 4_000_000}).encode()),
]  # fmt: skip


def test_the_workers_memory_stays_bounded_under_hostile_input(fuzzed: Fuzzed) -> None:
    """Each worker's resident memory (from /proc), before and after, and its peak meanwhile."""
    for method, path, authorization, content_type, _ in MEMORY_INPUTS:  # warm each endpoint
        body = b"{}" if "json" in content_type else b"plan: enterprise\nrules: []\n"
        headers = {"Authorization": authorization, "Content-Type": content_type}
        fuzzed.send(method, path, body=body, headers=headers)
    workers = fuzzed.server.worker_pids()
    assert len(workers) == 2, workers
    before = {pid: resident_kib(pid) for pid in workers}
    for pid in workers:
        reset_peak(pid)
    for _ in range(2 * len(workers)):  # each input to each worker, most likely
        for method, path, authorization, content_type, body in MEMORY_INPUTS:
            headers = {"Authorization": authorization, "Content-Type": content_type}
            fuzzed.send(method, path, body=body, headers=headers)
    assert fuzzed.server.worker_pids() == workers, "a worker was killed and replaced"
    for pid in workers:
        kept, peak = resident_kib(pid) - before[pid], resident_kib(pid, "VmHWM") - before[pid]
        fuzzed.figures["worker_rss_before_kib"] = max(
            fuzzed.figures["worker_rss_before_kib"], before[pid]
        )
        fuzzed.figures["worker_kept_kib"] = max(fuzzed.figures["worker_kept_kib"], kept)
        fuzzed.figures["worker_peak_above_kib"] = max(fuzzed.figures["worker_peak_above_kib"], peak)
        assert kept <= KEPT_KIB, f"worker {pid} kept {kept // MIB} MiB more than before"
        assert peak <= PEAK_KIB, f"worker {pid} peaked {peak // MIB} MiB above where it started"
