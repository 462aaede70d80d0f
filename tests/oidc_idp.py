"""An OIDC provider faked with `responses`: discovery, JWKS and token endpoints.

ID tokens are signed in the test with a generated RSA key, so each test can forge the
exact token an attack needs. The token endpoint checks what a real one checks: the
client's credentials, the code, and the PKCE verifier against the challenge (RFC 7636).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ISSUER = "https://idp.acme.example"
CLIENT_ID = "scim-server-acme"
CLIENT_SECRET = "client-secret-never-logged"
SECRET_KEY = "test-secret-key-of-at-least-32-characters"
KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
NEW_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig"})


@dataclass
class FakeProvider:
    mock: responses.RequestsMock
    issuer: str = ISSUER
    published: list[RSAKey] = field(default_factory=lambda: [KEY])
    # What the next token request answers; None: a valid ID token for the pending sign-in.
    id_token: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    challenge: str | None = None
    nonce: str | None = None
    discovery: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mock.add_callback(
            responses.GET, f"{self.issuer}/.well-known/openid-configuration", self._discovery
        )
        self.mock.add_callback(responses.GET, f"{self.issuer}/jwks", self._jwks)
        self.mock.add_callback(responses.POST, f"{self.issuer}/token", self._token)

    def authorized(self, location: str) -> tuple[str, str]:
        """The provider saw the authorization request: returns (state, nonce)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert location.startswith(f"{self.issuer}/authorize?")
        self.challenge, self.nonce = query["code_challenge"], query["nonce"]
        return query["state"], query["nonce"]

    def sign(self, claims: dict[str, Any], key: RSAKey = KEY, alg: str = "RS256") -> str:
        return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)

    def standard_claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "subject-alice",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce,
            "email": "alice@acme.example",
            "email_verified": True,
            "name": "Alice Liddell",
            "groups": ["Everyone"],
        }
        claims.update(self.claims)
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def count(self, path: str) -> int:
        return sum(1 for call in self.mock.calls if urlsplit(call.request.url).path == path)

    def _discovery(self, _request: Any) -> tuple[int, dict[str, str], str]:
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            **self.discovery,
        }
        return 200, {"Content-Type": "application/json"}, _json(document)

    def _jwks(self, _request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, _json(KeySet(self.published).as_dict())

    def _token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.token_requests.append(
            {"form": form, "authorization": request.headers.get("Authorization")}
        )
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {basic}":
            return 401, {}, _json({"error": "invalid_client"})
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != self.challenge:
            return 400, {}, _json({"error": "invalid_grant", "error_description": "PKCE"})
        if form.get("code") != "good-code":
            return 400, {}, _json({"error": "invalid_grant"})
        id_token = self.id_token or self.sign(self.standard_claims())
        body = {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return 200, {"Content-Type": "application/json"}, _json(body)


def _json(payload: Any) -> str:
    import json

    return json.dumps(payload)


@pytest.fixture
def idp() -> Iterator[FakeProvider]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeProvider(mock)
