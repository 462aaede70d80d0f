"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> Any:
    try:
        current_app.extensions["scim_db"].ping()
    except Exception as exc:  # any driver error means "not ready", and says which
        return {"status": "unavailable", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}
