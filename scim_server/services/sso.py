"""The sign-in flow (SEATS.md §6): to the provider and back, then JIT provisioning.

`start` sends the browser to the provider with a fresh state, nonce and PKCE verifier,
which travel in a signed, short-lived cookie (no server-side storage, so any worker or
host can finish the flow). `finish` checks the state, exchanges the code with the
verifier, verifies the ID token fully, and hands the identity to services/jit.py.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..auth import oidc, redirects
from ..auth.cookies import SESSION, SIGN_IN, CookieInvalid, CookieSigner
from ..auth.discovery import ProviderDirectory
from ..errors import (
    NextRefused,
    ProviderDenied,
    SessionRequired,
    SignInStateInvalid,
    StateMismatch,
)
from ..persistence.db import Database
from . import jit, oidc_settings


@dataclass(frozen=True)
class SsoConfig:
    secret_key: str | None
    state_seconds: int
    session_seconds: int
    http_timeout: float


@dataclass(frozen=True)
class Started:
    url: str
    cookie: str


@dataclass(frozen=True)
class Finished:
    signed_in: jit.SignedIn
    # Where in the organization's console the member goes back to; None: /sso/<org>/me.
    next: str | None


def start(
    db: Database,
    providers: ProviderDirectory,
    config: SsoConfig,
    slug: str,
    redirect_uri: str,
    next_path: str | None = None,
) -> Started:
    """`next_path`, when given, must be a path of this organization's console (no open
    redirect); it travels in the signed state cookie to the callback."""
    if next_path is not None:
        try:
            redirects.console_next(slug, next_path)
        except ValueError as exc:
            raise NextRefused(str(exc)) from exc
    settings = oidc_settings.for_sign_in(db, config.secret_key, slug)
    provider = providers.provider(settings.issuer)
    # RFC 7636 §4.1: a verifier of 43 to 128 characters; token_urlsafe(64) gives 86.
    pending: dict[str, Any] = {
        "org": slug,
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),
        "next": next_path,
    }
    client = oidc.Client(settings.client_id, settings.client_secret, redirect_uri)
    url = oidc.authorization_url(
        provider, client, pending["state"], pending["nonce"], pending["verifier"]
    )
    return Started(url, _signer(config, SIGN_IN).dumps(pending))


def finish(
    db: Database,
    providers: ProviderDirectory,
    config: SsoConfig,
    slug: str,
    redirect_uri: str,
    cookie: str | None,
    params: Mapping[str, str],
) -> Finished:
    pending = _pending(config, slug, cookie)
    # RFC 6749 §10.12: the state binds this redirect to the browser that started the flow.
    if not hmac.compare_digest(params.get("state", "").encode(), pending["state"].encode()):
        raise StateMismatch("the state returned by the provider is not this sign-in's")
    if params.get("error"):
        raise ProviderDenied(f"the identity provider refused the sign-in: {params['error']}")
    code = params.get("code")
    if not code:
        raise ProviderDenied("the provider's redirect carries neither a code nor an error")
    settings = oidc_settings.for_sign_in(db, config.secret_key, slug)
    provider = providers.provider(settings.issuer)
    client = oidc.Client(settings.client_id, settings.client_secret, redirect_uri)
    token = oidc.exchange_code(provider, client, code, pending["verifier"], config.http_timeout)
    claims = oidc.verify_id_token(
        providers, provider, settings.client_id, token["id_token"], pending["nonce"],
        token.get("access_token"),
    )  # fmt: skip
    who = jit.Identity.from_claims(provider.issuer, claims, settings.groups_claim)
    return Finished(jit.sign_in(db, settings, who), pending["next"])


def session_cookie(config: SsoConfig, slug: str, member_id: str) -> str:
    return _signer(config, SESSION).dumps({"org": slug, "member": member_id})


def session_member(config: SsoConfig, slug: str, cookie: str | None) -> str:
    """The member id a valid session cookie of this organization names."""
    try:
        session = _signer(config, SESSION).loads(cookie)
    except CookieInvalid as exc:
        raise SessionRequired(f"sign in first at /sso/{slug}/login ({exc})") from exc
    if session.get("org") != slug or not isinstance(session.get("member"), str):
        raise SessionRequired(f"sign in first at /sso/{slug}/login (another organization)")
    return str(session["member"])


def _pending(config: SsoConfig, slug: str, cookie: str | None) -> dict[str, Any]:
    try:
        pending = _signer(config, SIGN_IN).loads(cookie)
    except CookieInvalid as exc:
        raise SignInStateInvalid(
            f"no sign-in in progress in this browser ({exc}); start again at /sso/{slug}/login"
        ) from exc
    fields = ("state", "nonce", "verifier")
    if pending.get("org") != slug or not all(isinstance(pending.get(f), str) for f in fields):
        raise SignInStateInvalid(f"the sign-in in progress is not for {slug!r}")
    next_path = pending.get("next")
    return {
        **{f: str(pending[f]) for f in fields},
        "next": next_path if isinstance(next_path, str) else None,
    }


def _signer(config: SsoConfig, kind: str) -> CookieSigner:
    max_age = config.state_seconds if kind == SIGN_IN else config.session_seconds
    return CookieSigner(config.secret_key, kind, max_age)
