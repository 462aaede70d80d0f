"""The console's session (docs/console.md): its limits, its cookie, CSRF, and access read
fresh at every request (SEATS.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow

from .admin_client import set_active
from .console_client import (
    EMAILS,
    Console,
    People,
    clock,
    people,
    redirected_to,
    signed_in,
    text,
)

__all__ = ["clock", "people"]  # fixtures, imported to be used here

IDLE = 30 * 60
ABSOLUTE = 12 * 3600


def test_a_session_ends_after_the_idle_timeout_and_says_why(
    secret_app: Any, db: Database, people: People, clock: list[float]
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    clock[0] += IDLE + 1
    assert redirected_to(browser.get("/")).startswith("/console/acme/sign-in")
    assert "signed out after 30 minutes without activity" in text(browser.get("/sign-in"))
    assert browser.get("/").status_code == 303  # and it stays ended


def test_activity_keeps_a_session_alive_until_its_absolute_lifetime(
    secret_app: Any, db: Database, people: People, clock: list[float]
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    elapsed = 0
    while elapsed + IDLE - 60 <= ABSOLUTE:
        clock[0] += IDLE - 60
        elapsed += IDLE - 60
        assert browser.get("/").status_code == 200, f"ended after {elapsed} s"
    clock[0] += IDLE - 60
    assert redirected_to(browser.get("/")).startswith("/console/acme/sign-in")
    assert "Sessions last 12 hours at most" in text(browser.get("/sign-in"))


def test_the_limits_are_settings(db: Database, people: People, clock: list[float]) -> None:
    from scim_server.app import create_app

    from .oidc_idp import SECRET_KEY

    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": SECRET_KEY, "CONSOLE_IDLE_SECONDS": 60})
    browser = signed_in(app, db, "acme", EMAILS["admin"])
    clock[0] += 59
    assert browser.get("/").status_code == 200
    clock[0] += 61
    assert browser.get("/").status_code == 303
    app.extensions["scim_db"].dispose()


def test_a_deactivated_member_loses_the_console_at_their_next_request(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    assert browser.get("/").status_code == 200
    set_active(people.acme, people.admin.id, False)
    assert redirected_to(browser.get("/")).startswith("/console/acme/sign-in")
    assert "Your access to this console has ended" in text(browser.get("/sign-in"))
    set_active(people.acme, people.admin.id, True)
    assert browser.get("/").status_code == 303  # reactivation does not revive the session


def test_a_removed_member_loses_the_console_at_their_next_request(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["member"])
    assert browser.get("/me").status_code == 200
    removed = people.acme.scim.call("DELETE", f"/Users/{people.member.id}")
    assert removed.status_code == 204
    assert redirected_to(browser.get("/me")).startswith("/console/acme/sign-in")


def test_a_demoted_admin_loses_the_overview_at_their_next_request(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    assert ">Overview<" in text(browser.get("/"))
    with db.unit_of_work(write=True) as session:
        session.execute(update(UserRow).where(UserRow.id == people.admin.id).values(role="member"))
    assert redirected_to(browser.get("/")) == "/console/acme/me"
    assert ">Overview<" not in text(browser.get("/me"))


def test_signing_out_ends_the_session_and_says_so(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    assert redirected_to(browser.post("/sign-out")) == "/console/acme/sign-in"
    assert "You have signed out." in text(browser.get("/sign-in"))
    assert browser.get("/me").status_code == 303


def test_a_state_changing_request_without_the_csrf_token_is_refused_with_a_page(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    for data in ({}, {"csrf_token": "forged"}):
        refused = browser.post("/sign-out", data, csrf=False)
        assert refused.status_code == 400
        assert refused.mimetype == "text/html"
        assert "This form has expired" in text(refused)
    assert browser.get("/me").status_code == 200  # still signed in: nothing happened


def test_htmx_requests_may_carry_the_csrf_token_in_a_header(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    token = browser.csrf()
    response = browser.client.post("/console/acme/sign-out", headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert browser.get("/me").status_code == 303


def test_another_sessions_csrf_token_is_refused(
    secret_app: Any, db: Database, people: People
) -> None:
    mine = signed_in(secret_app, db, "acme", EMAILS["owner"])
    theirs = signed_in(secret_app, db, "acme", EMAILS["admin"])
    refused = mine.post("/sign-out", {"csrf_token": theirs.csrf()}, csrf=False)
    assert refused.status_code == 400


def test_signing_in_gives_a_new_csrf_secret(secret_app: Any, db: Database, people: People) -> None:
    browser = Console(secret_app.test_client(), "acme")
    before = browser.csrf()
    browser.sign_in_with_link(db, EMAILS["admin"])
    assert browser.csrf() != before


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        ("https://console.example", True),
        ("http://scim.example", True),  # behind a proxy that ends TLS
        ("http://localhost", False),
        ("http://127.0.0.1:8000", False),
    ],
)
def test_the_session_cookie_is_httponly_lax_scoped_and_secure_but_on_the_loopback(
    secret_app: Any, db: Database, people: People, base_url: str, secure: bool
) -> None:
    response = secret_app.test_client().get("/console/acme/sign-in", base_url=base_url)
    cookie = response.headers["Set-Cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("console_session=")
    assert {"HttpOnly", "SameSite=Lax", "Path=/console/acme"} <= set(attributes)
    assert ("Secure" in attributes) is secure
    assert not any(a.startswith(("Max-Age", "Expires", "Domain")) for a in attributes)


def test_a_tampered_cookie_signs_nobody_in(secret_app: Any, db: Database, people: People) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    value = browser.cookie()
    assert value
    browser.client.set_cookie("console_session", value[:-2] + "xx", path="/console/acme")
    assert browser.get("/me").status_code == 303


@pytest.mark.parametrize("path", ["/", "/me", "/sign-in", "/no-such-page"])
def test_every_console_answer_carries_the_security_headers(
    secret_app: Any, db: Database, people: People, path: str
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    response = browser.get(path)
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'", "script-src 'self'", "style-src 'self'",
        "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'",
    ):  # fmt: skip
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    if response.mimetype == "text/html" and response.status_code == 200:
        assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(
    secret_app: Any, db: Database, people: People
) -> None:
    """The CSP would block them: a page that relied on one would break in browsers."""
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    for path in ("/", "/me"):
        html = text(browser.get(path))
        assert "style=" not in html
        assert "<style" not in html
        for script in html.split("<script")[1:]:
            assert 'src="/static/' in script.split(">", 1)[0]
        assert " on" + "click=" not in html


def test_the_request_log_never_shows_a_sign_in_links_secret(
    secret_app: Any, db: Database, people: People, capsys: pytest.CaptureFixture[str]
) -> None:
    from scim_server.services import sign_in_links

    path = sign_in_links.issue(db, "acme", EMAILS["owner"]).path
    secret = path.rsplit("/", 1)[1]
    secret_app.test_client().get(path)
    secret_app.test_client().put(path)  # a 405: no view runs, the log still redacts
    logged = capsys.readouterr().err
    assert "/console/acme/sign-in/{secret}" in logged
    assert secret not in logged


def test_the_static_files_are_served_from_the_package(secret_app: Any) -> None:
    client = secret_app.test_client()
    with client.get("/static/console/console.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    with client.get("/static/vendor/htmx-2.0.11.min.js") as htmx:
        assert htmx.status_code == 200
        assert b"htmx" in htmx.get_data()
