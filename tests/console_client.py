"""Helpers for the console's view tests: a Flask test client signed in as one member.

The test client keeps cookies per path as a browser does, so a client signed in to
/console/acme sends nothing to /console/globex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from scim_server.api.console import sessions
from scim_server.persistence.db import Database
from scim_server.services import sign_in_links

from .admin_client import Org, Person, add_member, new_org

# In a form's hidden field, or in the hx-headers every page's <body> carries.
CSRF = re.compile(r'(?:name="csrf_token" value="|"X-CSRF-Token": ")([^"]+)"')


@dataclass
class Console:
    """One browser's view of the console: its own cookies, signed in or not."""

    client: FlaskClient
    slug: str

    def get(self, path: str = "/", **kwargs: Any) -> Any:
        return self.client.get(f"/console/{self.slug}{path}", **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, csrf: bool = True) -> Any:
        form = dict(data or {})
        if csrf and "csrf_token" not in form:  # csrf() opens a page: it would take the flashes
            form["csrf_token"] = self.csrf()
        return self.client.post(f"/console/{self.slug}{path}", data=form)

    def csrf(self) -> str:
        """The CSRF token of this browser's session, as its pages carry it."""
        page = self.get("/me")
        if page.status_code != 200:  # not signed in: the sign-in page has it too
            page = self.get("/sign-in")
        found = CSRF.search(page.get_data(as_text=True))
        assert found is not None, "no CSRF token on the page"
        return found.group(1)

    def sign_in_with_link(self, db: Database, email: str) -> Any:
        path = sign_in_links.issue(db, self.slug, email).path
        landing = self.client.get(path)
        assert landing.status_code == 200, landing.get_data(as_text=True)
        token = CSRF.search(landing.get_data(as_text=True))
        assert token is not None
        return self.client.post(path, data={"csrf_token": token.group(1)})

    def cookie(self) -> str | None:
        found = self.client.get_cookie(sessions.COOKIE, path=f"/console/{self.slug}")
        return found.value if found else None


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def redirected_to(response: Any) -> str:
    assert response.status_code == 303, text(response)
    return str(response.headers["Location"])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sessions' clock, driven by the test: `clock[0] += seconds`."""
    now = [1_900_000_000.0]
    monkeypatch.setattr(sessions, "clock", lambda: now[0])
    return now


@dataclass
class People:
    acme: Org
    member: Person
    admin: Person
    owner: Person
    primary_owner: Person
    globex: Org


EMAILS = {
    "member": "mia@acme.example",
    "admin": "ada@acme.example",
    "owner": "otto@acme.example",
    "primary_owner": "owner@acme.example",
}


@pytest.fixture
def people(secret_app: Any, db: Database) -> People:
    acme = new_org(secret_app, db, "acme", seats={"chat": 15, "chat_code": 5})
    made = {
        role: add_member(acme, EMAILS[role], role=role, displayName=name)
        for role, name in (
            ("member", "Mia Member"),
            ("admin", "Ada Admin"),
            ("owner", "Otto Owner"),
        )
    }
    globex = new_org(secret_app, db, "globex")
    return People(acme, made["member"], made["admin"], made["owner"], acme.owner, globex)


def signed_in(app: Any, db: Database, slug: str, email: str) -> Console:
    browser = Console(app.test_client(), slug)
    response = browser.sign_in_with_link(db, email)
    assert response.status_code == 303, text(response)
    return browser
