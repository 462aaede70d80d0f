"""Billing in a real Chromium against the live gunicorn, on SQLite and PostgreSQL: the
article's flow (Billing, the pencil, new totals, review, Upgrade), a refused reduction, the
Organization page's buy link, an admin refused, extra usage on a legacy plan; axe-core on
each page at laptop and phone width. SCIM_TEST_SCREENSHOTS keeps the README's pictures.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from .browser import PHONE, ConsolePage, check_accessibility
from .live import new_organization
from .test_console_browser import add_member

pytestmark = [pytest.mark.live, pytest.mark.browser]

# A new organization of the live server: 50 Chat and 20 Chat + Claude Code seats; its
# primary owner holds one Chat + Claude Code seat.


def seat_row(page: Page, name: str) -> list[str]:
    header = page.get_by_role("rowheader", name=re.compile(rf"^{re.escape(name)} \$"))
    row = page.get_by_role("row").filter(has=header)
    return [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]


def test_an_owner_adds_a_seat_through_edit_review_and_upgrade(console_page: ConsolePage) -> None:
    slug = console_page.slug
    for name in ("Grace Hopper", "Alan Turing", "Ada Lovelace", "Edsger Dijkstra"):
        add_member(console_page.target, f"{name.split()[0].lower()}@{slug}.example", name)
    page = console_page.sign_in()
    assert console_page.nav_links() == ["Overview", "Organization", "Billing", "My seat"]
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    assert seat_row(page, "Chat + Claude Code") == ["20", "5", "15"]
    check_accessibility(page, "Billing")

    page.get_by_role("link", name="Edit seats").click()
    expect(page.get_by_role("heading", name="Edit seats", level=1)).to_be_visible()
    expect(page.get_by_label("Chat", exact=True)).to_have_value("50")
    check_accessibility(page, "Billing edit seats")
    page.get_by_label("Chat + Claude Code").fill("21")
    page.get_by_role("button", name="Review").click()

    expect(page).to_have_url(re.compile(r"/billing/review\?chat=50&chat_code=21$"))
    expect(page.get_by_role("heading", name="Review your seats", level=1)).to_be_visible()
    expect(page.get_by_text("1 added to 20")).to_be_visible()
    expect(
        page.get_by_role("row", name=re.compile(r"^1 Chat \+ Claude Code \$100\.00 \$\d"))
    ).to_be_visible()
    assert page.get_by_role("button").all_inner_texts() == ["Sign out", "Upgrade"]
    check_accessibility(page, "Billing review")
    page.get_by_role("button", name="Upgrade").click()

    expect(page).to_have_url(console_page.url("/billing"))
    expect(page.get_by_role("status")).to_have_text("Seats added: 1 Chat + Claude Code.")
    assert seat_row(page, "Chat + Claude Code") == ["21", "5", "16"]
    check_accessibility(page, "Billing after an upgrade")
    assert console_page.errors == []  # no CSP violation, no script error


def test_a_reduction_is_refused_with_an_error_summary_whose_link_focuses_the_field(
    console_page: ConsolePage,
) -> None:
    page = console_page.sign_in()
    console_page.open("/billing/seats")
    page.get_by_label("Chat + Claude Code").fill("19")
    page.get_by_role("button", name="Review").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary).to_contain_text("contact your account manager")
    field = page.get_by_label("Chat + Claude Code")
    expect(field).to_have_value("19")  # what was typed, kept
    check_accessibility(page, "Billing edit seats with an error")
    summary.get_by_role("link").click()
    expect(field).to_be_focused()
    console_page.open("/billing")
    assert seat_row(page, "Chat + Claude Code") == ["20", "1", "19"]


def test_the_organization_pages_buy_link_opens_the_review_with_one_more_seat(
    console_page: ConsolePage,
) -> None:
    page = console_page.sign_in()
    console_page.open("/billing/review?chat_code=21")
    expect(page.get_by_text("1 added to 20")).to_be_visible()
    expect(page.get_by_text("50 seats")).to_be_visible()  # Chat, not named, keeps its count
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("status")).to_have_text("Seats added: 1 Chat + Claude Code.")
    page.go_back()  # the review again: its totals are bought, so it offers nothing more
    page.reload()
    expect(page.get_by_text("No seats would be added")).to_be_visible()
    expect(page.get_by_role("button", name="Upgrade")).to_have_count(0)


def test_an_admin_is_refused_billing_and_does_not_see_it_in_the_sidebar(
    console_page: ConsolePage,
) -> None:
    target = console_page.target
    email = f"ada@{target.slug}.example"
    add_member(target, email, "Ada Admin")
    found = requests.get(
        f"{target.base}/Users", params={"filter": f'userName eq "{email}"'},
        headers=target.headers, timeout=10,
    ).json()["Resources"][0]  # fmt: skip
    made = requests.patch(
        f"{console_page.server.url}/api/v1/members/{found['id']}", json={"role": "admin"},
        headers={"Authorization": f"Bearer {target.owner_api_token}"}, timeout=10,
    )  # fmt: skip
    assert made.status_code == 200, made.text
    page = console_page.sign_in(email)
    assert console_page.nav_links() == ["Overview", "Organization", "My seat"]
    for path in ("/billing", "/billing/seats", "/billing/review?chat_code=21"):
        console_page.open(path)
        expect(
            page.get_by_role("heading", name="You do not have access to this page")
        ).to_be_visible()
        expect(page.get_by_text("needs the owner role")).to_be_visible()
    check_accessibility(page, "the 403 page")


def test_an_owner_switches_extra_usage_on_a_legacy_plan(console_page: ConsolePage) -> None:
    legacy = new_organization(console_page.server, "enterprise_legacy", "standard=15,premium=5")
    page = console_page.sign_in(slug=legacy.slug)
    console_page.open("/billing", slug=legacy.slug)
    expect(page.get_by_text("Fixed monthly fee per seat")).to_be_visible()
    off = page.get_by_role("radio", name=re.compile("^Off"))
    expect(off).to_be_checked()
    check_accessibility(page, "Billing on a legacy plan")
    page.get_by_role("radio", name=re.compile("^On")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Extra usage is on.")
    expect(page.get_by_role("radio", name=re.compile("^On"))).to_be_checked()


def test_the_billing_pages_are_accessible_at_phone_width(console_page: ConsolePage) -> None:
    page = console_page.sign_in()
    page.set_viewport_size(PHONE)
    for path, name in (
        ("/billing", "Billing"),
        ("/billing/seats", "Billing edit seats"),
        ("/billing/review?chat_code=22", "Billing review"),
        ("/billing/review?chat_code=2", "Billing edit seats with an error"),
    ):
        console_page.open(path)
        check_accessibility(page, name)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at 390 px"
