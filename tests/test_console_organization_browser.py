"""The Organization page in a real Chromium against the live gunicorn, SQLite and PostgreSQL:
find a member, the article's swap through Unassigned one member at a time (with and
without JavaScript) and as one bulk action, the no-seat prompt, and axe at two widths."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from scim_server.persistence.db import Database
from scim_server.persistence.models import UserRow

from .browser import LAPTOP, PHONE, ConsolePage, check_accessibility
from .live import new_organization
from .test_console_browser import add_member

pytestmark = [pytest.mark.live, pytest.mark.browser]

TEAM = ["Alex Avery", "Bo Berg", "Cam Cole", "Dee Dunn", "Eli Eade", "Fay Ford", "Gus Gray",
        "Hal Hart", "Ivy Ives", "Jo Jones", "Kit Kerr", "Lou Lane", "Max Moss", "Ned Nash",
        "Oda Ohm", "Pat Park", "Quin Quay", "Ray Rowe", "Sol Shaw"]  # fmt: skip


@pytest.fixture
def swap(console_page: ConsolePage) -> ConsolePage:
    """The article's example on a new organization: ten chat_code seats, all held, and the
    ten chat seats too, so that A cannot simply move down first. A (alex@) holds
    chat_code, B (bo@) chat."""
    target = new_organization(console_page.server, seats="chat=10,chat_code=10")
    # The owner holds a chat_code seat, Alex and eight more the others; then Bo gets the
    # first chat seat (the highest free) and nine more the rest.
    for name in [TEAM[0], *TEAM[2:10], TEAM[1], *TEAM[10:]]:
        add_member(target, email(name, target.slug), name)
    org = ConsolePage(console_page.page, console_page.server, target)
    org.errors = console_page.errors
    assert seat(org, "alex") == "chat_code" and seat(org, "bo") == "chat"
    return org


def email(name: str, slug: str) -> str:
    return f"{name.split()[0].lower()}@{slug}.example"


def seat(org: ConsolePage, who: str) -> str:
    """The seat type the database holds for who@…."""
    db = Database(org.server.database_url)
    try:
        with db.unit_of_work() as session:
            found = session.scalar(
                select(UserRow.seat_type).where(UserRow.user_name == f"{who}@{org.slug}.example")
            )
    finally:
        db.dispose()
    assert found is not None
    return found


def make_admin(org: ConsolePage, who: str) -> None:
    db = Database(org.server.database_url)
    try:
        with db.unit_of_work(write=True) as session:
            session.execute(
                update(UserRow)
                .where(UserRow.user_name == f"{who}@{org.slug}.example")
                .values(role="admin")
            )
    finally:
        db.dispose()


def seat_select(page: Page, org: ConsolePage, who: str) -> str:
    return f"Seat type for {who}@{org.slug}.example"


def choose(page: Page, org: ConsolePage, who: str, seat_type: str) -> None:
    """The article's step: find the member, open their Seat type, pick one."""
    page.get_by_label(seat_select(page, org, who)).select_option(label=seat_type)


def test_an_admin_finds_a_member_by_searching_as_they_type(swap: ConsolePage) -> None:
    page = swap.sign_in()
    swap.open("/organization")
    expect(page.get_by_role("heading", name="Organization", level=1)).to_be_visible()
    expect(page.locator("#member-count")).to_have_text("20 members")
    page.get_by_label("Search by name or email").press_sequentially("bo", delay=50)
    expect(page.locator("#member-count")).to_have_text("1 member matches")
    expect(page.get_by_label(f"Seat type for bo@{swap.slug}.example")).to_be_visible()
    expect(page.get_by_label(f"Seat type for alex@{swap.slug}.example")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/organization\?q=bo$"))  # the address follows
    page.get_by_label("Role", exact=True).select_option(label="Admin")
    expect(page.locator("#member-count")).to_have_text("0 members match")
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=bo$"))
    assert swap.errors == []


def test_the_articles_swap_through_unassigned_one_member_at_a_time(swap: ConsolePage) -> None:
    page = swap.sign_in()
    swap.open("/organization")
    status = page.get_by_role("status")
    choose(page, swap, "alex", "Unassigned")  # frees a Chat + Claude Code seat
    expect(status).to_have_text(re.compile(r"Alex Avery .* is now Unassigned\."))
    choose(page, swap, "bo", "Chat + Claude Code")  # B takes it
    expect(status).to_have_text(re.compile(r"Bo Berg .* is now Chat \+ Claude Code\."))
    choose(page, swap, "alex", "Chat")  # and A the Chat seat B left
    expect(status).to_have_text(re.compile(r"Alex Avery .* is now Chat\."))
    expect(page.get_by_label(seat_select(page, swap, "alex"))).to_have_value("chat")
    expect(page.locator(".error-summary")).to_have_count(0)
    assert (seat(swap, "alex"), seat(swap, "bo")) == ("chat", "chat_code")
    assert page.url.endswith("/organization")  # no reload: htmx put the rows in place
    assert swap.errors == []


def test_the_articles_swap_as_one_bulk_action(swap: ConsolePage) -> None:
    page = swap.sign_in()
    swap.open("/organization")
    page.get_by_label(f"Select alex@{swap.slug}.example").check()
    page.get_by_label(f"Select bo@{swap.slug}.example").check()
    choose(page, swap, "alex", "Chat")  # selected: waits for the batch
    expect(page.get_by_role("status")).to_have_text(re.compile("Apply to selected"))
    choose(page, swap, "bo", "Chat + Claude Code")
    assert (seat(swap, "alex"), seat(swap, "bo")) == ("chat_code", "chat")  # nothing yet
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Seat types changed together for 2 members: Alex Avery .*; Bo Berg")
    )
    assert (seat(swap, "alex"), seat(swap, "bo")) == ("chat", "chat_code")
    assert swap.errors == []


@pytest.fixture
def without_javascript(swap: ConsolePage) -> Iterator[ConsolePage]:
    """The same organization in a browser context with JavaScript off."""
    browser = swap.page.context.browser
    assert browser is not None
    context = browser.new_context(viewport=LAPTOP, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        yield ConsolePage(context.new_page(), swap.server, swap.target)
    finally:
        context.close()


def test_without_javascript_the_swap_is_done_with_the_save_buttons(
    without_javascript: ConsolePage,
) -> None:
    org = without_javascript
    page = org.sign_in()
    org.open("/organization")
    page.get_by_label("Search by name or email").fill("a")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/organization\?q=a&"))  # and the empty fields
    expect(page.get_by_label(f"Seat type for bo@{org.slug}.example")).to_have_count(0)
    org.open("/organization")
    for who, seat_type, said in (
        ("alex", "Unassigned", "Unassigned"),
        ("bo", "Chat + Claude Code", "Chat \\+ Claude Code"),
        ("alex", "Chat", "Chat"),
    ):
        choose(page, org, who, seat_type)
        page.get_by_role("button", name=f"Save seat type for {who}@{org.slug}.example").click()
        expect(page.get_by_role("status")).to_have_text(re.compile(f"is now {said}\\.\\s*$"))
    assert (seat(org, "alex"), seat(org, "bo")) == ("chat", "chat_code")


def test_without_javascript_the_swap_is_one_bulk_action_too(
    without_javascript: ConsolePage,
) -> None:
    org = without_javascript
    page = org.sign_in()
    org.open("/organization")
    page.get_by_label(f"Select alex@{org.slug}.example").check()
    page.get_by_label(f"Select bo@{org.slug}.example").check()
    choose(page, org, "alex", "Chat")
    choose(page, org, "bo", "Chat + Claude Code")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("changed together for 2"))
    assert (seat(org, "alex"), seat(org, "bo")) == ("chat", "chat_code")


def test_no_seat_free_offers_an_owner_the_billing_review_with_one_more(
    swap: ConsolePage,
) -> None:
    page = swap.sign_in()
    swap.open("/organization")
    choose(page, swap, "bo", "Chat + Claude Code")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("No Chat + Claude Code seat is free: 10 purchased, 10 assigned")
    buy = summary.get_by_role("link", name="Buy a Chat + Claude Code seat")
    expect(buy).to_have_attribute("href", f"/console/{swap.slug}/billing/review?chat_code=11")
    # The row says what holds, and the summary's link leads to its select.
    expect(page.get_by_label(seat_select(page, swap, "bo"))).to_have_value("chat")
    summary.get_by_role("link", name=re.compile("^No Chat")).click()
    expect(page.get_by_label(seat_select(page, swap, "bo"))).to_be_focused()
    check_accessibility(page, "Organization with the no-seat refusal")
    assert seat(swap, "bo") == "chat"


def test_no_seat_free_tells_an_admin_that_an_owner_must_buy_one(swap: ConsolePage) -> None:
    make_admin(swap, "alex")
    page = swap.sign_in(f"alex@{swap.slug}.example")
    swap.open("/organization")
    choose(page, swap, "bo", "Chat + Claude Code")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("No Chat + Claude Code seat is free")
    expect(summary).to_contain_text("Only an owner can buy seats")
    expect(summary.get_by_role("link", name=re.compile("^Buy"))).to_have_count(0)


def test_the_organization_page_is_accessible_at_laptop_and_phone_width(
    swap: ConsolePage,
) -> None:
    page = swap.sign_in()
    swap.open("/organization")
    check_accessibility(page, "Organization")
    page.set_viewport_size(PHONE)
    swap.open("/organization?q=a")  # a few members: the cards, and a short screenshot
    expect(page.locator("#member-count")).to_have_text("1 member matches")
    check_accessibility(page, "Organization")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the Organization page scrolls sideways at 390 px"
    swap.open("/organization")
    check_accessibility(page, "Organization, every member, at phone width")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert swap.errors == []


def test_an_owner_prompted_to_buy_a_seat_buys_it_and_the_change_then_fits(
    swap: ConsolePage,
) -> None:
    """The article's "prompted to buy": the refusal's link, Billing's review and Upgrade,
    then the same change again, which now finds the seat."""
    page = swap.sign_in()
    swap.open("/organization")
    choose(page, swap, "bo", "Chat + Claude Code")
    page.get_by_role("link", name="Buy a Chat + Claude Code seat").click()
    expect(page).to_have_url(swap.url("/billing/review?chat_code=11"))
    expect(page.get_by_text("1 added to 10")).to_be_visible()
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("status")).to_have_text("Seats added: 1 Chat + Claude Code.")
    swap.open("/organization")
    choose(page, swap, "bo", "Chat + Claude Code")
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Bo Berg .* is now Chat \+"))
    assert seat(swap, "bo") == "chat_code"
    # The refusal is a 409, which the browser reports as it reports any; nothing else.
    assert [e for e in swap.errors if "status of 409" not in e] == []
