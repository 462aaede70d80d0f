"""Where an OIDC provider's endpoints and keys are (OIDC Discovery §4), cached per process.

The discovery document and the JWKS are fetched with a short TTL; a key id missing from
the cached set refetches it once, which is how a provider's key rotation is followed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..errors import ProviderUnavailable

# Signatures by the provider's published (public) keys only: never `none`, and never HS*,
# whose key would be the client secret, which we hold too (OIDC Core §10.1).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_method: str


class ProviderDirectory:
    """Discovery documents and key sets per issuer, cached `ttl` seconds in this process.

    A key id missing from the cached set refetches it once (the provider rotated its keys).
    """

    def __init__(
        self, ttl: float, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}

    def provider(self, issuer: str) -> Provider:
        cached = self._cached(("provider", issuer))
        if cached is None:
            url = issuer.rstrip("/") + "/.well-known/openid-configuration"
            cached = self._store(("provider", issuer), discovered(issuer, self.get(url)))
        provider: Provider = cached
        return provider

    def keys(self, provider: Provider, refresh: bool = False) -> KeySet:
        cached = None if refresh else self._cached(("keys", provider.jwks_uri))
        if cached is None:
            document = self.get(provider.jwks_uri)
            try:
                cached = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnavailable(f"the provider's key set is not a JWKS: {exc}") from exc
            self._store(("keys", provider.jwks_uri), cached)
        key_set: KeySet = cached
        return key_set

    def get(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"the identity provider did not answer {url}: {exc}") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return document

    def _cached(self, key: tuple[str, str]) -> Any:
        with self._lock:
            entry = self._cache.get(key)
        if entry is None or self.clock() - entry[0] >= self.ttl:
            return None
        return entry[1]

    def _store(self, key: tuple[str, str], value: Any) -> Any:
        with self._lock:
            self._cache[key] = (self.clock(), value)
        return value


def discovered(issuer: str, document: dict[str, Any]) -> Provider:
    """OIDC Discovery §4.3: the document's issuer is exactly the one configured."""
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}"
        )
    missing = [
        k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)
    ]
    if missing:
        raise ProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
    # OIDC Discovery §3: RS256 when the provider does not say.
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in ALGORITHMS if alg in offered)
    if not algorithms:
        raise ProviderUnavailable(
            f"the provider signs ID tokens with {offered}; only {', '.join(ALGORITHMS)} are accepted"
        )
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    basic = "client_secret_basic" in methods or "client_secret_post" not in methods
    return Provider(
        issuer,
        str(document["authorization_endpoint"]),
        str(document["token_endpoint"]),
        str(document["jwks_uri"]),
        algorithms,
        "client_secret_basic" if basic else "client_secret_post",
    )
