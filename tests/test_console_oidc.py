"""Console sign-in through the organization's OIDC provider (faked with `responses`):
/sso/<org>/login?next=/console/<org>/… comes back to the console, signed in there."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow
from scim_server.services import oidc_settings

from .admin_client import Org, new_org
from .console_client import Console, redirected_to, text
from .oidc_idp import CLIENT_ID, CLIENT_SECRET, ISSUER, SECRET_KEY, FakeProvider, idp
from .test_console_redirects import REFUSED

__all__ = ["idp"]  # fixtures, imported to be used here


@pytest.fixture
def acme(secret_app: Any, db: Database) -> Org:
    org = new_org(secret_app, db, "acme")
    oidc_settings.configure(
        db, SECRET_KEY, "acme", ISSUER, CLIENT_ID, CLIENT_SECRET, "groups", ["acme.example"]
    )
    return org


def through_the_provider(browser: Console, idp: FakeProvider, next_path: str) -> Any:
    started = browser.client.get(f"/sso/acme/login?next={next_path}")
    assert started.status_code == 302, text(started)
    state, _ = idp.authorized(started.headers["Location"])
    return browser.client.get(f"/sso/acme/callback?code=good-code&state={state}")


def test_the_sign_in_page_offers_the_identity_provider_and_comes_back_to_the_console(
    secret_app: Any, db: Database, acme: Org, idp: FakeProvider
) -> None:
    browser = Console(secret_app.test_client(), "acme")
    wanted = redirected_to(browser.get("/me"))
    page = text(browser.client.get(wanted))
    assert "Sign in with your identity provider" in page
    assert 'href="/sso/acme/login?next=/console/acme/me"' in page
    back = through_the_provider(browser, idp, "/console/acme/me")
    assert redirected_to(back) == "/console/acme/me"
    assert "sso_session=" not in " ".join(back.headers.getlist("Set-Cookie"))
    me = browser.get("/me")
    assert me.status_code == 200
    assert "Alice Liddell" in text(me)  # the member JIT made, on the seat the rules gave
    with db.unit_of_work() as session:
        alice = session.scalar(select(UserRow).where(UserRow.user_name == "alice@acme.example"))
    assert alice is not None and alice.last_sign_in_at is not None


def test_without_next_the_flow_ends_at_sso_me_as_before(
    secret_app: Any, acme: Org, idp: FakeProvider
) -> None:
    client = secret_app.test_client()
    started = client.get("/sso/acme/login")
    state, _ = idp.authorized(started.headers["Location"])
    back = client.get(f"/sso/acme/callback?code=good-code&state={state}")
    assert back.headers["Location"] == "/sso/acme/me"
    assert "console_session=" not in " ".join(back.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("value", list(REFUSED.values())[:-1], ids=list(REFUSED)[:-1])
def test_a_next_outside_this_organizations_console_is_refused_before_the_provider(
    secret_app: Any, acme: Org, idp: FakeProvider, value: str
) -> None:
    response = secret_app.test_client().get("/sso/acme/login", query_string={"next": value})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "next_not_allowed"
    assert idp.count("/.well-known/openid-configuration") == 0


def test_the_consoles_sign_in_page_refuses_a_next_outside_the_console(
    secret_app: Any, acme: Org
) -> None:
    browser = Console(secret_app.test_client(), "acme")
    refused = browser.client.get("/console/acme/sign-in", query_string={"next": "//evil.example"})
    assert refused.status_code == 400
    assert refused.mimetype == "text/html"


def test_without_oidc_the_sign_in_page_offers_only_the_link(secret_app: Any, db: Database) -> None:
    new_org(secret_app, db, "globex")
    page = text(secret_app.test_client().get("/console/globex/sign-in"))
    assert "Sign in with your identity provider" not in page
    assert "scim-server console link --org globex" in page
