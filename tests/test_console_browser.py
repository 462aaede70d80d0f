"""The console in a real Chromium against the live gunicorn, on SQLite and PostgreSQL.

Signs in the ways people do (the one-time link's button, the organization's identity
provider), and runs axe-core on every page it opens.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from .browser import PHONE, ConsolePage, check_accessibility
from .live import LiveServer, ScimTarget
from .test_oidc_live import provider, setup_organization

__all__ = ["provider"]  # the fixture, imported to be used here

pytestmark = [pytest.mark.live, pytest.mark.browser]


def add_member(target: ScimTarget, email: str, name: str) -> None:
    """A member as an IdP provisions one, over SCIM."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "displayName": name,
        "emails": [{"value": email, "primary": True}],
    }
    created = requests.post(f"{target.base}/Users", json=body, headers=target.headers, timeout=10)
    assert created.status_code == 201, created.text


def test_an_owner_signs_in_with_the_links_button_and_every_page_is_accessible(
    console_page: ConsolePage,
) -> None:
    page = console_page.page
    page.goto(console_page.sign_in_link(f"owner@{console_page.slug}.example"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Sign in to "))
    check_accessibility(page, "the sign-in link's page")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(console_page.url("/"))
    expect(page.get_by_role("status")).to_have_text("You are signed in.")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert console_page.nav_links() == ["Overview", "Organization", "Billing", "My seat"]
    check_accessibility(page, "Overview")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="My seat").click()
    expect(page.get_by_role("heading", name="My seat", level=1)).to_be_visible()
    check_accessibility(page, "My seat")
    console_page.open("/no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    check_accessibility(page, "the 404 page")


def test_the_pages_load_their_script_and_styles_without_breaking_the_csp(
    console_page: ConsolePage,
) -> None:
    page = console_page.sign_in()
    for path in ("/", "/me"):
        console_page.open(path)
        assert page.evaluate("typeof window.htmx") == "object"  # the vendored htmx ran
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.masthead')).backgroundColor"
        )
        assert background == "rgb(29, 59, 95)"  # the stylesheet applied
    assert console_page.errors == []


def test_the_pages_are_accessible_at_phone_width_too(console_page: ConsolePage) -> None:
    page = console_page.sign_in()
    page.set_viewport_size(PHONE)
    for path, name in (("/", "Overview"), ("/me", "My seat")):
        console_page.open(path)
        check_accessibility(page, f"{name} at phone width")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways at 390 px"


def test_the_sign_in_page_is_accessible_and_says_how_to_get_a_link(
    console_page: ConsolePage,
) -> None:
    page = console_page.open("/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    expect(page.get_by_text("scim-server console link")).to_be_attached()
    check_accessibility(page, "the sign-in page")


def test_a_member_sees_only_my_seat(console_page: ConsolePage) -> None:
    email = f"mia@{console_page.slug}.example"
    add_member(console_page.target, email, "Mia Member")
    page = console_page.sign_in(email)
    expect(page).to_have_url(console_page.url("/me"))
    assert console_page.nav_links() == ["My seat"]
    expect(page.get_by_text("Claude on the web, desktop and mobile apps")).to_be_visible()
    console_page.open("/")
    expect(page).to_have_url(console_page.url("/me"))


def test_signing_out_ends_the_session(console_page: ConsolePage) -> None:
    page = console_page.sign_in()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    console_page.open("/me")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))


def test_a_form_older_than_the_session_is_refused_with_a_clear_page(
    console_page: ConsolePage,
) -> None:
    """A stale tab: its Sign out form carries the CSRF token of a session since replaced."""
    stale = console_page.sign_in()
    fresh = stale.context.new_page()
    fresh.goto(console_page.url("/me"))
    fresh.get_by_role("button", name="Sign out").click()
    fresh.goto(console_page.sign_in_link(f"owner@{console_page.slug}.example"))
    fresh.get_by_role("button", name="Sign in").click()
    stale.get_by_role("button", name="Sign out").click()
    expect(stale.get_by_role("heading", name="This form has expired")).to_be_visible()
    check_accessibility(stale, "the CSRF refusal page")
    fresh.reload()
    expect(fresh.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in


def test_another_organizations_console_is_refused(
    console_page: ConsolePage, live_server: LiveServer
) -> None:
    from .live import new_organization

    other = new_organization(live_server)
    page = console_page.sign_in()
    for path in ("/", "/me"):
        console_page.open(path, slug=other.slug)
        expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
        expect(page.get_by_text(f"Test {other.slug}")).to_have_count(0)
    console_page.open("/")  # still signed in to one's own
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_a_member_signs_in_through_the_identity_provider_and_lands_in_the_console(
    console_page: ConsolePage, provider: str
) -> None:
    slug = console_page.slug
    setup_organization(console_page.server, console_page.target, provider)
    subject = f"grace-{slug}"
    claims = {
        "email": f"grace@{slug}.example",
        "email_verified": True,
        "name": "Grace Hopper",
        "groups": ["Everyone"],
    }
    assert requests.put(f"{provider}/users/{subject}", json=claims, timeout=10).status_code == 204
    page = console_page.open("/me")
    page.get_by_role("link", name="Sign in with your identity provider").click()
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    expect(page).to_have_url(console_page.url("/me"))
    expect(page.get_by_text("Grace Hopper").first).to_be_visible()
    expect(page.get_by_text("Chat", exact=True).first).to_be_visible()  # Everyone -> chat
    assert console_page.nav_links() == ["My seat"]


def test_the_accessibility_check_fails_a_page_with_a_serious_violation_naming_it(
    console_page: ConsolePage,
) -> None:
    page = console_page.page
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    with pytest.raises(
        pytest.fail.Exception, match=r"(?s)accessibility of a broken page .*critical: image-alt"
    ):
        check_accessibility(page, "a broken page")
