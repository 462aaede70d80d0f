"""scim2-server as a WSGI app for gunicorn: `gunicorn reference_app:app`.

This is what the `scim2-server` command builds (scim2_server/testserver/cli.py) — the
RFC 7643 schemas and resource types, its default ServiceProviderConfig, one in-memory
storage and a static bearer token — but served by gunicorn instead of wsgiref, so that
both servers are measured under the same HTTP server and worker count. The storage lives
in the worker process, so it is seeded over HTTP after the worker starts.
"""

from __future__ import annotations

import os

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

TOKEN = os.environ.get("BENCH_REFERENCE_TOKEN", "bench-reference-token")


def create_app() -> BearerTokenApplication:
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret="bench-cursor-secret")
    return BearerTokenApplication(
        InMemoryStorage(), provider, service=service, bearer_tokens=[TOKEN]
    )


app = create_app()
