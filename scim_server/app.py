"""create_app(): config -> extensions -> blueprints -> error handlers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import config as configuration
from . import logs, metrics
from .api import admin, console, health, openapi, scim, sso
from .api import metrics as metrics_api
from .errors import scim_error

log = logging.getLogger("scim_server.request")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(configuration.default_instance_path()))
    settings = configuration.load(overrides=test_config)
    settings["DATABASE_URL"] = configuration.resolve_database_url(
        settings["DATABASE_URL"], configuration.default_instance_path()
    )
    app.config.update(settings)
    logs.configure(app.config["LOG_LEVEL"])

    from .persistence.db import Database

    app.extensions["scim_db"] = Database(app.config["DATABASE_URL"])
    metrics.watch_pool(app.extensions["scim_db"])
    app.register_blueprint(health.blueprint)
    app.register_blueprint(scim.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(sso.blueprint)
    app.register_blueprint(console.blueprint)
    app.register_blueprint(metrics_api.blueprint)
    _register_request_log(app)
    _register_error_handlers(app)
    return app


def _register_request_log(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.observe(
            request.url_rule, request.view_args, request.method, response.status_code, seconds
        )
        if not log.isEnabledFor(logging.INFO):
            return response
        # Only the path, never the query string (filters may carry personal data)
        # nor any header or body: tokens and passwords stay out of the logs.
        logs.log_fields(
            log,
            logging.INFO,
            "request",
            request_id=g.get("request_id"),
            method=request.method,
            path=g.get("log_path") or request.path,
            status=response.status_code,
            duration_ms=round(seconds * 1000, 2),
            org=g.get("log_org"),
        )
        return response


def _register_error_handlers(app: Flask) -> None:
    """Every error is a SCIM Error body under /scim/v2, an HTML page of the console under
    /console, and JSON elsewhere; never a traceback."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = _detail(exc)
        if request.path.startswith("/scim/v2"):
            response = scim.scim_response(scim_error(status, detail), status)
        elif request.path.startswith("/console/"):
            response = console.status_page(status)
        else:
            response = app.response_class(
                _json({"error": {"code": _code(status), "message": detail}}),
                status=status,
                mimetype="application/json",
            )
        # The exception's own headers, such as a 405's Allow (RFC 9110 §15.5.6); the body
        # is ours, and so is its Content-Type.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logs.log_fields(
            logging.getLogger("scim_server.error"),
            logging.ERROR,
            f"unhandled {type(exc).__name__}",
            request_id=g.get("request_id"),
            path=request.path,
        )
        logging.getLogger("scim_server.error").exception("traceback")
        detail = f"internal server error (request id {g.get('request_id')})"
        if request.path.startswith("/scim/v2"):
            return scim.scim_response(scim_error(500, detail), 500)
        if request.path.startswith("/console/"):
            return console.status_page(500, f"Request id {g.get('request_id')}.")
        return app.response_class(
            _json({"error": {"code": "internal", "message": detail}}),
            status=500,
            mimetype="application/json",
        )


def _detail(exc: HTTPException) -> str:
    if exc.code == 405:
        return f"{request.method} is not allowed on {request.path}"
    if exc.code == 404:
        return f"no such endpoint: {request.path}"
    if exc.code == 413:
        return "the request body is too large"
    return exc.description or exc.name


def _code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        status, "error"
    )


def _json(payload: Any) -> str:
    import json

    return json.dumps(payload)
