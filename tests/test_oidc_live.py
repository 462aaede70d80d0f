"""End to end: a real OIDC provider (oidc-provider-mock, from PyPI) and the real server.

The server is the live gunicorn of tests/live.py (two workers, so the sign-in started on
one worker may finish on the other: the state lives in the signed cookie, not in a
process). The provider runs in a process of its own, as an IdP would; the test is the
browser and follows every redirect itself: server -> provider -> server -> /me.

A browser sends Secure cookies to http://127.0.0.1 (a trustworthy origin); `requests`
does not, so the test carries the two cookies by hand, as they were set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from scim_server.persistence.db import Database
from scim_server.services import group_mappings, oidc_settings

from .live import LIVE_SECRET_KEY, LiveServer, ScimTarget
from .test_group_mappings import WITH_EVERYONE

pytestmark = pytest.mark.live

MAPPING = WITH_EVERYONE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """`python -m oidc_provider_mock` on a free port; its issuer is the URL it is called by."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    issuer = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the OIDC provider did not start") from None
                time.sleep(0.2)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


def cookies_of(response: requests.Response) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.raw.headers.getlist("Set-Cookie"):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items() if morsel.value}


def setup_organization(server: LiveServer, target: ScimTarget, issuer: str) -> None:
    db = Database(server.database_url)
    try:
        oidc_settings.configure(
            db, LIVE_SECRET_KEY, target.slug, issuer, "scim-server", "provider-secret",
            "groups", [f"{target.slug}.example"],
        )  # fmt: skip
        group_mappings.apply_for(db, target.slug, MAPPING)
    finally:
        db.dispose()


def sign_in(server: LiveServer, slug: str, subject: str) -> tuple[requests.Response, Any]:
    """Through every redirect; returns the callback's answer and /me's JSON."""
    browser = requests.Session()
    login = browser.get(f"{server.url}/sso/{slug}/login", allow_redirects=False, timeout=10)
    assert login.status_code == 302, login.text
    state_cookie = cookies_of(login)
    authorize = login.headers["Location"]
    # The provider's page, then its form: the user picks who they are.
    assert browser.get(authorize, timeout=10).status_code == 200
    consent = browser.post(authorize, data={"sub": subject}, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    callback = consent.headers["Location"]
    assert urlsplit(callback).path == f"/sso/{slug}/callback"
    back = browser.get(callback, cookies=state_cookie, allow_redirects=False, timeout=30)
    if back.status_code != 303:
        return back, None
    me = browser.get(server.url + back.headers["Location"], cookies=cookies_of(back), timeout=10)
    assert me.status_code == 200, me.text
    return back, me.json()


def test_a_user_signs_in_through_a_real_provider_and_lands_on_the_mapped_seat_type(
    live_server: LiveServer, scim_target: ScimTarget, provider: str
) -> None:
    slug = scim_target.slug
    setup_organization(live_server, scim_target, provider)
    claims = {
        "email": f"grace@{slug}.example",
        "email_verified": True,
        "name": "Grace Hopper",
        "groups": ["Everyone"],
    }
    subject = f"grace-{slug}"
    response = requests.put(f"{provider}/users/{subject}", json=claims, timeout=10)
    assert response.status_code == 204

    back, me = sign_in(live_server, slug, subject)
    assert back.status_code == 303, back.text
    member = me["member"]
    assert member["user_name"] == f"grace@{slug}.example"
    assert member["role"] == "member"
    # Everyone -> chat, where the automatic rules alone would give chat_code.
    assert member["seat_type"] == "chat"

    # Back again after the IdP put her in Engineering: the same member, moved.
    claims["groups"] = ["Engineering", "Everyone"]
    requests.put(f"{provider}/users/{subject}", json=claims, timeout=10)
    _, again = sign_in(live_server, slug, subject)
    assert again["member"]["id"] == member["id"]
    assert again["member"]["seat_type"] == "chat_code"


def test_a_user_of_another_email_domain_is_refused_by_the_real_flow(
    live_server: LiveServer, scim_target: ScimTarget, provider: str
) -> None:
    setup_organization(live_server, scim_target, provider)
    subject = f"mallory-{scim_target.slug}"
    claims = {"email": "mallory@evil.example", "email_verified": True}
    requests.put(f"{provider}/users/{subject}", json=claims, timeout=10)
    back, _ = sign_in(live_server, scim_target.slug, subject)
    assert back.status_code == 403
    assert json.loads(back.text)["error"]["code"] == "email_domain_not_allowed"
