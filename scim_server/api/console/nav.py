"""The console's pages and who may open each: one table, read by the sidebar and the gate.

A page is listed in the sidebar, and opened, by a role that may perform its least action
(domain/roles.py, SEATS.md §3): the gate asks exactly what the sidebar asks. A page whose
view is not built yet is in the table but shown nowhere; writing its view with
`@gate("its_endpoint")` puts it in the sidebar of the roles that may open it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ...domain import roles
from ...services.access import Acting


@dataclass(frozen=True)
class Page:
    endpoint: str  # the view's name in the console blueprint
    label: str  # its name in the sidebar and its <h1>
    action: str  # the least action (roles.PERMISSIONS) that opens it
    # Where a role that may not open it goes instead of a 403 (a member's home).
    fallback: str | None = None


PAGES: tuple[Page, ...] = (
    # The Overview counts everyone's seats: it is the admins' dashboard, and a plain member
    # is sent to My seat (SEATS.md §3, "see their own seat"; docs/console.md). The admin
    # API still answers a member's GET /organization.
    Page("overview", "Overview", "read_members", fallback="my_seat"),
    Page("organization", "Organization", "read_members"),
    Page("billing", "Billing", "read_billing"),
    Page("group_mappings", "Group mappings", "edit_mappings"),
    Page("audit_log", "Audit log", "read_audit"),
    Page("identity_provider", "Identity provider", "read_oidc"),
    Page("my_seat", "My seat", "read_own_seat"),
)
BY_ENDPOINT = {page.endpoint: page for page in PAGES}

View = Callable[..., Any]


def built(page: Page) -> bool:
    return f"console.{page.endpoint}" in current_app.view_functions


def visible(acting: Acting) -> list[Page]:
    """The sidebar: the pages built that this role may open, in the table's order."""
    return [page for page in PAGES if built(page) and acting.may(page.action)]


def gate(endpoint: str) -> Callable[[View], View]:
    """Signed in (else the sign-in page, then back here), and the page's least action
    (else its fallback, or the 403 page that names the role needed)."""
    page = BY_ENDPOINT[endpoint]

    def decorate(view: View) -> View:
        @wraps(view)
        def gated(*args: Any, **kwargs: Any) -> Any:
            visitor = g.get("visitor")
            if visitor is None:
                # Back here after signing in; from a form's POST, back to its page.
                here = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for(".sign_in", next=here or url_for(f".{endpoint}")), 303)
            acting: Acting = visitor.acting
            if not acting.may(page.action):
                if page.fallback is not None:
                    return redirect(url_for(f".{page.fallback}"), 303)
                roles.require(acting.role, page.action)  # raises NotPermitted: the 403 page
            return view(*args, **kwargs)

        return gated

    return decorate


def redirect_home(acting: Acting) -> Response:
    return redirect(url_for(f".{visible(acting)[0].endpoint}"), 303)
