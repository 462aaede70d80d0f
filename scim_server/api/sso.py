"""/sso/<org>: sign-in through the organization's OIDC provider (SEATS.md §6). HTTP only.

Cookies are Secure, HttpOnly, SameSite=Lax (the provider's redirect back is a top-level
GET, which Lax lets through) and scoped to /sso/<org>, so two organizations' sign-ins
in one browser do not overwrite each other.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ..auth.discovery import ProviderDirectory
from ..errors import HANDLED_ERRORS, api_error_body, translate
from ..services import jit, sso
from ..services.organizations import SLUG
from .console import sessions as console_sessions
from .schemas import MemberOut

blueprint = Blueprint("sso", __name__, url_prefix="/sso/<org>")

STATE_COOKIE = "sso_state"
SESSION_COOKIE = "sso_session"


@blueprint.before_request
def _log_org() -> None:
    g.log_org = (request.view_args or {}).get("org")


@blueprint.get("/login")
def login(org: str) -> Response:
    """?next=/console/<org>/…: back to the console once signed in (docs/console.md)."""
    wanted = request.args.get("next")
    started = sso.start(db(), providers(), settings(), org, redirect_uri(org), wanted)
    response = redirect(started.url, 302)
    set_cookie(response, org, STATE_COOKIE, started.cookie, settings().state_seconds)
    return response


@blueprint.get("/callback")
def callback(org: str) -> Response:
    cookie = request.cookies.get(STATE_COOKIE)
    params = request.args.to_dict()
    finished = sso.finish(db(), providers(), settings(), org, redirect_uri(org), cookie, params)
    member_id = finished.signed_in.member.id
    if finished.next is not None:
        # A console sign-in: the console's own session, none of /sso's.
        response = redirect(finished.next, 303)
        console_sessions.save(response, console_sessions.signed_in(org, member_id))
    else:
        response = redirect(url_for(".me", org=org), 303)
        value = sso.session_cookie(settings(), org, member_id)
        set_cookie(response, org, SESSION_COOKIE, value, settings().session_seconds)
    clear_cookie(response, org, STATE_COOKIE)  # a state is used once
    return response


@blueprint.get("/me")
def me(org: str) -> Response:
    member_id = sso.session_member(settings(), org, request.cookies.get(SESSION_COOKIE))
    # The member as the admin API shows one (MemberOut), whatever else Member carries.
    member = MemberOut().dump(jit.me(db(), org, member_id))
    return json_response({"organization": org, "member": member})


@blueprint.post("/logout")
def logout(org: str) -> Response:
    response = current_app.response_class(status=204)
    clear_cookie(response, org, SESSION_COOKIE)
    return response


def db() -> Any:
    return current_app.extensions["scim_db"]


def providers() -> ProviderDirectory:
    """One cache of discovery documents and keys per application (per worker)."""
    config = current_app.config
    directory: ProviderDirectory = current_app.extensions.setdefault(
        "oidc_providers",
        ProviderDirectory(config["OIDC_CACHE_SECONDS"], config["OIDC_HTTP_TIMEOUT"]),
    )
    return directory


def settings() -> sso.SsoConfig:
    config = current_app.config
    return sso.SsoConfig(
        config["SECRET_KEY"],
        config["SSO_STATE_SECONDS"],
        config["SSO_SESSION_SECONDS"],
        config["OIDC_HTTP_TIMEOUT"],
    )


def redirect_uri(org: str) -> str:
    """What the provider must have registered; PUBLIC_URL when set (behind a proxy)."""
    public = current_app.config["PUBLIC_URL"]
    if public:
        return f"{public.rstrip('/')}/sso/{org}/callback"
    return url_for(".callback", org=org, _external=True)


def set_cookie(response: Response, org: str, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=f"/sso/{org}", secure=True, httponly=True,
        samesite="Lax",
    )  # fmt: skip


def clear_cookie(response: Response, org: str, name: str) -> None:
    if SLUG.match(org):  # the path is only ever an organization's own
        response.delete_cookie(name, path=f"/sso/{org}", secure=True, httponly=True, samesite="Lax")


def json_response(payload: Any, status: int = 200) -> Response:
    return current_app.response_class(
        json.dumps(payload), status=status, mimetype="application/json"
    )


def handle_error(exc: Exception) -> Response:
    """{"error": {"code", "message"}}; a failed callback also drops its state cookie."""
    payload, status = api_error_body(translate(exc))
    response = json_response(payload, status)
    org = (request.view_args or {}).get("org", "")
    if request.endpoint == "sso.callback":
        clear_cookie(response, org, STATE_COOKIE)
    return response


for _handled in HANDLED_ERRORS:
    blueprint.register_error_handler(_handled, handle_error)
