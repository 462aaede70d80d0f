"""Issue 19's "done when", as a newcomer lives it: `bash scripts/demo`, then its printed
console link in a real Chromium. The owner sees the seats, does the help-center article's
swap through Unassigned one member at a time and as one bulk action, is prompted to buy a
seat when Chat + Claude Code is full and buys it through the review and *Upgrade*; the
demo's admin does the same reassignments but is refused Billing; every change is audited
with the console as its channel. With SCIM_TEST_SCREENSHOTS=docs/screenshots it takes
the README's screenshots, of the demo's own people."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .browser import LAPTOP, PHONE, check_accessibility
from .demo_server import printed, running_demo

pytestmark = [pytest.mark.live, pytest.mark.browser]

A, B = "bruno.silva@demo.example", "tara.kelly@demo.example"  # Chat + Claude Code, Chat


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Page]:
    context = chromium.new_context(viewport=LAPTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def choose(page: Page, who: str, seat_type: str) -> None:
    page.get_by_label(f"Seat type for {who}").select_option(label=seat_type)


def test_the_owner_does_the_articles_swap_and_buys_a_seat_from_the_demos_link(
    demo: tuple[Path, str, dict[str, str]], browser_page: Page
) -> None:
    folder, address, _ = demo
    page = browser_page
    page.goto(printed(folder, "Console sign-in"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    full = page.get_by_role("row", name=re.compile(r"^Chat \+ Claude Code"))
    expect(full).to_contain_text("100% assigned, none free")
    check_accessibility(page, "Overview")

    page.get_by_role("link", name="Organization").click()
    check_accessibility(page, "Organization")
    page.set_viewport_size(PHONE)
    check_accessibility(page, "Organization")
    page.set_viewport_size(LAPTOP)
    status = page.get_by_role("status")
    choose(page, A, "Unassigned")
    expect(status).to_have_text(re.compile(r"Bruno Silva .* is now Unassigned\."))
    choose(page, B, "Chat + Claude Code")
    expect(status).to_have_text(re.compile(r"Tara Kelly .* is now Chat \+ Claude Code\."))
    choose(page, A, "Chat")
    expect(status).to_have_text(re.compile(r"Bruno Silva .* is now Chat\."))

    # And back again, as one bulk action: each selected row's own choice, all or nothing.
    page.get_by_label(f"Select {A}").check()
    page.get_by_label(f"Select {B}").check()
    choose(page, A, "Chat + Claude Code")
    choose(page, B, "Chat")
    page.get_by_role("button", name="Apply to selected").click()
    expect(status).to_have_text(re.compile(r"changed together for 2 members"))

    # Chat + Claude Code is full: the refusal offers the owner a seat, through the review.
    page.reload()
    choose(page, B, "Chat + Claude Code")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("No Chat + Claude Code seat is free: 20 purchased, 20 assigned")
    check_accessibility(page, "Organization with the no-seat refusal")
    summary.get_by_role("link", name="Buy a Chat + Claude Code seat").click()
    expect(page.get_by_role("heading", name="Review your seats")).to_be_visible()
    expect(page.get_by_text("1 added to 20")).to_be_visible()
    check_accessibility(page, "Billing review")
    page.get_by_role("button", name="Upgrade").click()
    expect(page.get_by_role("status")).to_contain_text("Seats added")
    check_accessibility(page, "Billing")

    page.get_by_role("link", name="Organization").click()
    choose(page, B, "Chat + Claude Code")
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Tara Kelly .* is now Chat \+ Claude Code\.")
    )

    owner = console_events(folder, address)
    assert {(e["actor_kind"], e["source"]) for e in owner} == {("member", "console")}
    assert [e["action"] for e in owner].count("allocation.changed") == 1
    # Three one at a time, two in the batch, and the seat bought for Tara.
    assert sum(e["action"] == "seat.changed" for e in owner) == 6


def test_the_demos_admin_reassigns_seats_but_is_refused_billing(
    demo: tuple[Path, str, dict[str, str]], browser_page: Page
) -> None:
    folder, address, env = demo
    made = subprocess.run(
        [".venv/bin/scim-server", "console", "link", "--org", "demo", "--email",
         "ana.lopez@demo.example", "--json"],
        cwd=folder, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    page = browser_page
    page.goto(f"http://{address}{json.loads(made.stdout)['path']}")
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Organization")).to_be_visible()
    expect(nav.get_by_role("link", name="Billing")).to_have_count(0)
    nav.get_by_role("link", name="Organization").click()
    choose(page, "zoe.martin@demo.example", "Unassigned")
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"Zoe Martin .* is now Unassigned\.")
    )
    answer = page.goto(f"http://{address}/console/demo/billing")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()
    expect(page.get_by_text("needs the owner role")).to_be_visible()


def console_events(folder: Path, address: str) -> list[dict[str, Any]]:
    """The audit log's console events, read through the admin API as the owner."""
    demo = json.loads((folder / "instance" / "demo.json").read_text())
    request = urllib.request.Request(
        f"http://{address}/api/v1/audit-events?source=console&limit=1000",
        headers={"Authorization": f"Bearer {demo['owner_api_token']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        events: list[dict[str, Any]] = json.load(answer)["events"]
    return events
