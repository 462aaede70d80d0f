"""What operators rely on: logs without secrets, 500s without tracebacks, token bookkeeping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim_server.services import tokens
from scim_server.services.users import UserService

from .conftest import Api

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def request_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("msg") == "request"]


def test_each_request_logs_one_json_line_without_token_or_password(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"schemas": [USER], "userName": "logged", "password": "Hunter2-secret"}
    api.call("POST", "/Users", body, **{"X-Request-Id": "req-123"})
    api.call("GET", '/Users?filter=userName eq "logged"')
    err = capsys.readouterr().err
    assert api.token not in err and "Hunter2-secret" not in err and "logged" not in err
    lines = request_lines(err)
    assert [line["status"] for line in lines] == [201, 200]
    assert lines[0]["request_id"] == "req-123" and lines[0]["org"] == "acme"
    assert all(isinstance(line["duration_ms"], float) for line in lines)


def test_the_request_id_is_echoed_back(api: Api) -> None:
    response = api.call("GET", "/Users", **{"X-Request-Id": "abc"})
    assert response.headers["X-Request-Id"] == "abc"
    assert len(api.call("GET", "/Users").headers["X-Request-Id"]) == 32


def test_an_unexpected_failure_is_a_scim_500_without_traceback(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database exploded: password=topsecret")

    monkeypatch.setattr(UserService, "get", broken)
    response = api.call("GET", "/Users/some-id")
    assert response.status_code == 500
    assert response.mimetype == "application/scim+json"
    assert response.json["status"] == "500"
    assert "Traceback" not in response.get_data(as_text=True)
    assert "topsecret" not in response.get_data(as_text=True)
    assert "request id" in response.json["detail"]
    assert "RuntimeError" in capsys.readouterr().err  # the traceback goes to the log


@pytest.mark.parametrize(
    "method, path",
    [
        ("OPTIONS", "/scim/v2/Users"),
        ("OPTIONS", "/healthz"),
        ("DELETE", "/scim/v2/Users/{id}"),
    ],
)
def test_an_answer_without_content_has_no_content_type_rather_than_html(
    api: Api, method: str, path: str
) -> None:
    """werkzeug's default Content-Type is text/html; no answer of this server is HTML."""
    created = api.call("POST", "/Users", {"schemas": [USER], "userName": "bodiless"})
    response = api.client.open(
        path.format(id=created.json["id"]), method=method, headers=api.headers()
    )
    assert response.status_code in (200, 204)
    assert response.data == b"" and "Content-Type" not in response.headers


def test_a_routing_redirect_is_its_location_alone_without_an_html_page(api: Api) -> None:
    """werkzeug merges the slashes of //scim/v2//Users with a 308 and a "Redirecting..." page."""
    response = api.client.get("/scim/v2//Users", headers=api.headers())
    assert response.status_code == 308 and response.headers["Location"].endswith("/scim/v2/Users")
    assert response.data == b"" and "Content-Type" not in response.headers


def test_a_tokens_last_use_is_recorded(api: Api) -> None:
    assert tokens.listing(api.db, api.slug, "scim")[0]["last_used_at"] is None
    api.call("GET", "/Users")
    assert tokens.listing(api.db, api.slug, "scim")[0]["last_used_at"] is not None


def test_token_creation_and_revocation_are_audited_without_the_secret(api: Api) -> None:
    from sqlalchemy import select

    from scim_server.persistence.models import AuditEvent

    issued = tokens.create(api.db, api.slug, "scim", "okta")
    tokens.revoke(api.db, api.slug, issued.prefix)
    with api.db.unit_of_work() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == issued.prefix).order_by(AuditEvent.pk)
        ).all()
    assert [e.action for e in events] == ["token.created", "token.revoked"]
    assert events[0].after == {"kind": "scim", "name": "okta", "prefix": issued.prefix}
    assert all(issued.secret not in str((e.before, e.after, e.reason)) for e in events)
