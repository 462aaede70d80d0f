"""The Organization page (issue 19): finding members, changing their seats and roles one at
a time or as one batch, the no-seat refusal, and the CSV export; over the test client."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from scim_server.domain import roles
from scim_server.domain.roles import Role
from scim_server.persistence import members as member_rows
from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, UserRow
from scim_server.persistence.types import utcnow
from scim_server.services import members

from .admin_client import Org, add_member, member_row, new_org, set_active
from .console_client import EMAILS, Console, People, people, redirected_to, signed_in, text

__all__ = ["people"]  # fixtures, imported to be used here

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HTMX = {"HX-Request": "true"}


def shown(html: str) -> list[str]:
    """The userNames of the rows, in order."""
    return re.findall(r'<tr id="member-[^"]+" class="member-row[^"]*" data-member="([^"]+)"', html)


def visible(html: str) -> str:
    """The page's text as read, without tags, attributes or URLs."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def listing(browser: Console, **query: str) -> str:
    response = browser.get("/organization", query_string=query)
    assert response.status_code == 200, text(response)
    return text(response)


def post_with(browser: Console, path: str, data: dict[str, Any], **headers: str) -> Any:
    form = {"csrf_token": browser.csrf(), **data}
    return browser.client.post(f"/console/{browser.slug}{path}", data=form, headers=headers)


def seat_of(org: Org, member_id: str) -> str:
    return member_row(org, member_id).seat_type


def console_events(db: Database, action: str) -> list[AuditEvent]:
    with db.unit_of_work() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.pk)
        return [e for e in session.scalars(query) if e.source == "console"]


# --- finding members ----------------------------------------------------------------------


def test_the_page_lists_members_by_name_and_email_with_display_names_and_shows_no_id(
    secret_app: Any, db: Database, people: People
) -> None:
    html = listing(signed_in(secret_app, db, "acme", EMAILS["admin"]))
    assert shown(html) == [
        "ada@acme.example", "mia@acme.example", "otto@acme.example", "owner@acme.example",
    ]  # fmt: skip
    read = visible(html)
    assert "Mia Member" in read and "mia@acme.example" in read
    assert "Chat + Claude Code" in read and "Primary owner" in read and "SCIM" in read
    assert "4 members" in read
    assert not UUID.search(read)
    assert '<th scope="col">Seat type</th>' in html
    assert '<label class="visually-hidden" for="seat-' in html
    assert f">Seat type for {EMAILS['member']}</label>" in html
    assert f">Select {EMAILS['member']}</span>" in html


def test_a_search_finds_members_by_the_start_of_their_name_or_email(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    assert shown(listing(browser, q="mia@")) == ["mia@acme.example"]
    assert shown(listing(browser, q="otto OW")) == ["otto@acme.example"]  # display name
    html = listing(browser, q="o")
    assert shown(html) == ["otto@acme.example", "owner@acme.example"]
    assert "2 members match" in visible(html)
    assert shown(listing(browser, q="zz")) == []
    assert "No member matches these filters." in listing(browser, q="zz")


def test_the_filters_narrow_the_list_by_seat_type_role_status_and_waiting(
    secret_app: Any, db: Database, people: People
) -> None:
    acme = people.acme
    late = add_member(acme, "zed@acme.example")  # chat: chat_code is 4 of 5, then 5 of 5
    set_active(acme, late.id, False)
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    assert shown(listing(browser, seat_type="chat_code")) == [
        "ada@acme.example", "mia@acme.example", "otto@acme.example", "owner@acme.example",
    ]  # fmt: skip
    assert shown(listing(browser, role="admin")) == ["ada@acme.example"]
    assert shown(listing(browser, status="inactive")) == ["zed@acme.example"]
    assert "Deactivated" in visible(listing(browser, status="inactive"))
    assert "zed@acme.example" not in shown(listing(browser, status="active"))
    assert shown(listing(browser, waiting="true")) == []
    both = listing(browser, role="member", seat_type="chat_code")
    assert shown(both) == ["mia@acme.example"]
    assert "1 member matches" in visible(both)
    # Empty fields of the GET form are no filter at all.
    assert len(shown(listing(browser, q="", role="", seat_type=""))) == 5


def test_not_seen_for_n_days_lists_who_has_not_signed_in_since_or_ever(
    secret_app: Any, db: Database, people: People
) -> None:
    with db.unit_of_work(write=True) as session:
        for email, days in (("mia@acme.example", 40), ("ada@acme.example", 3)):
            session.execute(
                update(UserRow)
                .where(UserRow.user_name == email)
                .values(last_sign_in_at=utcnow() - timedelta(days=days))
            )
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])  # signs otto in: now
    html = listing(browser, not_seen="30")
    assert shown(html) == ["mia@acme.example", "owner@acme.example"]  # 40 days; never
    assert shown(listing(browser, not_seen="2")) == [
        "ada@acme.example", "mia@acme.example", "owner@acme.example",
    ]  # fmt: skip
    assert "Never" in visible(html)


def test_pages_follow_each_other_by_cursor_with_next_and_previous_links(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    first = listing(browser, per_page="3", seat_type="chat_code")
    assert shown(first) == ["ada@acme.example", "mia@acme.example", "otto@acme.example"]
    assert "Previous page" not in first
    found = re.search(r'rel="next" href="([^"]+)"', first)
    assert found is not None
    following = found.group(1).replace("&amp;", "&")
    assert "seat_type=chat_code" in following and "per_page=3" in following
    second = text(browser.client.get(following))
    assert shown(second) == ["owner@acme.example"]
    assert "Next page" not in second
    found = re.search(r'rel="prev" href="([^"]+)"', second)
    assert found is not None
    assert shown(text(browser.client.get(found.group(1).replace("&amp;", "&")))) == shown(first)


def test_a_search_too_common_to_count_says_more_than(
    secret_app: Any, db: Database, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(member_rows, "CANDIDATES", 1)
    html = listing(signed_in(secret_app, db, "acme", EMAILS["admin"]), q="o")
    assert "More than 1 members match" in visible(html)
    assert shown(html) == ["otto@acme.example", "owner@acme.example"]


def test_a_refused_filter_is_named_in_the_error_summary_linking_to_its_control(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    response = browser.get("/organization", query_string={"not_seen": "0", "role": "king"})
    assert response.status_code == 422
    html = text(response)
    assert 'class="error-summary"' in html
    assert '<a href="#filter-not-seen">' in html and '<a href="#filter-role">' in html
    assert shown(html) == []
    wrong_type = browser.get("/organization", query_string={"seat_type": "premium"})
    assert wrong_type.status_code == 422
    assert '<a href="#filter-seat-type">' in text(wrong_type)


# --- one member's seat ----------------------------------------------------------------------


def test_a_seat_saved_without_javascript_returns_to_the_same_list_and_says_what_was_done(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    mia = people.member.id
    response = post_with(
        browser, f"/organization/members/{mia}/seat",
        {f"seat.{mia}": "chat", "back": "q=mi&seat_type=chat_code"},
    )  # fmt: skip
    assert redirected_to(response) == "/console/acme/organization?q=mi&seat_type=chat_code"
    assert seat_of(people.acme, mia) == "chat"
    html = listing(browser)
    assert "The seat type of Mia Member (mia@acme.example) is now Chat." in html
    assert "Pinned" in visible(html)
    [event] = console_events(db, "seat.changed")
    assert (event.actor_kind, event.actor, event.source) == ("member", people.admin.id, "console")
    assert (event.subject_id, event.after["seat_type"]) == (mia, "chat")


def test_with_htmx_a_seat_change_answers_the_row_and_a_status_message(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    mia = people.member.id
    response = post_with(
        browser, f"/organization/members/{mia}/seat", {f"seat.{mia}": "unassigned"}, **HTMX
    )
    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith(f'<tr id="member-{mia}"')
    assert '<option value="unassigned" selected>Unassigned</option>' in html
    assert '<div id="status" hx-swap-oob="innerHTML"><p class="notice">' in html
    assert "is now Unassigned." in html
    assert '<div id="page-errors" class="page-errors" hx-swap-oob="true">' in html
    assert seat_of(people.acme, mia) == "unassigned"


def test_automatic_hands_the_member_back_to_the_automatic_rules(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    mia = people.member.id
    post_with(browser, f"/organization/members/{mia}/seat", {f"seat.{mia}": "chat"})
    assert member_row(people.acme, mia).pinned_seat_type == "chat"
    response = post_with(browser, f"/organization/members/{mia}/seat", {f"seat.{mia}": "auto"})
    assert redirected_to(response) == "/console/acme/organization"
    row = member_row(people.acme, mia)
    assert (row.pinned_seat_type, row.seat_type) == (None, "chat_code")  # the highest free
    assert "is now Chat + Claude Code, assigned automatically." in listing(browser)


def full_chat_code(people: People) -> str:
    """chat_code full (5 of 5), and Carl on chat: the member an admin tries to move up."""
    add_member(people.acme, "bea@acme.example")  # the fifth chat_code seat
    return add_member(people.acme, "carl@acme.example", displayName="Carl Chat").id


@pytest.mark.parametrize("htmx", [False, True], ids=["without JavaScript", "with htmx"])
def test_no_seat_free_names_the_type_and_counts_and_offers_an_owner_the_billing_review(
    secret_app: Any, db: Database, people: People, htmx: bool
) -> None:
    carl = full_chat_code(people)
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    response = post_with(
        browser, f"/organization/members/{carl}/seat", {f"seat.{carl}": "chat_code"},
        **(HTMX if htmx else {}),
    )  # fmt: skip
    assert response.status_code == 409
    html = text(response)
    assert "No Chat + Claude Code seat is free: 5 purchased, 5 assigned" in html
    assert f'<a href="#seat-{carl}">' in html  # the summary links to the row's select
    assert f'id="seat-{carl}-error"' in html  # and the error sits beside it
    link = '<a class="button" href="/console/acme/billing/review?chat_code=6">'
    assert link + "Buy a Chat + Claude Code seat</a>" in html
    assert "Only an owner can buy seats" not in html
    assert seat_of(people.acme, carl) == "chat"
    if htmx:
        assert html.lstrip().startswith(f'<tr id="member-{carl}"')
        assert '<option value="chat" selected>' in html  # the row shows what holds


@pytest.mark.parametrize("htmx", [False, True], ids=["without JavaScript", "with htmx"])
def test_no_seat_free_tells_an_admin_that_an_owner_must_buy_one(
    secret_app: Any, db: Database, people: People, htmx: bool
) -> None:
    carl = full_chat_code(people)
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    response = post_with(
        browser, f"/organization/members/{carl}/seat", {f"seat.{carl}": "chat_code"},
        **(HTMX if htmx else {}),
    )  # fmt: skip
    assert response.status_code == 409
    html = text(response)
    assert "No Chat + Claude Code seat is free: 5 purchased, 5 assigned" in html
    assert "Only an owner can buy seats: ask an owner of your organization" in html
    assert "billing/review" not in html and "Buy a" not in html


def test_a_seat_type_the_plan_does_not_have_is_the_services_refusal_beside_the_row(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    mia = people.member.id
    response = post_with(browser, f"/organization/members/{mia}/seat", {f"seat.{mia}": "gold"})
    assert response.status_code == 422
    assert "&#39;gold&#39; is not a seat type of enterprise" in text(response)
    assert f'<a href="#seat-{mia}">' in text(response)


# --- a batch ------------------------------------------------------------------------------------


@pytest.fixture
def swap(secret_app: Any, db: Database) -> tuple[Org, str, str]:
    """The article's example: ten chat_code seats, all held, and every chat seat held too
    (so A cannot simply move down first). A holds chat_code, B chat."""
    org = new_org(secret_app, db, "swap", seats={"chat": 10, "chat_code": 10})
    a = add_member(org, "a@swap.example", role="admin", displayName="Alex A")
    for i in range(8):
        add_member(org, f"code{i}@swap.example")
    b = add_member(org, "b@swap.example", displayName="Bo B")  # the first chat seat
    for i in range(9):
        add_member(org, f"chat{i}@swap.example")
    assert (seat_of(org, a.id), seat_of(org, b.id)) == ("chat_code", "chat")
    return org, a.id, b.id


def test_the_articles_swap_through_unassigned_one_member_at_a_time(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, a, b = swap
    browser = signed_in(secret_app, db, "swap", "owner@swap.example")
    refused = post_with(browser, f"/organization/members/{a}/seat", {f"seat.{a}": "chat"})
    assert refused.status_code == 409  # no chat seat free either: the swap needs a way round
    for member, seat_type in ((a, "unassigned"), (b, "chat_code"), (a, "chat")):
        response = post_with(
            browser, f"/organization/members/{member}/seat", {f"seat.{member}": seat_type}
        )
        assert response.status_code == 303, text(response)
    assert (seat_of(org, a), seat_of(org, b)) == ("chat", "chat_code")


def test_a_batch_applies_each_selected_rows_choice_together_so_the_swap_is_one_step(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, a, b = swap
    browser = signed_in(secret_app, db, "swap", "owner@swap.example")
    response = post_with(
        browser, "/organization/seats",
        {"selected": [a, b], f"seat.{a}": "chat", f"seat.{b}": "chat_code",
         f"seat.{org.owner.id}": "unassigned",  # another row's choice, not selected: ignored
         "bulk_seat_type": "", "back": "q=a"},
    )  # fmt: skip
    assert redirected_to(response) == "/console/swap/organization?q=a"
    assert (seat_of(org, a), seat_of(org, b)) == ("chat", "chat_code")
    assert seat_of(org, org.owner.id) == "chat_code"
    assert "Seat types changed together for 2 members: Alex A (a@swap.example); Bo B" in (
        listing(browser)
    )
    events = console_events(db, "seat.changed")
    assert {e.subject_id for e in events} == {a, b}
    assert {(e.actor, e.reason) for e in events} == {(org.owner.id, "assigned by an admin (batch)")}


def test_a_batch_that_does_not_fit_changes_nothing_and_keeps_what_was_asked(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, a, b = swap
    browser = signed_in(secret_app, db, "swap", "a@swap.example")  # an admin
    response = post_with(
        browser, "/organization/seats",
        {"selected": [a, b], f"seat.{a}": "unassigned", f"seat.{b}": "chat_code"},
    )  # fmt: skip
    assert response.status_code == 303  # A's seat freed B's: it fits
    response = post_with(
        browser, "/organization/seats",
        {"selected": [a, b], f"seat.{a}": "chat_code", f"seat.{b}": "chat_code"},
    )  # fmt: skip
    assert response.status_code == 409
    html = text(response)
    assert "No Chat + Claude Code seat is free: 10 purchased, 10 assigned" in html
    assert f'<a href="#seat-{a}">' in html  # the first row asking for the full type
    assert "Only an owner can buy seats" in html
    assert (seat_of(org, a), seat_of(org, b)) == ("unassigned", "chat_code")  # nothing moved
    # The form comes back as it was sent: both rows selected, A's choice kept.
    assert f'value="{a}" data-select-member checked' in html
    row_a = html.split(f'<tr id="member-{a}"', 1)[1].split("</tr>", 1)[0]
    assert '<option value="chat_code" selected>' in row_a


def test_a_batch_short_of_several_seats_says_how_many_and_offers_an_owner_as_many(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, _admin, b = swap  # the admin signs in as a@swap.example
    waiting = [add_member(org, f"late{i}@swap.example").id for i in range(2)]  # no seat free
    batch = {"selected": [b, *waiting], "bulk_seat_type": "chat_code"}
    owner = signed_in(secret_app, db, "swap", "owner@swap.example")
    response = post_with(owner, "/organization/seats", batch)
    assert response.status_code == 409
    html = text(response)
    assert (
        "No Chat + Claude Code seat is free: 10 purchased, 10 assigned; "
        "these changes need 13, 3 more"
    ) in html
    link = '<a class="button" href="/console/swap/billing/review?chat_code=13">'
    assert link + "Buy 3 Chat + Claude Code seats</a>" in html
    admin = signed_in(secret_app, db, "swap", "a@swap.example")
    html = text(post_with(admin, "/organization/seats", batch))
    assert "ask an owner of your organization to buy 3 Chat + Claude Code seats" in html
    assert seat_of(org, b) == "chat"


def test_a_batch_may_set_every_selected_member_to_one_seat_type(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, a, b = swap
    browser = signed_in(secret_app, db, "swap", "owner@swap.example")
    response = post_with(
        browser, "/organization/seats",
        {"selected": [a, b], f"seat.{a}": "chat", "bulk_seat_type": "unassigned"},
    )  # fmt: skip
    assert response.status_code == 303
    assert (seat_of(org, a), seat_of(org, b)) == ("unassigned", "unassigned")


def test_a_batch_refuses_automatic_and_nobody_selected_with_the_reason_at_the_control(
    secret_app: Any, db: Database, swap: tuple[Org, str, str]
) -> None:
    org, a, b = swap
    browser = signed_in(secret_app, db, "swap", "owner@swap.example")
    nobody = post_with(browser, "/organization/seats", {f"seat.{a}": "chat"})
    assert nobody.status_code == 422
    assert '<a href="#bulk-seat-type">Select the members whose seat types to change</a>' in (
        text(nobody)
    )
    automatic = post_with(
        browser, "/organization/seats", {"selected": [b], f"seat.{b}": members.AUTO}
    )
    assert automatic.status_code == 422
    assert f'<a href="#seat-{b}">' in text(automatic)
    assert "is for one member at a time" in text(automatic)  # and where to do that
    assert seat_of(org, b) == "chat"


# --- roles --------------------------------------------------------------------------------------


def role_options(html: str, member_id: str) -> list[str] | str:
    """The role choices of a member's row, or the role shown as text when there are none."""
    row = html.split(f'<tr id="member-{member_id}"', 1)[1].split("</tr>", 1)[0]
    cell = row.split('data-label="Role">', 1)[1].split("</td>", 1)[0]
    if "<select" not in cell:
        return visible(cell).strip()
    return re.findall(r'<option value="([a-z_]+)"', cell)


def test_the_role_select_offers_only_the_roles_the_service_lets_the_visitor_give(
    secret_app: Any, db: Database, people: People
) -> None:
    admin_view = listing(signed_in(secret_app, db, "acme", EMAILS["admin"]))
    assert role_options(admin_view, people.member.id) == ["member", "admin"]
    assert role_options(admin_view, people.owner.id) == "Owner"  # not an admin's to change
    assert role_options(admin_view, people.primary_owner.id) == "Primary owner"
    owner_view = listing(signed_in(secret_app, db, "acme", EMAILS["owner"]))
    assert role_options(owner_view, people.member.id) == ["member", "admin", "owner"]
    assert role_options(owner_view, people.primary_owner.id) == "Primary owner"
    assert f">Role for {EMAILS['member']}</label>" in owner_view


def test_the_roles_offered_are_exactly_those_check_role_change_allows() -> None:
    for actor in Role:
        for current in Role:
            allowed = []
            for requested in Role:
                try:
                    roles.check_role_change(actor, current, requested)
                    allowed.append(requested)
                except roles.NotPermitted:
                    pass
            assert roles.assignable(actor, current) == allowed


def test_a_role_change_is_saved_audited_as_console_and_said(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    mia = people.member.id
    response = post_with(browser, f"/organization/members/{mia}/role", {f"role.{mia}": "owner"})
    assert redirected_to(response) == "/console/acme/organization"
    assert member_row(people.acme, mia).role == "owner"
    assert "The role of Mia Member (mia@acme.example) is now Owner." in listing(browser)
    [event] = console_events(db, "role.changed")
    assert (event.actor, event.source, event.subject_id) == (people.owner.id, "console", mia)
    assert (event.before, event.after) == ({"role": "member"}, {"role": "owner"})


@pytest.mark.parametrize("htmx", [False, True], ids=["without JavaScript", "with htmx"])
def test_a_role_change_the_service_refuses_shows_its_reason(
    secret_app: Any, db: Database, people: People, htmx: bool
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    mia = people.member.id
    response = post_with(
        browser, f"/organization/members/{mia}/role", {f"role.{mia}": "owner"},
        **(HTMX if htmx else {}),
    )  # fmt: skip
    assert response.status_code == 403
    html = text(response)
    assert "only an owner or higher may give or take the owner role" in html
    assert f'<a href="#role-{mia}">' in html
    assert member_row(people.acme, mia).role == "member"
    assert console_events(db, "role.changed") == []


# --- the CSV export ------------------------------------------------------------------------------


def test_the_csv_export_holds_every_matching_member_with_display_names_and_no_formulas(
    secret_app: Any, db: Database, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "EXPORT_BATCH", 2)  # several pages, streamed
    for name, display in (
        ("eve@acme.example", '=HYPERLINK("http://evil.example","x")'),
        ("plus@acme.example", "+1 555"),
        ("at@acme.example", "@SUM(A1)"),
        ("minus@acme.example", "-2+3"),
        ("tab@acme.example", "\tTab"),
    ):
        add_member(people.acme, name, displayName=display)
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    response = browser.get("/organization/members.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-members.csv"'
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0] == [
        "Name", "Email", "User name", "Role", "Seat type", "Source", "Pinned", "Status",
        "Waiting since", "Last sign-in",
    ]  # fmt: skip
    by_user = {row[2]: row for row in rows[1:]}
    assert len(by_user) == 9
    assert by_user["mia@acme.example"][:8] == [
        "Mia Member", "", "mia@acme.example", "Member", "Chat + Claude Code",  # no emails
        "SCIM", "No", "Active",
    ]  # fmt: skip
    assert by_user["owner@acme.example"][3] == "Primary owner"
    assert by_user["eve@acme.example"][0] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_user["plus@acme.example"][0] == "'+1 555"
    assert by_user["at@acme.example"][0] == "'@SUM(A1)"
    assert by_user["minus@acme.example"][0] == "'-2+3"
    assert by_user["tab@acme.example"][0] == "'\tTab"
    assert not UUID.search(text(response))
    assert by_user["ada@acme.example"][9]  # Ada signed in: an ISO 8601 instant
    filtered = browser.get("/organization/members.csv", query_string={"role": "admin"})
    assert [row[2] for row in csv.reader(io.StringIO(text(filtered)))][1:] == ["ada@acme.example"]


def test_the_export_link_carries_the_filters_but_not_the_page(
    secret_app: Any, db: Database, people: People
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["admin"])
    html = listing(browser, role="member", after=people.admin.id)
    assert 'href="/console/acme/organization/members.csv?role=member"' in html
    assert "Download these members as CSV" in html


# --- the door ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/organization/members/{id}/seat", "/organization/members/{id}/role",
             "/organization/seats"],
)  # fmt: skip
def test_every_change_without_the_forms_csrf_token_is_refused(
    secret_app: Any, db: Database, people: People, path: str
) -> None:
    browser = signed_in(secret_app, db, "acme", EMAILS["owner"])
    mia = people.member.id
    data = {f"seat.{mia}": "chat", f"role.{mia}": "admin", "selected": mia}
    response = browser.post(path.format(id=mia), data, csrf=False)
    assert response.status_code == 400
    assert "This form has expired" in text(response)
    row = member_row(people.acme, mia)
    assert (row.seat_type, row.role) == ("chat_code", "member")


def test_an_htmx_request_that_must_sign_in_again_navigates_instead_of_swapping(
    secret_app: Any, db: Database, people: People
) -> None:
    anonymous = Console(secret_app.test_client(), "acme")
    response = anonymous.get("/organization", query_string={"q": "mi"}, headers=HTMX)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.headers["HX-Redirect"].startswith("/console/acme/sign-in?next=")
    assert "organization" in response.headers["HX-Redirect"]


def test_an_htmx_request_meeting_an_error_page_reloads_the_page(
    secret_app: Any, db: Database, people: People
) -> None:
    member = signed_in(secret_app, db, "acme", EMAILS["member"])
    mia = people.member.id
    response = post_with(
        member, f"/organization/members/{mia}/seat", {f"seat.{mia}": "chat"}, **HTMX
    )
    assert response.status_code == 403
    assert response.headers["HX-Refresh"] == "true"
