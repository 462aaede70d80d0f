"""What gunicorn refuses before the application sees it is answered in the protocol's JSON.

Raw bytes on a socket to the live gunicorn (httpx would refuse to send most of them), on
SQLite and PostgreSQL: a byte the request line may not hold, a control character in a
header, a request line over the limit (414), a header over the limit (431). And a filter
of several KB in the query string, as Entra and Okta send them, is served.
"""

from __future__ import annotations

import http.client
import socket
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from scim_server.serving import HEADER_FIELD_LIMIT, REQUEST_LINE_LIMIT

from .answers import SCIM_ERROR, Answer, assert_well_formed
from .live import LiveServer, ScimTarget, send_raw

pytestmark = pytest.mark.live

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
# One path per protocol: SCIM, the admin API, sign-in.
PATHS = ["/scim/v2/Users", "/api/v1/organization", "/sso/acme/login"]


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def refused(server: LiveServer, data: bytes, path: str, status: int) -> Answer:
    answer = Answer.of_raw("GET", path, send_raw(server, data))
    assert answer.status == status, answer
    assert_well_formed(answer)
    return answer


@pytest.mark.parametrize("path", PATHS)
def test_a_raw_non_ascii_byte_in_the_request_line_is_a_400_in_the_protocols_json(
    live_server: LiveServer, path: str
) -> None:
    refused(live_server, request("GET", f"{path}?filter=\xe9", "Accept: */*"), path, 400)


@pytest.mark.parametrize("path", PATHS)
def test_a_delete_character_in_the_content_type_is_a_400_in_the_protocols_json(
    live_server: LiveServer, path: str
) -> None:
    data = request("POST", path, "Content-Type: application/scim+json\x7f", body=b"{}")
    refused(live_server, data, path, 400)


@pytest.mark.parametrize("path", PATHS)
def test_a_request_line_over_the_limit_is_a_414_in_the_protocols_json(
    live_server: LiveServer, path: str
) -> None:
    long_filter = quote('userName eq "' + "x" * REQUEST_LINE_LIMIT + '"')
    answer = refused(live_server, request("GET", f"{path}?filter={long_filter}"), path, 414)
    message = answer.json().get("detail") or answer.json()["error"]["message"]
    assert f"longer than {REQUEST_LINE_LIMIT} bytes" in message
    assert ".search" in message


@pytest.mark.parametrize("path", PATHS)
def test_a_header_over_the_limit_is_a_431_in_the_protocols_json(
    live_server: LiveServer, path: str
) -> None:
    header = "X-Padding: " + "p" * 9 * 1024
    answer = refused(live_server, request("GET", path, header), path, 431)
    assert str(HEADER_FIELD_LIMIT) in answer.body.decode()


def test_the_scim_answer_to_an_unreadable_request_is_a_scim_error_without_a_scim_type(
    live_server: LiveServer,
) -> None:
    data = request("GET", "/scim/v2/Users\x01")
    answer = refused(live_server, data, "/scim/v2/Users", 400)
    body = answer.json()
    assert body["schemas"] == [SCIM_ERROR] and body["status"] == "400"
    assert "not valid HTTP/1.1" in body["detail"] and "scimType" not in body


def test_bytes_that_are_not_http_at_all_get_the_admin_apis_json_error(
    live_server: LiveServer,
) -> None:
    """A TLS ClientHello sent to the plain-HTTP port, say: no path, so no protocol."""
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
    answer = refused(live_server, hello, "", 400)
    assert answer.json()["error"]["code"] == "malformed_request"


def test_a_filter_of_several_kilobytes_in_the_query_string_is_served(
    scim_target: ScimTarget,
) -> None:
    """Entra and Okta send filters as GET query strings; gunicorn's default took 4,094 bytes."""
    names = [
        f"someone.with-a-long-name-{i:04d}@a-subsidiary-of-{scim_target.slug}.example"
        for i in range(60)
    ]
    created = httpx.post(
        f"{scim_target.base}/Users",
        json={"schemas": [USER], "userName": names[-1]},
        headers=scim_target.headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    long_filter = " or ".join(f'userName eq "{name}"' for name in names)
    url = f"{scim_target.base}/Users?filter={quote(long_filter)}"
    assert len(url) > 5000
    found = httpx.get(url, headers=scim_target.headers, timeout=10)
    assert found.status_code == 200, found.text
    assert [user["userName"] for user in found.json()["Resources"]] == [names[-1]]


def test_a_request_line_just_within_the_limit_is_served(scim_target: ScimTarget) -> None:
    nobody = quote('userName eq "nobody@example.com"')
    target = f"/scim/v2/Users?filter={nobody}&padding="
    line_without_padding = len(f"GET {target} HTTP/1.1")
    padding = "p" * (REQUEST_LINE_LIMIT - line_without_padding)
    url = scim_target.base.removesuffix("/scim/v2") + target + padding
    found = httpx.get(url, headers=scim_target.headers, timeout=10)
    assert found.status_code == 200, found.text
    assert found.json()["totalResults"] == 0


def test_an_unknown_transfer_coding_is_a_501_in_the_protocols_json(
    live_server: LiveServer,
) -> None:
    """RFC 9112 §6.1: the server does not understand it; the only 5xx a client may cause."""
    data = request("POST", "/scim/v2/Users", "Transfer-Encoding: br, chunked", body=b"")
    refused(live_server, data, "/scim/v2/Users", 501)


def test_no_body_of_an_unreadable_request_quotes_more_than_a_little_of_it(
    live_server: LiveServer,
) -> None:
    secret = uuid.uuid4().hex
    data = request("GET", "/api/v1/organization\x01" + "q" * 1000 + secret)
    answer = refused(live_server, data, "/api/v1/organization", 400)
    assert secret not in answer.body.decode()


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\nnot a size\r\n", b"3;x=\x01\r\nabc\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n"],
    ids=["size", "extension", "terminator"],
)
@pytest.mark.parametrize("protocol", ["scim", "admin"])
def test_a_malformed_chunked_body_is_a_400_in_the_protocols_json(
    scim_target: ScimTarget, live_server: LiveServer, chunks: bytes, protocol: str
) -> None:
    """gunicorn reads a chunked body as the view does: its refusal came out a 500."""
    if protocol == "scim":
        path, token, content_type = "/scim/v2/Users", scim_target.token, "application/scim+json"
    else:
        path, token, content_type = (
            "/api/v1/group-mappings",
            scim_target.owner_api_token,
            "application/yaml",
        )
    head = request(
        "PUT" if protocol == "admin" else "POST", path, f"Authorization: Bearer {token}",
        f"Content-Type: {content_type}", "Transfer-Encoding: chunked",
    )  # fmt: skip
    answer = refused(live_server, head + chunks, path, 400)
    message = answer.json().get("detail") or answer.json()["error"]["message"]
    assert "request body is not valid HTTP/1.1" in message


def test_the_live_server_runs_threaded_workers_on_postgresql_and_sync_ones_on_sqlite(
    live_server: LiveServer,
) -> None:
    """`scim-server serve` as the live server runs it: its default reaches gunicorn, so the
    refusals above are answered by the worker each database gets."""
    argv = Path(f"/proc/{live_server.pid}/cmdline").read_bytes().decode().split("\0")
    if live_server.database_url.startswith("postgresql"):
        assert argv[argv.index("--threads") + 1] == "4"
        assert argv[argv.index("--worker-class") + 1] == "scim_server.serving.ThreadedWorker"
    else:  # the configuration's worker_class, scim_server.serving.Worker (sync)
        assert "--threads" not in argv and "--worker-class" not in argv


@pytest.mark.parametrize(
    "request_head, body",
    [
        # answered before the body is read: a 405, then a 401, with more than gunicorn drains
        (b"POST /api/v1/group-mappings HTTP/1.1", b"[" * 100_000),
        (b"POST /scim/v2/Users HTTP/1.1", b" " * 100_000),
        (b"POST /scim/v2/Users HTTP/1.1", b"{}"),  # a little, which gunicorn drains
    ],
)
def test_an_answer_given_before_the_body_is_read_closes_the_connection_or_serves_the_next(
    live_server: LiveServer, scim_target: ScimTarget, request_head: bytes, body: bytes
) -> None:
    """A kept-alive connection that the server closes after saying `keep-alive` fails the
    client's next request on it ("server disconnected"): an identity provider's sync."""
    first = request_head + b"\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    second = (
        b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + scim_target.token.encode() + b"\r\n\r\n"
    )
    parts = urlsplit(live_server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(first)
        answer = http.client.HTTPResponse(sock, method="POST")
        answer.begin()
        answer.read()
        assert answer.status in (401, 405)
        if answer.getheader("Connection", "").lower() == "close" or answer.version == 10:
            return  # said: the client opens another connection
        sock.sendall(second)  # the connection was said to stay open: it must serve this
        following = http.client.HTTPResponse(sock, method="GET")
        following.begin()
        assert following.status == 200, following.read()
