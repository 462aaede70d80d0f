"""The console's browser tests: Debian's Chromium driven by Playwright, and axe-core.

Playwright's own browser download fails on these machines (nothing is fetched at run
time), so the tests launch /usr/bin/chromium (`SCIM_TEST_CHROMIUM` to change it) with
flags that keep it off the network. Without it the tests are skipped, loudly; under
CI=true they fail instead (.ci/run installs it with apt-get where it can).

Accessible names are the interface: find controls with get_by_role and get_by_label.
Fixtures (tests/conftest.py): `chromium`, one browser per test process; `console_page`,
a fresh browser context (its own cookies) on a new organization of the live server.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from scim_server.persistence.db import Database
from scim_server.services import sign_in_links

from .databases import in_ci
from .live import LiveServer, ScimTarget

CHROMIUM = os.environ.get("SCIM_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# axe's impacts that fail a page; "moderate" and "minor" ones are not failures here.
FAILING_IMPACTS = {"serious", "critical"}
# Set to a folder to keep a full-page screenshot of every page the accessibility check sees.
SCREENSHOTS = os.environ.get("SCIM_TEST_SCREENSHOTS")


def chromium_path() -> str:
    """Debian's Chromium, or a skip that says why (a failure under CI=true)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = (
        f"no Chromium at {CHROMIUM}: the console's browser tests need it "
        "(apt-get install chromium, or set SCIM_TEST_CHROMIUM)"
    )
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class ConsolePage:
    """A browser tab on one organization's console of the live server."""

    page: Page
    server: LiveServer
    target: ScimTarget
    # What the browser's console reported as errors: a CSP violation (an inline style or
    # script, a file from elsewhere) or a script that failed.
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    @property
    def slug(self) -> str:
        return self.target.slug

    def url(self, path: str = "/", slug: str | None = None) -> str:
        return f"{self.server.url}/console/{slug or self.slug}{path}"

    def open(self, path: str = "/", slug: str | None = None) -> Page:
        self.page.goto(self.url(path, slug))
        return self.page

    def sign_in_link(self, email: str, slug: str | None = None) -> str:
        """A one-time link, made as an operator makes it; its full URL."""
        db = Database(self.server.database_url)
        try:
            path = sign_in_links.issue(db, slug or self.slug, email).path
        finally:
            db.dispose()
        return self.server.url + path

    def sign_in(self, email: str | None = None, slug: str | None = None) -> Page:
        """By link: open it, press its Sign in button, land on the console."""
        self.page.goto(self.sign_in_link(email or f"owner@{slug or self.slug}.example", slug))
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()
        return self.page

    def nav_links(self) -> list[str]:
        sidebar = self.page.get_by_role("navigation", name="Console")
        return [text.strip() for text in sidebar.get_by_role("link").all_inner_texts()]


def check_accessibility(page: Page, name: str) -> None:
    """axe-core on the page as it is: any serious or critical violation fails, by name."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        width = page.viewport_size["width"] if page.viewport_size else 0
        page.screenshot(path=f"{SCREENSHOTS}/{slug}-{width}.png", full_page=True)
    results = Axe().run(page)
    violations = [v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS]
    if violations:
        lines = [
            f"  {v['impact']}: {v['id']} ({v['help']}) at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:3])
            for v in violations
        ]
        pytest.fail(f"accessibility of {name} ({page.url}):\n" + "\n".join(lines), pytrace=False)
