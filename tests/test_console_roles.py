"""Who may open which console page (SEATS.md §3): every page against every kind of visitor.

Like tests/test_roles_matrix.py for the admin API. A visitor not signed in to this
organization's console (anonymous, or signed in to another organization's) is sent to the
sign-in page; a plain member's home is My seat; an unknown page is the 404 page.
"""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.persistence.db import Database

from .console_client import EMAILS, Console, People, people, signed_in, text
from .oidc_idp import SECRET_KEY

__all__ = ["people"]  # fixtures, imported to be used here

VISITORS = ["member", "admin", "owner", "primary_owner", "other_org_member", "anonymous"]
SIGN_IN = "/console/acme/sign-in?next="
REVIEW = "/console/acme/billing/review?chat_code%3D6"

# Each page: (method, path) and what each visitor gets, in VISITORS order: a status, or
# "-> LOCATION" for a 303 there. A POST sends the visitor's CSRF token and FORMS[page];
# "{member}" in a path or a form is Mia's id (acme's plain member).
ORGANIZATION = "/console/acme/organization"
MATRIX: dict[str, tuple[str, str, tuple[Any, ...]]] = {
    "Overview": (
        "GET", "/",
        ("-> /console/acme/me", 200, 200, 200, f"-> {SIGN_IN}/console/acme/", f"-> {SIGN_IN}/console/acme/"),
    ),
    "My seat": (
        "GET", "/me",
        (200, 200, 200, 200, f"-> {SIGN_IN}/console/acme/me", f"-> {SIGN_IN}/console/acme/me"),
    ),
    "Billing": (
        "GET", "/billing",
        (403, 403, 200, 200, f"-> {SIGN_IN}/console/acme/billing", f"-> {SIGN_IN}/console/acme/billing"),
    ),
    "Billing: edit seats": (
        "GET", "/billing/seats",
        (403, 403, 200, 200, f"-> {SIGN_IN}/console/acme/billing/seats", f"-> {SIGN_IN}/console/acme/billing/seats"),
    ),
    "Billing: review": (
        "GET", "/billing/review?chat_code=6",
        (403, 403, 200, 200, f"-> {SIGN_IN}{REVIEW}", f"-> {SIGN_IN}{REVIEW}"),
    ),
    # POSTs carry the CSRF token of the visitor's session. Upgrade with no counts buys
    # nothing; extra usage with no choice is the form again, with its error (422).
    "Billing: upgrade": (
        "POST", "/billing/upgrade",
        (403, 403, "-> /console/acme/billing", "-> /console/acme/billing",
         f"-> {SIGN_IN}/console/acme/billing", f"-> {SIGN_IN}/console/acme/billing"),
    ),
    "Billing: extra usage": (
        "POST", "/billing/extra-usage",
        (403, 403, 422, 422,
         f"-> {SIGN_IN}/console/acme/billing", f"-> {SIGN_IN}/console/acme/billing"),
    ),
    "sign-in page": (
        "GET", "/sign-in",
        ("-> /console/acme/", "-> /console/acme/", "-> /console/acme/", "-> /console/acme/", 200, 200),
    ),
    "Organization": (
        "GET", "/organization",
        (403, 200, 200, 200, f"-> {SIGN_IN}{ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}"),
    ),
    "Organization as CSV": (
        "GET", "/organization/members.csv",
        (403, 200, 200, 200, f"-> {SIGN_IN}{ORGANIZATION}/members.csv", f"-> {SIGN_IN}{ORGANIZATION}/members.csv"),
    ),
    "a member's seat type": (
        "POST", "/organization/members/{member}/seat",
        (403, f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}"),
    ),
    "a member's role": (
        "POST", "/organization/members/{member}/role",
        (403, f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}"),
    ),
    "seat types as a batch": (
        "POST", "/organization/seats",
        (403, f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}", f"-> {SIGN_IN}{ORGANIZATION}"),
    ),
    "an unknown page": ("GET", "/no-such-page", (404, 404, 404, 404, 404, 404)),
    "a method a page does not take": ("DELETE", "/me", (405, 405, 405, 405, 405, 405)),
}  # fmt: skip
FORMS: dict[str, dict[str, str]] = {
    "a member's seat type": {"seat.{member}": "chat"},
    "a member's role": {"role.{member}": "admin"},
    "seat types as a batch": {"selected": "{member}", "seat.{member}": "unassigned"},
}

CASES = [
    pytest.param(page, visitor, expected[i], id=f"{page} as {visitor}")
    for page, (_, _, expected) in MATRIX.items()
    for i, visitor in enumerate(VISITORS)
]


def browser_of(app: Any, db: Database, visitor: str) -> Console:
    if visitor == "anonymous":
        return Console(app.test_client(), "acme")
    if visitor == "other_org_member":
        other = signed_in(app, db, "globex", "owner@globex.example")
        return Console(other.client, "acme")  # the same browser, at acme's console
    return signed_in(app, db, "acme", EMAILS[visitor])


@pytest.mark.parametrize(("page", "visitor", "expected"), CASES)
def test_each_visitor_gets_exactly_what_their_role_allows(
    secret_app: Any, db: Database, people: People, page: str, visitor: str, expected: Any
) -> None:
    method, path, _ = MATRIX[page]
    browser = browser_of(secret_app, db, visitor)
    mia = people.member.id
    form = {k.format(member=mia): v.format(member=mia) for k, v in FORMS.get(page, {}).items()}
    if method == "POST":
        form["csrf_token"] = browser.csrf()
    response = browser.client.open(
        f"/console/acme{path.format(member=mia)}", method=method, data=form or None
    )
    if isinstance(expected, str):
        assert response.status_code == 303, text(response)
        assert response.headers["Location"] == expected.removeprefix("-> ")
    else:
        assert response.status_code == expected, text(response)
        csv = expected == 200 and path.endswith(".csv")
        assert response.mimetype == ("text/csv" if csv else "text/html")


@pytest.mark.parametrize(
    ("visitor", "pages"),
    [
        ("member", ["My seat"]),
        ("admin", ["Overview", "Organization", "My seat"]),
        ("owner", ["Overview", "Organization", "Billing", "My seat"]),
        ("primary_owner", ["Overview", "Organization", "Billing", "My seat"]),
    ],
)
def test_the_sidebar_lists_only_the_built_pages_the_role_may_open(
    secret_app: Any, db: Database, people: People, visitor: str, pages: list[str]
) -> None:
    html = text(browser_of(secret_app, db, visitor).get("/me"))
    sidebar = html.split('aria-label="Console"', 1)[1].split("</nav>", 1)[0]
    shown = [
        label
        for label in ("Overview", "Organization", "Billing", "My seat")
        if f">{label}<" in sidebar
    ]
    assert shown == pages


def test_a_page_above_ones_role_is_the_403_page_naming_the_role_it_needs(
    db: Database, people: People
) -> None:
    """Gated like the built pages: a view behind @gate("audit_log") answers a member 403."""
    from scim_server.api.console.nav import gate
    from scim_server.app import create_app

    # A page of the table that is not built yet, added the way the next one will be.
    @gate("audit_log")
    def audit_log() -> str:
        return "the audit log"

    secret_app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": SECRET_KEY})
    secret_app.add_url_rule("/console/<org>/audit-test", "console.audit_log", audit_log)
    member = signed_in(secret_app, db, "acme", EMAILS["member"])
    refused = member.client.get("/console/acme/audit-test")
    assert refused.status_code == 403
    assert "You do not have access to this page" in text(refused)
    assert "admin role" in text(refused)
    admin = signed_in(secret_app, db, "acme", EMAILS["admin"])
    assert text(admin.client.get("/console/acme/audit-test")) == "the audit log"
    # Built now, so listed for those who may open it, and only for them.
    assert ">Audit log<" in text(admin.get("/me"))
    assert ">Audit log<" not in text(member.get("/me"))
    secret_app.extensions["scim_db"].dispose()


def test_another_organizations_session_cookie_carried_by_hand_signs_nobody_in(
    secret_app: Any, db: Database, people: People
) -> None:
    """The cookie names its organization: globex's, set on acme's path, is nobody at acme."""
    globex = signed_in(secret_app, db, "globex", "owner@globex.example")
    value = globex.cookie()
    assert value
    thief = Console(secret_app.test_client(), "acme")
    thief.client.set_cookie("console_session", value, path="/console/acme")
    response = thief.get("/me")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(SIGN_IN)


def test_an_unknown_organizations_console_looks_like_a_known_one_to_a_stranger(
    secret_app: Any, db: Database, people: People
) -> None:
    """Its pages send a stranger to sign in, as acme's do; only the slug typed is shown."""
    stranger = Console(secret_app.test_client(), "initech")
    assert (
        stranger.get("/").headers["Location"] == "/console/initech/sign-in?next=/console/initech/"
    )
    page = stranger.get("/sign-in")
    assert page.status_code == 200
    assert "initech" in text(page)
    acme_page = text(Console(secret_app.test_client(), "acme").get("/sign-in"))
    assert "Acme" not in acme_page  # the organization's name is not told to strangers


def test_a_malformed_organization_in_the_path_is_the_404_page(
    secret_app: Any, people: People
) -> None:
    response = secret_app.test_client().get("/console/Not_A_Slug/")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_every_secret_key_less_console_page_says_the_operator_must_set_one(
    db: Database, people: People
) -> None:
    from scim_server.app import create_app

    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": None})
    try:
        for path in ("/", "/me", "/sign-in"):
            response = app.test_client().get(f"/console/acme{path}")
            assert response.status_code == 503
            assert "SCIM_SERVER_SECRET_KEY" in text(response)
            assert "console_session" not in response.headers.get("Set-Cookie", "")
    finally:
        app.extensions["scim_db"].dispose()
    assert SECRET_KEY  # the other tests' key, which this app lacks
