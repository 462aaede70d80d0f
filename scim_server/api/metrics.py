"""GET /metrics: Prometheus's scrape, for the operator's monitoring alone.

Off unless SCIM_SERVER_METRICS_TOKEN is set, to 32 characters or more; on, it answers a
scraper that presents that token as a bearer token, and 401 to anyone else. Off, it is
the 404 of any path that does not exist: the internet learns nothing from it, not even
that it could be turned on. A token shorter than 32 characters leaves it off, and the
server says so in its log at start.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import NotFound

from .. import metrics
from ..errors import Unauthorized, api_error_body
from .admin import json_response

blueprint = Blueprint("metrics", __name__)

MIN_TOKEN_LENGTH = 32


def enabled_token(token: str | None) -> str | None:
    return token if token and len(token) >= MIN_TOKEN_LENGTH else None


@blueprint.record_once
def _warn_of_a_short_token(state: BlueprintSetupState) -> None:
    token = state.app.config["METRICS_TOKEN"]
    if token and enabled_token(token) is None:
        logging.getLogger("scim_server.metrics").warning(
            f"SCIM_SERVER_METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters: "
            "/metrics stays off"
        )


@blueprint.get("/metrics")
def scrape() -> Response:
    token = enabled_token(current_app.config["METRICS_TOKEN"])
    if token is None:
        raise NotFound()
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), token.encode()
    ):
        response = json_response(*api_error_body(Unauthorized("the metrics token is required")))
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    text, content_type = metrics.exposition(
        current_app.extensions["scim_db"], request.headers.get("Accept")
    )
    return current_app.response_class(text, content_type=content_type)
