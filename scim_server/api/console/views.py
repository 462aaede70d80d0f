"""/console/<org>: the admin console's pages (docs/console.md). HTTP only.

Each view reads through the same services as the admin API, acting as the signed-in
member with `console` as the audit log's channel; the gate (nav.py) and the services
check the role. Forms POST and redirect, so every page works without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ...auth.redirects import console_home, console_next
from ...errors import (
    HANDLED_ERRORS,
    CsrfRefused,
    NextRefused,
    NotFound,
    Unauthorized,
    translate,
)
from ...services import console, oidc_settings, sign_in_links
from ...services.access import Acting
from ...services.organizations import SLUG
from . import charts, render, sessions
from .nav import gate

blueprint = Blueprint("console", __name__, url_prefix="/console/<org>")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# A sign-in link's path holds its secret: the request log gets this instead.
LINK_PATH = re.compile(r"^(/console/[^/]+/sign-in/)[^/]+")


def db() -> Any:
    return current_app.extensions["scim_db"]


def acting() -> Acting:
    visitor: console.Visitor = g.visitor
    return visitor.acting


# --- every request ------------------------------------------------------------------------


@blueprint.url_value_preprocessor
def _organization(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.org = g.log_org = (values or {}).pop("org", None)


@blueprint.url_defaults
def _with_organization(_endpoint: str, values: dict[str, Any]) -> None:
    values.setdefault("org", g.get("org"))


@blueprint.before_request
def _session() -> None:
    """The session, the CSRF check of every state-changing request, and who is signed in."""
    if not SLUG.match(g.org):
        raise NotFound("no such page")
    g.console = sessions.load(g.org, request.cookies.get(sessions.COOKIE))
    if request.method not in SAFE_METHODS and not g.console.csrf_matches(sessions.presented_csrf()):
        raise CsrfRefused(
            "The form was not sent from this console, or it is older than your session "
            "(it may have expired). Go back, reload the page and try again."
        )
    if g.console.member is not None:
        try:
            g.visitor = console.visitor(db(), g.org, g.console.member)
        except Unauthorized:
            # Removed, deactivated, or the organization is gone: this request already
            # runs without them (SEATS.md §3).
            g.console = sessions.anonymous(g.org, "Your access to this console has ended.")


@blueprint.after_request
def _save_session(response: Response) -> Response:
    if "console" in g:
        sessions.save(response, g.console)
    return response


@blueprint.after_request
def _htmx_navigation(response: Response) -> Response:
    """An htmx request answered with something no page made for it (a redirect to sign in,
    an error page) makes the browser navigate, instead of swapping that page into a row."""
    if request.headers.get("HX-Request") != "true" or g.get("htmx_ready"):
        return response
    if response.status_code in (301, 302, 303, 307, 308):
        # The browser would follow a redirect before htmx sees it: say where instead.
        response.headers["HX-Redirect"] = response.headers.pop("Location", "")
        response.status_code = 200
    elif response.status_code >= 400:
        response.headers["HX-Refresh"] = "true"
    return response


@blueprint.after_app_request
def _headers(response: Response) -> Response:
    if request.path.startswith("/console/"):
        render.secure(response)
    return response


@blueprint.before_app_request
def _log_path() -> None:
    g.log_path = LINK_PATH.sub(r"\1{secret}", request.path)


# --- signing in and out --------------------------------------------------------------------


@blueprint.get("/sign-in")
def sign_in() -> Response:
    wanted = checked_next(request.args.get("next"))
    if g.get("visitor") is not None:
        return redirect(wanted, 303)
    offered = oidc_settings.offered(db(), g.org)
    return render.page("sign_in.html", oidc=offered, next=wanted)


@blueprint.get("/sign-in/<secret>")
def sign_in_link(secret: str) -> Response:
    return render.page("link.html", holder=sign_in_links.holder(db(), g.org, secret))


@blueprint.post("/sign-in/<secret>")
def use_sign_in_link(secret: str) -> Response:
    member_id = sign_in_links.use(db(), g.org, secret)
    g.console = sessions.signed_in(g.org, member_id, "You are signed in.")
    return redirect(url_for(".overview"), 303)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    g.console = sessions.anonymous(g.org, "You have signed out.")
    return redirect(url_for(".sign_in"), 303)


def checked_next(value: str | None) -> str:
    if not value:
        return console_home(g.org)
    try:
        return console_next(g.org, value)
    except ValueError as exc:
        raise NextRefused(str(exc)) from exc


# --- pages (nav.PAGES) ---------------------------------------------------------------------


@blueprint.get("/")
@gate("overview")
def overview() -> Response:
    seen = console.overview(db(), acting())
    chart = charts.seat_history(acting().plan, seen.history)
    return render.page("overview.html", overview=seen, state=seen.state, chart=chart)


@blueprint.get("/me")
@gate("my_seat")
def my_seat() -> Response:
    return render.page("my_seat.html", seat=console.my_seat(db(), acting()))


# --- errors --------------------------------------------------------------------------------


def handle_error(exc: Exception) -> Response:
    error = translate(exc)
    if isinstance(error, Unauthorized):
        g.console = sessions.anonymous(g.org, "Sign in to continue.")
        return redirect(url_for(".sign_in"), 303)
    return render.error_page(error)


for _handled in HANDLED_ERRORS:
    blueprint.register_error_handler(_handled, handle_error)
