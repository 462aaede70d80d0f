"""Configuration: defaults, then SCIM_SERVER_* environment variables, then test overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "SCIM_SERVER_"

DEFAULTS: dict[str, Any] = {
    # None means "a SQLite file in the instance folder", resolved in resolve_database_url.
    "DATABASE_URL": None,
    # RFC 7644 §3.4.2.4: the most resources one list response carries.
    "MAX_RESULTS": 1000,
    "DEFAULT_PAGE_SIZE": 100,
    # RFC 7644 §3.7: /Bulk limits announced in ServiceProviderConfig.
    "BULK_MAX_OPERATIONS": 1000,
    "BULK_MAX_PAYLOAD_SIZE": 1_048_576,
    # Any other request body larger than this is refused with 413.
    "MAX_CONTENT_LENGTH": 4 * 1_048_576,
    "LOG_LEVEL": "INFO",
    # A token's last_used_at is written at most this often, so that reads stay reads.
    "TOKEN_TOUCH_SECONDS": 60,
    # Encrypts OIDC client secrets at rest and signs the sign-in cookies. Required for OIDC
    # sign-in; 32 characters or more (README, "Sign-in through OIDC").
    "SECRET_KEY": None,
    # The URL the identity provider redirects back to is PUBLIC_URL/sso/<org>/callback; unset,
    # it is built from the request's host (set it behind a proxy that rewrites Host).
    "PUBLIC_URL": None,
    # How long a sign-in may take at the provider, and how long a session cookie lasts.
    "SSO_STATE_SECONDS": 600,
    "SSO_SESSION_SECONDS": 8 * 3600,
    # The console's session (docs/console.md): it ends after this long without a request,
    # and this long after signing in, whatever the activity.
    "CONSOLE_IDLE_SECONDS": 30 * 60,
    "CONSOLE_SESSION_SECONDS": 12 * 3600,
    # Discovery documents and JWKS are cached this long (a kid not in the cache refetches).
    "OIDC_CACHE_SECONDS": 300,
    "OIDC_HTTP_TIMEOUT": 10,
    # The bearer token Prometheus presents to GET /metrics, 32 characters or more; unset,
    # /metrics is off (a 404, as for any path that does not exist).
    "METRICS_TOKEN": None,
}

_INT_KEYS = {
    "MAX_RESULTS",
    "DEFAULT_PAGE_SIZE",
    "BULK_MAX_OPERATIONS",
    "BULK_MAX_PAYLOAD_SIZE",
    "MAX_CONTENT_LENGTH",
    "TOKEN_TOUCH_SECONDS",
    "SSO_STATE_SECONDS",
    "SSO_SESSION_SECONDS",
    "CONSOLE_IDLE_SECONDS",
    "CONSOLE_SESSION_SECONDS",
    "OIDC_CACHE_SECONDS",
    "OIDC_HTTP_TIMEOUT",
}


def load(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge the defaults, the environment and explicit overrides, in that order."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = environ.get(ENV_PREFIX + key)
        if raw is not None and raw != "":
            config[key] = int(raw) if key in _INT_KEYS else raw
    if overrides:
        config.update(overrides)
    return config


def default_instance_path() -> Path:
    return Path(os.environ.get(ENV_PREFIX + "INSTANCE_PATH", Path.cwd() / "instance"))


def resolve_database_url(url: str | None, instance_path: Path | None = None) -> str:
    """The configured URL, or a SQLite file in the instance folder."""
    if url:
        return url
    folder = instance_path or default_instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'scim-server.db'}"
