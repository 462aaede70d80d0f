"""What the Overview and My seat pages show, and the history they draw from the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, Organization
from scim_server.persistence.types import utcnow
from scim_server.services import access, billing, console
from scim_server.services.audit import Actor

from .admin_client import add_member, new_org
from .console_client import EMAILS, People, people, signed_in, text

__all__ = ["people"]  # fixtures, imported to be used here

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_the_overview_shows_the_plan_the_term_and_each_seat_types_counts_in_words(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(signed_in(secret_app, db, "acme", EMAILS["admin"]).get("/"))
    assert "Enterprise · Usage-based billing" in html
    assert "days left" in html
    assert "Chat + Claude Code" in html
    # 15 chat and 5 chat_code; the primary owner and the three SCIM members took chat_code
    # (the highest free) until it was full: 4 of 5, then chat.
    seats_table = html.split('class="table seats-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        seats_table,
    )
    assert rows == [("Chat", "15", "0", "15"), ("Chat + Claude Code", "5", "4", "1")]
    assert "80% assigned" in html  # the bar's share in text, not in colour alone
    assert "Nobody is waiting" in html


def test_the_overview_counts_the_waiting_line_and_its_oldest_wait(
    secret_app: Any, db: Database
) -> None:
    acme = new_org(secret_app, db, "acme", seats={"chat": 15, "chat_code": 5})
    for i in range(21):  # 20 seats; the primary owner holds one: two wait
        add_member(acme, f"m{i}@acme.example")
    html = text(signed_in(secret_app, db, "acme", "owner@acme.example").get("/"))
    figures = re.findall(r'<p class="card-figure">(\d+)</p>', html)
    assert figures == ["2", "2"]  # unassigned, waiting
    assert "The oldest has waited since" in html and "(since today)" in html


def test_the_history_walks_back_from_todays_counts_through_the_audit_log(
    secret_app: Any, db: Database
) -> None:
    acme = new_org(secret_app, db, "acme", seats={"chat": 15, "chat_code": 5})
    three_days_ago = utcnow() - timedelta(days=3)
    with db.unit_of_work(write=True) as session:  # the organization began three days ago
        session.execute(update(AuditEvent).values(at=three_days_ago))
        session.execute(update(Organization).values(term_start=three_days_ago))
    add_member(acme, "a@acme.example")
    add_member(acme, "b@acme.example")
    owner = acting_as_owner(db)
    billing.purchase(db, owner, {"chat": 20})
    seen = console.overview(db, owner)
    assert len(seen.history) == 4
    held = [(p.assigned["chat"], p.assigned["chat_code"]) for p in seen.history]
    bought = [(p.purchased["chat"], p.purchased["chat_code"]) for p in seen.history]
    assert held == [(0, 1), (0, 1), (0, 1), (0, 3)]
    assert bought == [(15, 5), (15, 5), (15, 5), (20, 5)]
    html = text(signed_in(secret_app, db, "acme", "owner@acme.example").get("/"))
    assert html.count("<polyline") == 4  # assigned and purchased, per seat type
    assert "Seat history as a table" in html


def test_my_seat_shows_the_seat_what_it_includes_and_whom_to_ask_by_name(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(signed_in(secret_app, db, "acme", EMAILS["member"]).get("/me"))
    assert "You have a <strong>Chat + Claude Code</strong> seat." in html
    assert "Claude on the web, desktop and mobile apps" in html
    assert "<li>Claude Code</li>" in html
    assert "SCIM" in html  # how the seat came
    people_listed = re.findall(r'<span class="person-name">([^<]+)</span>', html)
    assert people_listed == ["Otto Owner", "Ada Admin"]  # the primary owner has no name
    assert "owner@acme.example" in html and "Primary owner" in html
    assert "Member" in html  # the member's own role, in the header


def test_no_page_shows_an_id(secret_app: Any, db: Database, people: People) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    for path in ("/", "/me"):
        assert not UUID.search(text(browser.get(path))), path


def test_an_unassigned_member_is_told_they_have_no_seat(secret_app: Any, db: Database) -> None:
    acme = new_org(secret_app, db, "acme", seats={"chat": 15, "chat_code": 5})
    for i in range(19):
        add_member(acme, f"m{i}@acme.example")
    add_member(acme, "late@acme.example")  # the 21st member: no seat left
    html = text(signed_in(secret_app, db, "acme", "late@acme.example").get("/me"))
    assert "You have no seat yet: you are waiting for one." in html
    assert "Nothing until you get a seat" in html
    assert "Waiting since" in html


def acting_as_owner(db: Database) -> access.Acting:
    from scim_server.persistence.models import UserRow

    with db.unit_of_work() as session:
        owner = session.scalar(select(UserRow).where(UserRow.user_name == "owner@acme.example"))
        org = session.scalar(select(Organization))
        assert org is not None
        return access.acting_as(owner, org.pk, org.slug, org.plan, "console")


def test_the_console_acts_as_the_signed_in_member_through_the_console_channel(
    db: Database, people: People
) -> None:
    seen = console.visitor(db, "acme", people.admin.id)
    assert seen.acting.actor == Actor("member", people.admin.id, "console")
    assert seen.org_name == "Acme" and seen.member.display_name == "Ada Admin"


def test_an_unexpected_error_is_the_500_page_with_the_request_id_and_no_traceback(
    secret_app: Any, db: Database, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])

    def broken(*_: Any) -> Any:
        raise RuntimeError("a secret detail of the failure")

    monkeypatch.setattr(console, "overview", broken)
    response = browser.client.get("/console/acme/", headers={"X-Request-Id": "req-1234"})
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Sorry, there is a problem with the console" in text(response)
    assert "req-1234" in text(response)
    assert "secret detail" not in text(response) and "Traceback" not in text(response)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
