"""Signed, expiring values for the sign-in cookies (itsdangerous, keyed by SECRET_KEY).

Three kinds, each with its own salt so one can never be replayed as another: the sign-in
in progress (state, nonce, PKCE verifier; minutes), the /sso session (a member; hours) and
the console's session (a member and a CSRF secret, for one organization's console).
They are signed, not encrypted: the browser that holds them may read them, nobody may
forge or alter them, and they expire on the server's clock whatever the cookie says.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .sealing import checked_key

SIGN_IN = "scim-server.sso.sign-in"
SESSION = "scim-server.sso.session"
CONSOLE = "scim-server.console.session"


class CookieInvalid(Exception):
    """Missing, tampered with, of the other kind, or too old."""


class CookieSigner:
    def __init__(self, secret_key: str | None, kind: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(checked_key(secret_key), salt=kind)
        self.max_age = max_age

    def dumps(self, payload: dict[str, Any]) -> str:
        return str(self._serializer.dumps(payload))

    def loads(self, value: str | None) -> dict[str, Any]:
        if not value:
            raise CookieInvalid("no cookie")
        try:
            payload = self._serializer.loads(value, max_age=self.max_age)
        except SignatureExpired as exc:
            raise CookieInvalid("expired") from exc
        except BadSignature as exc:
            raise CookieInvalid("bad signature") from exc
        if not isinstance(payload, dict):
            raise CookieInvalid("not ours")
        return payload
