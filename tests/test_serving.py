"""scim_server/serving.py without a server: which protocol a refused request is answered in."""

from __future__ import annotations

import json

import pytest

from scim_server import errors, serving


@pytest.mark.parametrize(
    "head, path",
    [
        (b"GET /scim/v2/Users?filter=\xe9 HTTP/1.1\r\nHost: x\r\n", "/scim/v2/Users"),
        (b"\r\nPOST /api/v1/members HTTP/1.1\r\n", "/api/v1/members"),
        (b"GET http://scim.example.com/scim/v2/Groups HTTP/1.1\r\n", "/scim/v2/Groups"),
        (b"GET /scim%2Fv2/Users HTTP/1.1\r\n", "/scim/v2/Users"),
        (b"PATCH //scim/v2//Users HTTP/1.1\r\n", "/scim/v2//Users"),
        (b"OPTIONS * HTTP/1.1\r\n", ""),
        (b"GET scim/v2/Users HTTP/1.1\r\n", ""),
        (b"GET /sso/acme/login" + b"q" * 600, "/sso/acme/login" + "q" * (512 - 19)),
        (b"\x16\x03\x01\x02\x00", ""),
        (b"GET http://[x HTTP/1.1\r\n", ""),
    ],
)
def test_the_path_of_a_refused_request_is_read_from_its_first_bytes(head: bytes, path: str) -> None:
    """Percent-decoded, as the application's request.path: it picks the error's format."""
    assert serving.path_of(head[:512]) == path


def test_a_refusal_under_scim_v2_is_a_scim_error_and_elsewhere_the_admin_apis() -> None:
    refused = errors.RequestLineTooLong("too long", limit=serving.REQUEST_LINE_LIMIT)
    scim = serving.answer(refused, "/scim/v2/Users")
    head, _, body = scim.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ")
    assert b"Content-Type: application/scim+json" in head
    assert json.loads(body) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "414",
        "detail": "too long",
    }
    head, _, body = serving.answer(refused, "/api/v1/organization").partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {
        "error": {"code": "request_line_too_long", "message": "too long", "limit": 32768}
    }


def test_an_error_that_is_not_the_clients_is_a_500_without_detail() -> None:
    refused = serving.refusal(RuntimeError("the application's fault: password=secret"))
    assert refused.status == 500 and "secret" not in refused.message
