"""Pages and error pages: every answer under /console is HTML of ours (docs/console.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Response, current_app, g, render_template, request
from werkzeug.wrappers import Response as AnyResponse

from ...domain import billing, labels
from ...errors import CsrfRefused, DomainError, SecretKeyMissing
from . import nav

# Shown for each status, whatever the error's own message: a page never shows a route, a
# query or another organization's data.
TITLES = {
    400: "This request could not be used",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    413: "That request is too large",
    500: "Sorry, there is a problem with the console",
    503: "The console is not set up yet",
}
# Messages of our own, written for the person reading: safe to show as they are.
SHOWN = {400, 403, 503}

# A strict policy: scripts and styles from our own files only (no inline script or style),
# nothing framed, forms post only here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    # Also keeps a sign-in link's secret out of any Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def page(template: str, http_status: int = 200, **context: Any) -> Response:
    session = g.get("console")
    visitor = g.get("visitor")
    html = render_template(
        f"console/{template}",
        org=g.get("org") or org_of_path(),
        visitor=visitor,
        nav=nav.visible(visitor.acting) if visitor else [],
        csrf_token=session.csrf if session else None,
        flashes=session.take_flashes() if session else [],
        labels=labels,
        when=when,
        days_since=days_since,
        **context,
    )
    return current_app.response_class(html, status=http_status, mimetype="text/html")


def error_page(error: DomainError) -> Response:
    if isinstance(error, SecretKeyMissing):
        return page("secret_key_missing.html", 503, message=error.message)
    title = "This form has expired" if isinstance(error, CsrfRefused) else None
    return status_page(error.status, error.message if error.status in SHOWN else None, title)


def status_page(status: int, message: str | None = None, title: str | None = None) -> Response:
    title = title or TITLES.get(status, TITLES[400 if status < 500 else 500])
    return page("error.html", status, status=status, title=title, message=message)


def org_of_path() -> str | None:
    """The organization of a console URL no view matched (a 404, a 405)."""
    parts = request.path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "console" and parts[2] else None


def secure(response: AnyResponse) -> AnyResponse:
    """Every answer under /console; pages are never stored (they show who is signed in)."""
    response.headers.update(HEADERS)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def when(value: date | None, with_time: bool = False) -> str:
    """A date (and time) as people read them: 3 December 2026, 09:40 UTC."""
    if value is None:
        return "Not recorded"
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    shown = f"{value.day} {value:%B %Y}"
    return f"{shown}, {value:%H:%M} UTC" if with_time and isinstance(value, datetime) else shown


def days_since(value: datetime) -> int:
    return max(0, (datetime.now(UTC) - value).days)


def days_left(term_end: datetime) -> int:
    """Days left in the term, counted as a purchase made now is charged (domain/billing.py)."""
    return billing.days_remaining(datetime.now(UTC), term_end)


# Money is shown with its currency's sign where people expect one, its code otherwise.
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(cents: int, currency: str) -> str:
    """Cents of a currency as people read them: $1,234.50, or 1,234.50 CHF."""
    amount = f"{cents // 100:,}.{cents % 100:02d}"
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{amount}" if sign else f"{amount} {currency}"
