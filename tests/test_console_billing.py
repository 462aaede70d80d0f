"""The Billing pages (SEATS.md §2, §3, §7): the allocation, Edit seats, Review, Upgrade and
extra usage, over the same services as /api/v1/billing. Who may open them is in
tests/test_console_roles.py; the browser's view is in tests/test_console_billing_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import url_for

from scim_server.api.console.render import money
from scim_server.persistence.db import Database
from scim_server.services import billing

from .admin_client import Org, add_member, new_org
from .console_client import EMAILS, Console, People, people, redirected_to, signed_in, text
from .test_console_pages import UUID, acting_as_owner

__all__ = ["people"]  # fixtures, imported to be used here

# acme (tests/console_client.py): 15 Chat and 5 Chat + Claude Code seats; the primary owner
# and the three members made over SCIM hold 4 Chat + Claude Code seats (the highest free).


def owner(app: Any, db: Database) -> Console:
    return signed_in(app, db, "acme", EMAILS["owner"])


def allocation(org: Org) -> dict[str, Any]:
    response = org.call(org.owner.token, "GET", "/billing/seats")
    assert response.status_code == 200
    return {t: counts["purchased"] for t, counts in response.json["allocation"].items()}


def events(org: Org, **query: Any) -> list[dict[str, Any]]:
    response = org.call(org.owner.token, "GET", "/audit-events", query={"limit": 1000, **query})
    assert response.status_code == 200
    return list(response.json["events"])


def table_rows(html: str) -> list[tuple[str, ...]]:
    """Each row of the page's first table: its header cell, then its cells, as text."""
    table = html.split("<table", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [
        tuple(
            " ".join(re.sub(r"<[^>]+>", "", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        )
        for row in rows
    ]


def error_links(html: str) -> list[tuple[str, str]]:
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', summary)


def field_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input[^>]* id="{field_id}"[^>]* value="([^"]*)"', html)
    assert found, field_id
    return found.group(1)


# --- the Billing page ---------------------------------------------------------------------


def test_the_billing_page_shows_the_plan_the_term_and_each_seat_types_price_and_counts(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing"))
    assert "<h1>Billing</h1>" in html
    assert "<dd>Enterprise</dd>" in html and "<dd>Usage-based</dd>" in html
    assert re.search(r"<dd>\d{1,2} \w+ \d{4} to \d{1,2} \w+ \d{4}</dd>", html)
    assert re.search(r"<dd>36[45] days</dd>", html)  # a term of 365 days, begun today
    assert table_rows(html) == [
        ("Seat type", "Purchased", "Assigned", "Available"),
        ("Chat $40.00 per seat per month", "15", "0", "15"),
        ("Chat + Claude Code $100.00 per seat per month", "5", "4", "1"),
        ("Total", "20", "4", "16"),
    ]
    assert "Prices are in USD." in html
    assert re.search(
        r'<a class="edit-link" href="/console/acme/billing/seats">.*?Edit seats\s*</a>', html, re.S
    )
    assert "Extra usage" not in html  # not on this plan (SEATS.md §7)


def test_the_billing_page_counts_what_the_admin_api_counts(
    secret_app: Any, db: Database, people: People
) -> None:
    api = people.acme.call(people.acme.owner.token, "GET", "/billing/seats").json
    rows = table_rows(text(owner(secret_app, db).get("/billing")))[1:3]
    for (name, purchased, assigned, available), seat_type in zip(
        rows, ("chat", "chat_code"), strict=True
    ):
        counts = api["allocation"][seat_type]
        assert (int(purchased), int(assigned), int(available)) == (
            counts["purchased"], counts["assigned"], counts["available"],
        ), name  # fmt: skip


def test_the_billing_page_says_how_many_members_wait_for_a_seat(
    secret_app: Any, db: Database, people: People
) -> None:
    for i in range(17):  # 16 seats free: one waits
        add_member(people.acme, f"m{i}@acme.example")
    assert "1 member is waiting for a seat." in text(owner(secret_app, db).get("/billing"))


# --- Edit seats -----------------------------------------------------------------------------


def test_the_edit_form_has_an_input_per_seat_type_labelled_by_its_name_and_prefilled(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing/seats"))
    assert '<form method="get" action="/console/acme/billing/review"' in html
    assert '<label class="label" for="seats-chat">Chat</label>' in html
    assert '<label class="label" for="seats-chat_code">Chat + Claude Code</label>' in html
    assert (field_value(html, "seats-chat"), field_value(html, "seats-chat_code")) == ("15", "5")
    assert re.search(r'<input[^>]* id="seats-chat_code" name="chat_code"', html)
    assert "You have 5, 4 assigned. $100.00 per seat per month." in html
    assert 'aria-describedby="seats-chat_code-hint"' in html
    assert re.search(r'<button type="submit" class="button">Review</button>', html)
    assert "csrf_token" not in html.split('<form method="get"', 1)[1].split("</form>", 1)[0]


def test_the_edit_form_keeps_the_totals_sent_back_by_the_reviews_change_link(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing/seats?chat_code=9"))
    assert (field_value(html, "seats-chat"), field_value(html, "seats-chat_code")) == ("15", "9")


# --- Review ---------------------------------------------------------------------------------


def test_the_review_shows_what_is_added_and_its_prorated_cost_and_changes_nothing(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = owner(secret_app, db)
    before = (allocation(people.acme), len(events(people.acme)))  # after signing in (audited)
    response = browser.get("/billing/review?chat=15&chat_code=7")
    html = text(response)
    assert response.status_code == 200
    assert "<h1>Review your seats</h1>" in html
    assert "2 added to 5" in html and "no change" in html
    expected = billing.review(db, acting_as_owner(db), {"chat_code": 7})
    assert table_rows(html) == [
        ("Seats added", "Per seat per month", "Cost"),
        ("2 Chat + Claude Code", "$100.00", money(expected.total_cents, "USD")),
        ("Total", "", money(expected.total_cents, "USD")),
    ]
    assert expected.total_cents > 0
    assert f"for the {expected.days_remaining} days" in html
    upgrade = html.split('action="/console/acme/billing/upgrade"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="chat_code" value="7">' in upgrade
    assert 'name="chat"' not in upgrade  # only the types that change: a Chat bought meanwhile stays
    assert 'name="csrf_token"' in upgrade
    assert html.count('class="button"') == 1  # Upgrade, the one primary action
    assert (allocation(people.acme), len(events(people.acme))) == before


def test_the_reviews_change_links_return_to_the_form_with_the_totals(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing/review?chat_code=7"))
    links = re.findall(
        r'<a href="([^"]+)">Change<span class="visually-hidden"> ([^<]+)</span>', html
    )
    assert links == [
        ("/console/acme/billing/seats?chat=15&amp;chat_code=7#seats-chat", "Chat seats"),
        (
            "/console/acme/billing/seats?chat=15&amp;chat_code=7#seats-chat_code",
            "Chat + Claude Code seats",
        ),
    ]


def test_the_review_address_is_one_total_per_seat_type_and_the_others_keep_their_count(
    secret_app: Any, db: Database, people: People
) -> None:
    """The contract the Organization page's "Buy a seat" link relies on."""
    with secret_app.test_request_context():
        path = url_for("console.billing_review", org="acme", chat_code=6)
    assert path == "/console/acme/billing/review?chat_code=6"
    html = text(owner(secret_app, db).get(path.removeprefix("/console/acme")))
    assert "1 added to 5" in html and "15 seats" in html and "no change" in html


def test_a_review_that_adds_nothing_says_so_and_offers_no_upgrade(
    secret_app: Any, db: Database, people: People
) -> None:
    for query in ("?chat=15&chat_code=5", ""):
        html = text(owner(secret_app, db).get(f"/billing/review{query}"))
        assert "No seats would be added" in html
        assert "Upgrade</button>" not in html and "/billing/upgrade" not in html
        assert (
            'href="/console/acme/billing/seats?chat=15&amp;chat_code=5">Change the totals' in html
        )


def test_a_lower_count_is_refused_on_the_form_with_the_services_rule_and_the_account_manager(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = owner(secret_app, db)
    before = (allocation(people.acme), len(events(people.acme)))
    response = browser.get("/billing/review?chat=20&chat_code=4")
    html = text(response)
    assert response.status_code == 422
    assert "<title>Error: Edit seats" in html
    ((field, message),) = error_links(html)
    assert field == "seats-chat_code"
    assert message == (
        "Seats cannot be removed during the annual term (Chat + Claude Code from 5 to 4); "
        "contact your account manager to adjust the allocation at renewal."
    )
    assert (
        f'<p id="seats-chat_code-error" class="field-error"><span class="visually-hidden">Error:</span> {message}</p>'
        in html
    )
    assert 'aria-describedby="seats-chat_code-hint seats-chat_code-error"' in html
    assert (field_value(html, "seats-chat"), field_value(html, "seats-chat_code")) == ("20", "4")
    assert (allocation(people.acme), len(events(people.acme))) == before


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("chat_code=ten", "seats-chat_code", "Enter the number of Chat + Claude Code seats as a whole number."),
        ("chat=2.5", "seats-chat", "Enter the number of Chat seats as a whole number."),
        ("chat=", "seats-chat", "Enter the number of Chat seats."),
        ("chat=-1", "seats-chat", "The number of Chat seats must be 0 or more."),
        ("chat_code=1000001", "seats-chat_code", "The number of Chat + Claude Code seats must be 1,000,000 or fewer."),
        ("chat=" + "9" * 5000, "seats-chat", "The number of Chat seats must be 1,000,000 or fewer."),
        ("chat=%EF%BC%93", "seats-chat", "Enter the number of Chat seats as a whole number."),  # a full-width 3
        ("premium=30", "seats-chat", "&#39;premium&#39; is not a seat type of enterprise (chat, chat_code)."),
    ],
    ids=["a word", "a fraction", "nothing", "negative", "too many", "thousands of digits", "a non-ASCII digit", "an unknown seat type"],
)  # fmt: skip
def test_a_count_that_is_not_a_seat_count_is_shown_on_the_form_by_its_field(
    secret_app: Any, db: Database, people: People, query: str, field: str, message: str
) -> None:
    response = owner(secret_app, db).get(f"/billing/review?{query}")
    assert response.status_code == 422
    assert error_links(text(response)) == [(field, message)]


def test_both_fields_wrong_are_both_in_the_summary_in_the_forms_order(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing/review?chat_code=x&chat=y"))
    assert [field for field, _ in error_links(html)] == ["seats-chat", "seats-chat_code"]


def test_counts_written_with_thousands_separators_or_spaces_are_read(
    secret_app: Any, db: Database, people: People
) -> None:
    html = text(owner(secret_app, db).get("/billing/review?chat=1%2C015&chat_code=+6+"))
    assert "1000 added to 15" in html and "1 added to 5" in html


# --- Upgrade --------------------------------------------------------------------------------


def test_upgrade_buys_serves_the_waiting_line_and_says_so(
    secret_app: Any, db: Database, people: People
) -> None:
    for i in range(18):  # 16 seats free: two wait
        add_member(people.acme, f"m{i}@acme.example")
    browser = owner(secret_app, db)
    response = browser.post("/billing/upgrade", {"chat_code": "6"})
    assert redirected_to(response) == "/console/acme/billing"
    html = text(browser.get("/billing"))
    assert (
        '<p class="notice">Seats added: 1 Chat + Claude Code. 1 member waiting got a seat.</p>'
        in html
    )
    assert ("Chat + Claude Code $100.00 per seat per month", "6", "6", "0") in table_rows(html)
    assert "1 member is waiting for a seat." in html
    assert allocation(people.acme) == {"chat": 15, "chat_code": 6}


def test_upgrade_is_audited_as_the_owner_through_the_console(
    secret_app: Any, db: Database, people: People
) -> None:
    owner(secret_app, db).post("/billing/upgrade", {"chat": "17", "chat_code": "6"})
    (event,) = events(people.acme, action="allocation.changed")
    assert (event["actor"], event["source"], event["reason"]) == (
        people.owner.id, "console", "purchased by an owner",
    )  # fmt: skip
    assert event["before"] == {"seats": {"chat": 15, "chat_code": 5}}
    assert event["after"] == {"seats": {"chat": 17, "chat_code": 6}}


def test_a_double_submit_of_upgrade_buys_once(
    secret_app: Any, db: Database, people: People
) -> None:
    """The form carries totals, not additions: the second press finds them bought."""
    browser = owner(secret_app, db)
    form = {"chat_code": "6", "csrf_token": browser.csrf()}  # one page's form, sent twice
    first = browser.post("/billing/upgrade", form)
    second = browser.post("/billing/upgrade", form)
    assert redirected_to(first) == redirected_to(second) == "/console/acme/billing"
    assert allocation(people.acme) == {"chat": 15, "chat_code": 6}
    assert len(events(people.acme, action="allocation.changed")) == 1
    notices = re.findall(r'<p class="notice">([^<]+)</p>', text(browser.get("/billing")))
    assert notices == [
        "Seats added: 1 Chat + Claude Code.",
        "No seats added: you already had those totals.",
    ]


def test_an_upgrade_that_would_lower_a_count_is_refused_on_the_form_and_buys_nothing(
    secret_app: Any, db: Database, people: People
) -> None:
    """Another owner bought more since this review: its total is now a reduction."""
    billing.purchase(db, acting_as_owner(db), {"chat_code": 8})
    response = owner(secret_app, db).post("/billing/upgrade", {"chat_code": "6"})
    assert response.status_code == 422
    ((field, message),) = error_links(text(response))
    assert field == "seats-chat_code" and "contact your account manager" in message
    assert allocation(people.acme) == {"chat": 15, "chat_code": 8}


def test_an_upgrade_without_the_forms_csrf_token_is_refused_and_buys_nothing(
    secret_app: Any, db: Database, people: People
) -> None:
    response = owner(secret_app, db).post("/billing/upgrade", {"chat_code": "6"}, csrf=False)
    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert allocation(people.acme) == {"chat": 15, "chat_code": 5}


# --- extra usage (SEATS.md §7) ------------------------------------------------------------


@pytest.fixture
def legacy(secret_app: Any, db: Database) -> Org:
    return new_org(
        secret_app, db, "old", plan="enterprise_legacy", seats={"standard": 15, "premium": 5}
    )


def test_a_legacy_plan_shows_its_fixed_fee_and_the_extra_usage_switch_off(
    secret_app: Any, db: Database, legacy: Org
) -> None:
    html = text(signed_in(secret_app, db, "old", "owner@old.example").get("/billing"))
    assert "<dd>Enterprise (legacy)</dd>" in html and "<dd>Fixed monthly fee per seat</dd>" in html
    assert "<dt>Extra usage</dt><dd>Off</dd>" in html
    assert ("Premium $120.00 per seat per month", "5", "1", "4") in table_rows(html)
    assert re.search(r'id="extra-usage-off" name="extra_usage" value="off" checked', html)
    assert '<button type="submit" class="button button-secondary">Save</button>' in html


def test_an_owner_switches_extra_usage_on_and_it_is_audited_through_the_console(
    secret_app: Any, db: Database, legacy: Org
) -> None:
    browser = signed_in(secret_app, db, "old", "owner@old.example")
    response = browser.post("/billing/extra-usage", {"extra_usage": "on"})
    assert redirected_to(response) == "/console/old/billing"
    html = text(browser.get("/billing"))
    assert '<p class="notice">Extra usage is on.</p>' in html
    assert "<dt>Extra usage</dt><dd>On</dd>" in html
    (event,) = events(legacy, action="extra_usage.changed")
    assert (event["actor"], event["source"]) == (legacy.owner.id, "console")
    assert (event["before"], event["after"]) == ({"extra_usage": False}, {"extra_usage": True})


def test_extra_usage_sent_without_a_choice_is_shown_with_the_error_summary(
    secret_app: Any, db: Database, legacy: Org
) -> None:
    response = signed_in(secret_app, db, "old", "owner@old.example").post(
        "/billing/extra-usage", {}
    )
    assert response.status_code == 422
    assert error_links(text(response)) == [
        ("extra-usage-on", "Select whether extra usage is on or off")
    ]
    assert events(legacy, action="extra_usage.changed") == []


def test_extra_usage_cannot_be_switched_on_a_plan_without_it(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = owner(secret_app, db)
    response = browser.post("/billing/extra-usage", {"extra_usage": "on"})
    assert response.status_code == 422
    assert "This request could not be used" in text(response)
    assert events(people.acme, action="extra_usage.changed") == []


def test_extra_usage_without_the_forms_csrf_token_is_refused(
    secret_app: Any, db: Database, legacy: Org
) -> None:
    browser = signed_in(secret_app, db, "old", "owner@old.example")
    response = browser.post("/billing/extra-usage", {"extra_usage": "on"}, csrf=False)
    assert response.status_code == 400
    assert events(legacy, action="extra_usage.changed") == []


# --- every page -----------------------------------------------------------------------------


PAGES = ["/billing", "/billing/seats", "/billing/review?chat_code=6", "/billing/review?chat_code=1"]


def test_an_admin_gets_the_403_page_naming_the_owner_role_on_every_billing_page(
    secret_app: Any, db: Database, people: People
) -> None:
    admin = signed_in(secret_app, db, "acme", EMAILS["admin"])
    for path in PAGES:
        response = admin.get(path)
        assert response.status_code == 403, path
        assert "You do not have access to this page" in text(response)
        assert "needs the owner role or higher; you are admin" in text(response)


def test_the_sidebar_marks_billing_on_each_of_its_steps(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = owner(secret_app, db)
    assert 'href="/console/acme/billing" aria-current="page">Billing<' in text(
        browser.get("/billing")
    )
    for path in PAGES[1:]:
        assert 'href="/console/acme/billing" aria-current="true">Billing<' in text(
            browser.get(path)
        )


def test_no_billing_page_shows_an_id(secret_app: Any, db: Database, people: People) -> None:
    browser = owner(secret_app, db)
    for path in PAGES:
        assert not UUID.search(text(browser.get(path))), path
