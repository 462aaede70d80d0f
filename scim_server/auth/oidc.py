"""The relying party's side of OpenID Connect, with Authlib (SEATS.md §6).

The authorization request with PKCE (RFC 7636), the code exchange (RFC 6749 §4.1.3), and the ID token's verification (OIDC Core §3.1.3.7): the
signature against the provider's published keys, with asymmetric algorithms only, then
`iss`, `aud` (and `azp`), `exp`, `iat` and `nonce`. No database, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jws import extract_compact

from ..errors import (
    CodeRejected,
    IdTokenAlgorithmRefused,
    IdTokenAudienceMismatch,
    IdTokenExpired,
    IdTokenInvalid,
    IdTokenIssuerMismatch,
    IdTokenNonceMismatch,
    IdTokenSignatureInvalid,
    ProviderUnavailable,
)
from .discovery import Provider, ProviderDirectory

SCOPE = "openid email profile"
# Clock skew tolerated on exp and iat.
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str


def authorization_url(
    provider: Provider, client: Client, state: str, nonce: str, code_verifier: str
) -> str:
    """The authorization code request with PKCE S256 (RFC 7636 §4.3), state and nonce."""
    session = _session(provider, client)
    url, _ = session.create_authorization_url(
        provider.authorization_endpoint, state=state, code_verifier=code_verifier, nonce=nonce
    )
    session.close()
    return str(url)


def exchange_code(
    provider: Provider, client: Client, code: str, code_verifier: str, timeout: float
) -> dict[str, Any]:
    """The token response for this code and verifier (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    with _session(provider, client) as session:
        try:
            token = session.fetch_token(
                provider.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=timeout,
            )
        except OAuthError as exc:
            raise CodeRejected(f"the provider refused the authorization code: {exc.error}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"the provider's token endpoint failed: {exc}") from exc
    if not isinstance(token.get("id_token"), str):
        raise IdTokenInvalid("the token response carries no ID token")
    return dict(token)


def verify_id_token(
    directory: ProviderDirectory,
    provider: Provider,
    client_id: str,
    id_token: str,
    nonce: str,
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once every check of OIDC Core §3.1.3.7 has passed."""
    token = _verified_signature(directory, provider, id_token)
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except ExpiredTokenError as exc:
        raise IdTokenExpired("the ID token has expired") from exc
    except ClaimError as exc:
        raise _claim_error(exc) from exc
    return dict(claims)


def _verified_signature(directory: ProviderDirectory, provider: Provider, id_token: str) -> Any:
    try:
        alg = extract_compact(id_token.encode()).protected.get("alg")
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid("the ID token is not a signed JWT") from exc
    if alg not in provider.algorithms:
        raise IdTokenAlgorithmRefused(
            f"the ID token is signed with {alg!r}; accepted: {', '.join(provider.algorithms)}"
        )
    for refresh in (False, True):
        try:
            return jwt.decode(
                id_token, directory.keys(provider, refresh), algorithms=provider.algorithms
            )
        except InvalidKeyIdError:
            continue
        except UnsupportedAlgorithmError as exc:
            raise IdTokenAlgorithmRefused(f"the ID token's algorithm is refused: {exc}") from exc
        except (BadSignatureError, JoseError, ValueError) as exc:
            raise IdTokenSignatureInvalid(
                "the ID token's signature does not verify with the provider's keys"
            ) from exc
    raise IdTokenSignatureInvalid("the ID token is signed with a key the provider does not publish")


def _claim_error(exc: ClaimError) -> IdTokenInvalid:
    claim = exc.claim
    if claim == "iss":
        return IdTokenIssuerMismatch("the ID token was not issued by the configured issuer")
    if claim in {"aud", "azp"}:
        return IdTokenAudienceMismatch(f"the ID token is not for this client ({claim})")
    if claim == "nonce":
        return IdTokenNonceMismatch("the ID token's nonce is not the one this sign-in sent")
    return IdTokenInvalid(f"the ID token's {claim} claim is missing or invalid")


def _session(provider: Provider, client: Client) -> OAuth2Session:
    return OAuth2Session(
        client.client_id,
        client.client_secret,
        token_endpoint_auth_method=provider.token_auth_method,
        scope=SCOPE,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
    )
