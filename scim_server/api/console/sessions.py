"""The console's session: one signed cookie per organization's console (docs/console.md).

The cookie holds the member signed in (or none), a CSRF secret, when the session began and
when it was last used, and the status messages for the next page. It is signed with
SECRET_KEY (auth/cookies.py, a salt of its own), HttpOnly, SameSite=Lax, Secure but on
plain http to the loopback, and scoped to /console/<org>: another organization's console
never receives it, and a cookie carried there by hand names another organization.

Two limits end a session, checked on the server whatever the browser keeps: an idle
timeout (CONSOLE_IDLE_SECONDS since the last request) and an absolute lifetime
(CONSOLE_SESSION_SECONDS since signing in).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.wrappers import Response

from ...auth.cookies import CONSOLE, CookieInvalid, CookieSigner
from ...services.oidc_settings import LOOPBACK

COOKIE = "console_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"  # htmx sends it (hx-headers on <body>)

# Seconds since the epoch; tests replace it to drive the clock instead of sleeping.
clock: Callable[[], float] = time.time


@dataclass
class ConsoleSession:
    org: str
    member: str | None  # the member's id; None before signing in
    csrf: str
    started: int
    seen: int
    flashes: list[str] = field(default_factory=list)

    def flash(self, message: str) -> None:
        """A status message for the next page shown (POST, redirect, GET)."""
        self.flashes.append(message)

    def take_flashes(self) -> list[str]:
        taken, self.flashes = self.flashes, []
        return taken

    def csrf_matches(self, presented: str | None) -> bool:
        return hmac.compare_digest((presented or "").encode(), self.csrf.encode())


def anonymous(org: str, *flashes: str) -> ConsoleSession:
    """A session with nobody signed in: its CSRF secret guards the sign-in forms."""
    now = int(clock())
    return ConsoleSession(org, None, secrets.token_urlsafe(32), now, now, list(flashes))


def signed_in(org: str, member_id: str, *flashes: str) -> ConsoleSession:
    """A new session, with a new CSRF secret: nothing of the one before survives."""
    session = anonymous(org, *flashes)
    session.member = member_id
    return session


def load(org: str, cookie: str | None) -> ConsoleSession:
    """The session the cookie holds, refreshed; or an anonymous one, saying why if one ended."""
    config = current_app.config
    try:
        payload = _signer().loads(cookie)
    except CookieInvalid:
        return anonymous(org)
    session = _parsed(payload)
    if session is None or session.org != org:
        return anonymous(org)
    now = int(clock())
    if session.member is not None:
        if now - session.seen > config["CONSOLE_IDLE_SECONDS"]:
            minutes = config["CONSOLE_IDLE_SECONDS"] // 60
            return anonymous(org, f"You were signed out after {minutes} minutes without activity.")
        if now - session.started > config["CONSOLE_SESSION_SECONDS"]:
            hours = config["CONSOLE_SESSION_SECONDS"] // 3600
            return anonymous(org, f"Sessions last {hours} hours at most. Sign in again.")
    session.seen = now
    return session


def save(response: Response, session: ConsoleSession) -> None:
    """No Max-Age: the cookie ends with the browser, and the server's limits before that."""
    payload = {
        "org": session.org,
        "member": session.member,
        "csrf": session.csrf,
        "started": session.started,
        "seen": session.seen,
        "flashes": session.flashes,
    }
    response.set_cookie(
        COOKIE, _signer().dumps(payload), path=f"/console/{session.org}",
        secure=secure_transport(), httponly=True, samesite="Lax",
    )  # fmt: skip


def secure_transport() -> bool:
    """Secure, except on plain http to the loopback (the demo; browsers trust it anyway)."""
    return not (request.scheme == "http" and urlsplit(request.host_url).hostname in LOOPBACK)


def presented_csrf() -> str | None:
    return request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)


def _signer() -> CookieSigner:
    # The signature's own age bounds a session too, on the server's real clock.
    config = current_app.config
    return CookieSigner(config["SECRET_KEY"], CONSOLE, config["CONSOLE_SESSION_SECONDS"])


def _parsed(payload: dict[str, Any]) -> ConsoleSession | None:
    member, flashes = payload.get("member"), payload.get("flashes")
    texts = (payload.get("org"), payload.get("csrf"))
    numbers = (payload.get("started"), payload.get("seen"))
    if not all(isinstance(v, str) for v in texts) or not all(isinstance(v, int) for v in numbers):
        return None
    if not (member is None or isinstance(member, str)) or not isinstance(flashes, list):
        return None
    return ConsoleSession(
        str(payload["org"]), member, str(payload["csrf"]), int(payload["started"]),
        int(payload["seen"]), [str(f) for f in flashes],
    )  # fmt: skip
