"""create_app(): config -> extensions -> blueprints -> error handlers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from . import config as configuration
from . import inputs, logs, metrics
from .api import admin, console, health, openapi, scim, sso
from .api import metrics as metrics_api
from .errors import DatabaseUnavailable, DomainError, api_error_body, is_scim_path, scim_error

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
    app.before_request(_check_url)
    _register_error_handlers(app)
    app.after_request(_without_html)
    return app


def _without_html(response: Response) -> Response:
    """werkzeug's default HTML is no answer's: the APIs answer JSON, the console its pages.

    A redirect's "Redirecting..." page goes (its Location header is the answer), and an
    answer without content (204, 304, an automatic OPTIONS, a redirect) carries no
    Content-Type instead of werkzeug's default text/html.
    """
    if response.mimetype != "text/html":
        return response
    if 300 <= response.status_code < 400:
        response.set_data(b"")  # a routing redirect's page comes streamed: dropped all the same
    if not response.is_streamed and not response.get_data():
        del response.headers["Content-Type"]
    return response


def _check_url() -> None:
    """NUL in the URL, before any blueprint's own work (a token's lookup): inputs.py."""
    inputs.check_url(request.path, request.args.items(multi=True))


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
        if is_scim_path(request.path):
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

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        """One raised where no blueprint's handlers apply (before_request, an unknown path)."""
        if is_scim_path(request.path):
            return scim.error_response(exc)
        if request.path.startswith("/console/"):
            return console.status_page(exc.status)
        payload, status = api_error_body(exc)
        return app.response_class(_json(payload), status=status, mimetype="application/json")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The database went away during the request (a restart, a failover): a 503 a
            # client retries, as identity providers do, not a 500. The pool has already
            # let go of the connection and those opened before it (prepared.py).
            logs.log_fields(
                logging.getLogger("scim_server.error"),
                logging.WARNING,
                "database connection lost",
                request_id=g.get("request_id"),
                path=request.path,
            )
            lost = DatabaseUnavailable("the connection to the database was lost; retry the request")
            return _domain_error(lost)
        logs.log_fields(
            logging.getLogger("scim_server.error"),
            logging.ERROR,
            f"unhandled {type(exc).__name__}",
            request_id=g.get("request_id"),
            path=request.path,
        )
        logging.getLogger("scim_server.error").exception("traceback")
        detail = f"internal server error (request id {g.get('request_id')})"
        if is_scim_path(request.path):
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
