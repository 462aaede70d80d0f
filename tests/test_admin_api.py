"""The admin API (/api/v1): SEATS.md §2-4, §7, §8 through personal API tokens."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from scim_server.persistence.models import SeatAllocation, Token, UserRow

from .admin_client import (
    Org,
    Person,
    acme,
    add_member,
    add_members,
    admin,
    member_row,
    new_org,
    set_active,
)

__all__ = ["acme", "admin"]  # fixtures, imported to be used here

# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def small(app: Any, db: Any) -> Org:
    """18 chat and 2 chat_code seats: the minimum of 20, easy to fill."""
    return new_org(app, db, "small", seats={"chat": 18, "chat_code": 2})


@dataclass
class Article:
    """The help-center article's organization: ten chat_code seats, all assigned."""

    org: Org
    admin: Person
    a: Person  # holds chat_code
    b: Person  # holds chat


@pytest.fixture
def article(app: Any, db: Any) -> Article:
    org = new_org(app, db, "article", seats={"chat": 30, "chat_code": 10})
    admin = add_member(org, "admin", role="admin")  # chat_code 2 of 10
    a = add_member(org, "a")  # chat_code 3 of 10
    add_members(org, 7)  # chat_code 10 of 10
    b = add_member(org, "b")  # chat, the highest type left
    assert allocation(org)["chat_code"] == {"purchased": 10, "assigned": 10, "available": 0}
    assert seat(org, a.id) == "chat_code" and seat(org, b.id) == "chat"
    return Article(org, admin, a, b)


def allocation(org: Org) -> dict[str, Any]:
    response = org.call(org.owner.token, "GET", "/organization")
    assert response.status_code == 200
    return dict(response.json["allocation"])


def seat(org: Org, member_id: str) -> str:
    return str(org.call(org.owner.token, "GET", f"/members/{member_id}").json["seat_type"])


def move(org: Org, token: str, member_id: str, seat_type: str) -> Any:
    return org.call(token, "PATCH", f"/members/{member_id}", {"seat_type": seat_type})


def counters_agree_with_holders(org: Org) -> bool:
    """The stored counters equal the members actually holding each seat type."""
    with org.db.unit_of_work() as session:
        counters = dict(
            session.execute(
                select(SeatAllocation.seat_type, SeatAllocation.assigned).where(
                    SeatAllocation.org_pk == org.pk
                )
            ).all()
        )
        holders = dict(
            session.execute(
                select(UserRow.seat_type, func.count())
                .where(UserRow.org_pk == org.pk)
                .group_by(UserRow.seat_type)
            ).all()
        )
    return all(counters[t] == holders.get(t, 0) for t in counters)


def events(org: Org, **query: Any) -> list[dict[str, Any]]:
    response = org.call(org.owner.token, "GET", "/audit-events", query={"limit": 1000, **query})
    assert response.status_code == 200
    return list(response.json["events"])


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json["error"]
    assert body["code"] == code and body["message"]
    return dict(body)


# --- GET /organization ----------------------------------------------------------------------------


def test_the_organization_shows_plan_term_seat_types_and_allocation(acme: Org) -> None:
    member = add_member(acme, "mo")  # takes chat_code, the highest free
    body = acme.call(member.token, "GET", "/organization").json
    assert (body["slug"], body["name"], body["plan"]) == ("acme", "Acme", "enterprise")
    assert body["billing_model"] == "usage" and body["extra_usage"] is False
    assert body["term_start"] < body["term_end"]
    assert body["seat_types"] == [
        {"id": "chat", "name": "Chat", "rank": 1, "entitlements": ["claude_apps"]},
        {
            "id": "chat_code",
            "name": "Chat + Claude Code",
            "rank": 2,
            "entitlements": ["claude_apps", "claude_code"],
        },
    ]
    assert body["allocation"] == {
        "chat": {"purchased": 50, "assigned": 0, "available": 50},
        "chat_code": {"purchased": 20, "assigned": 2, "available": 18},
    }
    assert (body["unassigned"], body["waiting"]) == (0, 0)


def test_the_organization_counts_unassigned_members_and_the_waiting_line(small: Org) -> None:
    members = add_members(small, 19)  # every seat taken
    set_active(small, members[1].id, False)  # holds nothing now, and is not counted
    add_member(small, "late")  # takes the seat just freed
    add_member(small, "later")  # waits
    assert move(small, small.owner.token, members[0].id, "unassigned").status_code == 200
    body = small.call(small.owner.token, "GET", "/organization").json
    assert (body["unassigned"], body["waiting"]) == (2, 1)


# --- GET /members ---------------------------------------------------------------------------------


def test_a_member_has_every_documented_field(acme: Org) -> None:
    emails = [{"value": "w@acme.example"}, {"value": "p@acme.example", "primary": True}]
    person = add_member(acme, "pat", displayName="Pat", emails=emails)
    body = acme.call(acme.owner.token, "GET", f"/members/{person.id}").json
    assert body == {
        "id": person.id,
        "user_name": "pat",
        "display_name": "Pat",
        "email": "p@acme.example",
        "role": "member",
        "active": True,
        "seat_type": "chat_code",
        "seat_source": "scim",
        "pinned": False,
        "pinned_seat_type": None,
        "waiting": False,
        "entitlements": ["claude_apps", "claude_code"],
        "last_sign_in_at": None,
    }


def test_members_are_filtered_by_seat_type_role_and_status(acme: Org, admin: Person) -> None:
    people = add_members(acme, 3)
    assert move(acme, admin.token, people[0].id, "chat").status_code == 200
    set_active(acme, people[1].id, False)

    def ids(**query: Any) -> set[str]:
        response = acme.call(admin.token, "GET", "/members", query=query)
        assert response.status_code == 200
        return {m["id"] for m in response.json["members"]}

    assert ids(seat_type="chat") == {people[0].id}
    assert ids(seat_type="unassigned") == {people[1].id}
    assert ids(role="admin") == {admin.id}
    assert ids(role="primary_owner") == {acme.owner.id}
    assert ids(status="inactive") == {people[1].id}
    assert ids(status="active", seat_type="chat_code") == {acme.owner.id, admin.id, people[2].id}


def test_members_are_paged_in_username_order_with_cursors_and_a_total(
    acme: Org, admin: Person
) -> None:
    add_members(acme, 5)

    def page(**query: Any) -> Any:
        response = acme.call(admin.token, "GET", "/members", query={"per_page": 3, **query})
        assert response.status_code == 200, response.json
        return response.json

    first = page()
    second = page(after=first["after"])
    third = page(after=second["after"])
    assert [len(p["members"]) for p in (first, second, third)] == [3, 3, 1]
    assert {(p["total"], p["total_exact"]) for p in (first, second, third)} == {(7, True)}
    assert (first["before"], third["after"]) == (None, None)
    listed = [m["user_name"] for p in (first, second, third) for m in p["members"]]
    assert listed == sorted(listed) and len(set(listed)) == 7
    back = page(before=third["before"])
    assert [m["id"] for m in back["members"]] == [m["id"] for m in second["members"]]
    assert back["after"] == second["after"] and back["before"] == second["before"]


def test_member_listing_parameters_are_validated(acme: Org, admin: Person) -> None:
    too_many = acme.call(admin.token, "GET", "/members", query={"per_page": 501})
    assert "per_page" in error(too_many, 422, "invalid_input")["fields"]
    both = acme.call(admin.token, "GET", "/members", query={"after": "x", "before": "y"})
    assert "before" in error(both, 422, "invalid_input")["fields"]
    wrong_type = acme.call(admin.token, "GET", "/members", query={"seat_type": "premium"})
    assert "premium" in error(wrong_type, 422, "invalid_input")["fields"]["seat_type"][0]
    unknown = acme.call(admin.token, "GET", "/members", query={"colour": "red"})
    assert error(unknown, 422, "invalid_input")["fields"] == {"colour": ["Unknown field."]}


def test_a_member_sees_their_own_seat_and_nobody_elses(acme: Org) -> None:
    me, other = add_member(acme, "me"), add_member(acme, "other")
    mine = acme.call(me.token, "GET", f"/members/{me.id}")
    assert mine.status_code == 200 and mine.json["entitlements"] == ["claude_apps", "claude_code"]
    theirs = acme.call(me.token, "GET", f"/members/{other.id}")
    assert error(theirs, 403, "forbidden")["required_role"] == "admin"
    listing = acme.call(me.token, "GET", "/members")
    assert error(listing, 403, "forbidden")["required_role"] == "admin"


def test_a_deactivated_member_holds_no_seat_and_has_no_entitlements(
    acme: Org, admin: Person
) -> None:
    person = add_member(acme, "leaver")
    assert move(acme, admin.token, person.id, "chat").status_code == 200
    set_active(acme, person.id, False)
    body = acme.call(admin.token, "GET", f"/members/{person.id}").json
    assert body["active"] is False and body["entitlements"] == []
    assert (body["seat_type"], body["pinned_seat_type"]) == ("unassigned", "chat")


def test_an_unknown_member_is_not_found(acme: Org, admin: Person) -> None:
    error(acme.call(admin.token, "GET", "/members/nobody"), 404, "not_found")
    error(move(acme, admin.token, "nobody", "chat"), 404, "not_found")


def test_another_organizations_member_is_not_found_and_nothing_changes(
    acme: Org, admin: Person, app: Any, db: Any
) -> None:
    globex = new_org(app, db, "globex")
    stranger = add_member(globex, "stranger")
    nobody = "01a23b00-0000-7000-8000-000000000000"
    unknown = acme.call(admin.token, "GET", f"/members/{nobody}").json
    foreign = acme.call(admin.token, "GET", f"/members/{stranger.id}")
    assert foreign.status_code == 404
    # The same answer as for an id that exists nowhere, but for the id itself.
    assert foreign.json["error"]["message"] == unknown["error"]["message"].replace(
        nobody, stranger.id
    )
    error(move(acme, admin.token, stranger.id, "chat"), 404, "not_found")
    batch = [{"member": stranger.id, "seat_type": "chat"}]
    response = acme.call(admin.token, "POST", "/members/seat-assignments", {"assignments": batch})
    assert "assignments.0.member" in error(response, 422, "invalid_input")["fields"]
    assert seat(globex, stranger.id) == "chat_code"


# --- PATCH /members/{id} --------------------------------------------------------------------------


def test_an_admin_reassigns_a_seat_and_the_choice_is_pinned(acme: Org, admin: Person) -> None:
    person = add_member(acme, "dev")
    response = move(acme, admin.token, person.id, "chat")
    assert response.status_code == 200
    assert response.json["seat_type"] == "chat" and response.json["entitlements"] == ["claude_apps"]
    assert (response.json["pinned"], response.json["pinned_seat_type"]) == (True, "chat")
    assert response.json["seat_source"] == "manual"
    assert allocation(acme)["chat"]["assigned"] == 1
    assert counters_agree_with_holders(acme)


def test_a_reassignment_changes_the_scim_version_and_seat(acme: Org, admin: Person) -> None:
    person = add_member(acme, "versioned")
    seat_urn = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"
    before = acme.scim.call("GET", f"/Users/{person.id}")
    move(acme, admin.token, person.id, "chat")
    after = acme.scim.call("GET", f"/Users/{person.id}")
    assert before.headers["ETag"] != after.headers["ETag"]
    assert after.json[seat_urn]["seatType"] == "chat"


def test_unassigned_takes_the_seat_away_and_the_freed_seat_stays_free(small: Org) -> None:
    members = add_members(small, 19)
    waiting = add_member(small, "waiting")
    response = move(small, small.owner.token, members[0].id, "unassigned")
    assert response.status_code == 200 and response.json["entitlements"] == []
    # SEATS.md §4: a seat freed by an admin is not given to the waiting line.
    assert member_row(small, waiting.id).waiting_since is not None
    assert sum(t["available"] for t in allocation(small).values()) == 1


def test_a_full_seat_type_is_refused_with_counts_and_an_offer_only_owners_may_take(
    article: Article,
) -> None:
    org = article.org
    by_admin = error(
        move(org, article.admin.token, article.b.id, "chat_code"), 409, "seat_unavailable"
    )
    assert (by_admin["seat_type"], by_admin["purchased"], by_admin["assigned"]) == (
        "chat_code",
        10,
        10,
    )
    assert by_admin["purchase"] == {"allowed": False, "href": "/api/v1/billing/seats"}
    by_owner = error(move(org, org.owner.token, article.b.id, "chat_code"), 409, "seat_unavailable")
    assert by_owner["purchase"] == {"allowed": True, "href": "/api/v1/billing/seats"}
    assert seat(org, article.b.id) == "chat"


def test_auto_unpins_and_the_automatic_rules_decide_again(acme: Org, admin: Person) -> None:
    person = add_member(acme, "flex")
    move(acme, admin.token, person.id, "chat")
    response = move(acme, admin.token, person.id, "auto")
    assert response.status_code == 200
    assert response.json["seat_type"] == "chat_code"  # the highest type with a seat free
    assert (response.json["pinned"], response.json["seat_source"]) == (False, "system")
    trail = events(acme, member=person.id)[-2:]
    assert [e["action"] for e in trail] == ["seat.unpinned", "seat.changed"]
    assert trail[0]["before"]["pinned"] is True and trail[0]["after"]["pinned"] is False
    assert (trail[1]["before"]["seat_type"], trail[1]["after"]["seat_type"]) == (
        "chat",
        "chat_code",
    )
    assert counters_agree_with_holders(acme)


def test_an_unknown_seat_type_is_invalid_input(acme: Org, admin: Person) -> None:
    person = add_member(acme, "typo")
    response = move(acme, admin.token, person.id, "premium")
    assert "premium" in error(response, 422, "invalid_input")["fields"]["seat_type"][0]


def test_a_patch_naming_nothing_or_unknown_fields_is_invalid_input(
    acme: Org, admin: Person
) -> None:
    person = add_member(acme, "blank")
    empty = acme.call(admin.token, "PATCH", f"/members/{person.id}", {})
    assert error(empty, 422, "invalid_input")["fields"] == {
        "_schema": ["name a seat_type, a role, or both"]
    }
    extra = acme.call(admin.token, "PATCH", f"/members/{person.id}", {"seat": "chat"})
    assert error(extra, 422, "invalid_input")["fields"] == {"seat": ["Unknown field."]}
    null = acme.call(admin.token, "PATCH", f"/members/{person.id}", {"seat_type": None})
    assert "seat_type" in error(null, 422, "invalid_input")["fields"]


# --- roles ---------------------------------------------------------------------------------------


def test_an_admin_makes_admins_and_the_change_is_audited(acme: Org, admin: Person) -> None:
    person = add_member(acme, "promoted")
    response = acme.call(admin.token, "PATCH", f"/members/{person.id}", {"role": "admin"})
    assert response.status_code == 200 and response.json["role"] == "admin"
    (event,) = events(acme, action="role.changed")
    assert (event["actor_kind"], event["actor"], event["source"]) == (
        "member",
        admin.id,
        "admin_api",
    )
    assert (event["subject_id"], event["before"], event["after"]) == (
        person.id,
        {"role": "member"},
        {"role": "admin"},
    )
    assert event["reason"]


def test_only_owners_make_owners_and_nobody_sets_primary_owner(acme: Org, admin: Person) -> None:
    person = add_member(acme, "hopeful")
    by_admin = acme.call(admin.token, "PATCH", f"/members/{person.id}", {"role": "owner"})
    assert error(by_admin, 403, "forbidden")["required_role"] == "owner"
    by_owner = acme.call(acme.owner.token, "PATCH", f"/members/{person.id}", {"role": "owner"})
    assert by_owner.status_code == 200
    crown = acme.call(acme.owner.token, "PATCH", f"/members/{person.id}", {"role": "primary_owner"})
    error(crown, 403, "forbidden")
    demote = acme.call(acme.owner.token, "PATCH", f"/members/{acme.owner.id}", {"role": "owner"})
    error(demote, 403, "forbidden")
    assert member_row(acme, acme.owner.id).role == "primary_owner"


def test_a_role_change_applies_to_the_very_next_request(acme: Org, admin: Person) -> None:
    assert acme.call(admin.token, "GET", "/members").status_code == 200
    acme.call(acme.owner.token, "PATCH", f"/members/{admin.id}", {"role": "member"})
    assert acme.call(admin.token, "GET", "/members").status_code == 403


def test_a_refused_seat_undoes_the_role_change_of_the_same_patch(article: Article) -> None:
    org = article.org
    both = {"role": "admin", "seat_type": "chat_code"}
    response = org.call(org.owner.token, "PATCH", f"/members/{article.b.id}", both)
    error(response, 409, "seat_unavailable")
    assert member_row(org, article.b.id).role == "member"
    assert events(org, action="role.changed") == []


# --- the article's example (SEATS.md §4) ------------------------------------------------------


def test_the_articles_swap_through_unassigned_works_one_request_at_a_time(
    article: Article,
) -> None:
    org, token, a, b = article.org, article.admin.token, article.a, article.b
    assert move(org, token, a.id, "unassigned").status_code == 200
    assert move(org, token, b.id, "chat_code").status_code == 200
    assert move(org, token, a.id, "chat").status_code == 200
    assert (seat(org, a.id), seat(org, b.id)) == ("chat", "chat_code")
    assert allocation(org) == {
        "chat": {"purchased": 30, "assigned": 1, "available": 29},
        "chat_code": {"purchased": 10, "assigned": 10, "available": 0},
    }
    assert events(org, action="allocation.changed") == []  # no purchase was needed
    assert counters_agree_with_holders(org)


def test_the_articles_swap_works_as_one_batch_request(article: Article) -> None:
    org = article.org
    swap = [
        {"member": article.a.id, "seat_type": "unassigned"},
        {"member": article.b.id, "seat_type": "chat_code"},
        {"member": article.a.id, "seat_type": "chat"},
    ]
    response = org.call(
        article.admin.token, "POST", "/members/seat-assignments", {"assignments": swap}
    )
    assert response.status_code == 200
    assert [(m["id"], m["seat_type"], m["pinned"]) for m in response.json["members"]] == [
        (article.a.id, "chat", True),
        (article.b.id, "chat_code", True),
    ]
    assert allocation(org)["chat_code"] == {"purchased": 10, "assigned": 10, "available": 0}
    assert counters_agree_with_holders(org)


def test_a_batch_that_ends_over_the_allocation_changes_nothing(article: Article) -> None:
    org = article.org
    third = add_member(org, "third")  # chat: every chat_code seat is taken
    over = [
        {"member": article.a.id, "seat_type": "chat"},  # frees one chat_code seat...
        {"member": article.b.id, "seat_type": "chat_code"},  # ...taken here
        {"member": third.id, "seat_type": "chat_code"},  # one too many
    ]
    response = org.call(
        article.admin.token, "POST", "/members/seat-assignments", {"assignments": over}
    )
    body = error(response, 409, "seat_unavailable")
    assert (body["seat_type"], body["purchased"], body["assigned"]) == ("chat_code", 10, 10)
    assert [seat(org, p.id) for p in (article.a, article.b, third)] == ["chat_code", "chat", "chat"]
    assert counters_agree_with_holders(org)


def test_a_batch_that_overfills_a_type_says_how_many_seats_it_lacks(article: Article) -> None:
    org = article.org
    others = add_members(org, 2, prefix="other")  # chat, as every chat_code seat is taken
    over = [{"member": p.id, "seat_type": "chat_code"} for p in (article.b, *others)]
    for token, allowed in ((article.admin.token, False), (org.owner.token, True)):
        response = org.call(token, "POST", "/members/seat-assignments", {"assignments": over})
        body = error(response, 409, "seat_unavailable")
        assert body["message"] == (
            "the batch needs 13 chat_code seats and 10 are purchased: it is 3 short; "
            "an owner can purchase more seats"
        )
        assert (body["seat_type"], body["purchased"], body["assigned"]) == ("chat_code", 10, 10)
        assert (body["needed"], body["short"]) == (13, 3)
        assert body["purchase"] == {"allowed": allowed, "href": "/api/v1/billing/seats"}
    assert allocation(org)["chat_code"]["assigned"] == 10


def test_auto_in_a_batch_is_refused_saying_it_is_for_one_member(article: Article) -> None:
    org = article.org
    batch = [
        {"member": article.a.id, "seat_type": "unassigned"},
        {"member": article.b.id, "seat_type": "auto"},
    ]
    response = org.call(
        article.admin.token, "POST", "/members/seat-assignments", {"assignments": batch}
    )
    body = error(response, 422, "invalid_input")
    hint = (
        '"auto" is for one member at a time (PATCH /api/v1/members/{id} {"seat_type": "auto"}, '
        "or Automatic in the member's row of the console): it hands them back to the automatic "
        "rules, where a batch pins the seats it assigns"
    )
    assert body["fields"] == {"assignments.1.seat_type": [hint]}
    assert body["message"] == f"the batch changes nothing: assignments.1.seat_type: {hint}"
    assert seat(org, article.a.id) == "chat_code"
    assert move(org, article.admin.token, article.b.id, "auto").status_code == 200


def test_a_batch_naming_an_unknown_member_or_type_is_invalid_and_changes_nothing(
    article: Article,
) -> None:
    org = article.org
    batch = [
        {"member": article.a.id, "seat_type": "chat"},
        {"member": "ghost", "seat_type": "chat"},
        {"member": article.b.id, "seat_type": "gold"},
    ]
    response = org.call(
        article.admin.token, "POST", "/members/seat-assignments", {"assignments": batch}
    )
    fields = error(response, 422, "invalid_input")["fields"]
    assert set(fields) == {"assignments.1.member", "assignments.2.seat_type"}
    assert seat(org, article.a.id) == "chat_code"


def test_a_batch_body_is_validated(acme: Org, admin: Person) -> None:
    path = "/members/seat-assignments"
    empty = acme.call(admin.token, "POST", path, {"assignments": []})
    assert "assignments" in error(empty, 422, "invalid_input")["fields"]
    missing = acme.call(admin.token, "POST", path, {"assignments": [{"member": "x"}]})
    assert error(missing, 422, "invalid_input")["fields"] == {
        "assignments.0.seat_type": ["Missing data for required field."]
    }


# --- billing (SEATS.md §2) ----------------------------------------------------------------------


def test_billing_shows_allocation_term_prices_currency_and_model(acme: Org) -> None:
    body = acme.call(acme.owner.token, "GET", "/billing/seats").json
    assert (body["plan"], body["billing_model"], body["currency"]) == ("enterprise", "usage", "USD")
    assert body["monthly_price_cents"] == {"chat": 4000, "chat_code": 10000}
    assert body["allocation"]["chat_code"] == {"purchased": 20, "assigned": 1, "available": 19}
    assert body["term_start"] < body["term_end"] and body["minimum_seats"] == 20


def test_admins_cannot_see_or_change_billing(acme: Org, admin: Person) -> None:
    seats = {"seats": {"chat": 60}}
    for method, path, body in [
        ("GET", "/billing/seats", None),
        ("POST", "/billing/seats/review", seats),
        ("PUT", "/billing/seats", seats),
        ("PUT", "/billing/extra-usage", {"enabled": True}),
    ]:
        refused = error(acme.call(admin.token, method, path, body), 403, "forbidden")
        assert refused["required_role"] == "owner"
    assert allocation(acme)["chat"]["purchased"] == 50


def test_a_review_prices_what_is_added_for_the_rest_of_the_term_and_changes_nothing(
    acme: Org,
) -> None:
    response = acme.call(
        acme.owner.token, "POST", "/billing/seats/review", {"seats": {"chat_code": 25}}
    )
    assert response.status_code == 200
    body = response.json
    days = body["days_remaining"]
    assert 363 <= days <= 365
    assert body["seats"]["chat"] == {"current": 50, "requested": 50, "added": 0, "cost_cents": 0}
    assert body["seats"]["chat_code"] == {
        "current": 20,
        "requested": 25,
        "added": 5,
        "cost_cents": round(5 * 10000 * 12 * days / 365),
    }
    assert body["total_cents"] == body["seats"]["chat_code"]["cost_cents"]
    assert body["currency"] == "USD" and body["changes_anything"] is True
    assert allocation(acme)["chat_code"]["purchased"] == 20
    assert events(acme, action="allocation.changed") == []


def test_a_purchase_adds_seats_and_is_audited(acme: Org) -> None:
    response = acme.call(acme.owner.token, "PUT", "/billing/seats", {"seats": {"chat_code": 25}})
    assert response.status_code == 200
    assert response.json["allocation"] == {
        "chat": {"purchased": 50, "assigned": 0, "available": 50},
        "chat_code": {"purchased": 25, "assigned": 1, "available": 24},
    }
    (event,) = events(acme, action="allocation.changed")
    assert (event["actor"], event["source"], event["reason"]) == (
        acme.owner.id,
        "admin_api",
        "purchased by an owner",
    )
    assert event["before"] == {"seats": {"chat": 50, "chat_code": 20}}
    assert event["after"] == {"seats": {"chat": 50, "chat_code": 25}}


def test_a_purchase_serves_the_waiting_line_oldest_first(small: Org) -> None:
    add_members(small, 19)
    first, second, third = (add_member(small, n) for n in ("first", "second", "third"))
    response = small.call(small.owner.token, "PUT", "/billing/seats", {"seats": {"chat": 20}})
    assert response.status_code == 200 and response.json["served_from_waiting_line"] == 2
    assert (seat(small, first.id), seat(small, second.id)) == ("chat", "chat")
    third_row = member_row(small, third.id)
    assert third_row.seat_type == "unassigned" and third_row.waiting_since is not None
    served = events(small, member=first.id)[-1]
    assert (served["action"], served["source"], served["after"]["seat_type"]) == (
        "seat.changed",
        "admin_api",
        "chat",
    )
    assert counters_agree_with_holders(small)


def test_a_reduction_during_the_term_is_refused_and_points_to_the_account_manager(
    acme: Org,
) -> None:
    for method, path in [("POST", "/billing/seats/review"), ("PUT", "/billing/seats")]:
        response = acme.call(
            acme.owner.token, method, path, {"seats": {"chat": 40, "chat_code": 30}}
        )
        body = error(response, 422, "reduction_during_term")
        assert "account manager" in body["message"] and "seats" in body["fields"]
        assert body["seat_types"] == ["chat"]  # lowered; chat_code went up
    assert allocation(acme)["chat"]["purchased"] == 50


def test_an_allocation_below_the_minimum_is_invalid_input(small: Org) -> None:
    response = small.call(
        small.owner.token, "POST", "/billing/seats/review", {"seats": {"chat": 5}}
    )
    body = error(response, 422, "invalid_input")
    assert "at least 20" in body["message"] and "seats" in body["fields"]


def test_seat_counts_are_validated(acme: Org) -> None:
    def fields(seats: Any) -> dict[str, Any]:
        response = acme.call(acme.owner.token, "PUT", "/billing/seats", {"seats": seats})
        return dict(error(response, 422, "invalid_input")["fields"])

    assert "seats.chat" in fields({"chat": -1})
    assert "seats.chat" in fields({"chat": 2.5})
    assert "seats.chat" in fields({"chat": "60"})
    assert "seats.chat" in fields({"chat": 10**12})  # beyond any column: 422, not a 500
    assert "premium" in fields({"premium": 30})["seats"][0]
    assert "seats" in fields({})


def test_extra_usage_is_switched_on_a_legacy_plan_and_audited(app: Any, db: Any) -> None:
    legacy = new_org(app, db, "old", plan="enterprise_legacy", seats={"standard": 15, "premium": 5})
    response = legacy.call(legacy.owner.token, "PUT", "/billing/extra-usage", {"enabled": True})
    assert response.status_code == 200 and response.json == {"extra_usage": True}
    assert legacy.call(legacy.owner.token, "GET", "/organization").json["extra_usage"] is True
    (event,) = events(legacy, action="extra_usage.changed")
    assert (event["before"], event["after"]) == ({"extra_usage": False}, {"extra_usage": True})


def test_extra_usage_on_a_plan_without_it_is_invalid_input(acme: Org) -> None:
    response = acme.call(acme.owner.token, "PUT", "/billing/extra-usage", {"enabled": True})
    assert "not available" in error(response, 422, "invalid_input")["message"]
    strict = acme.call(acme.owner.token, "PUT", "/billing/extra-usage", {"enabled": "yes"})
    assert "enabled" in error(strict, 422, "invalid_input")["fields"]


def test_extra_usage_is_switched_by_true_or_false_only_never_by_a_number(app: Any, db: Any) -> None:
    """1 == True in Python, but 1 is not a decision an owner made (found by schemathesis)."""
    legacy = new_org(app, db, "old", plan="enterprise_legacy", seats={"standard": 15, "premium": 5})
    for number in (1, 0, 1.0):
        response = legacy.call(
            legacy.owner.token, "PUT", "/billing/extra-usage", {"enabled": number}
        )
        assert "enabled" in error(response, 422, "invalid_input")["fields"]
    assert legacy.call(legacy.owner.token, "GET", "/organization").json["extra_usage"] is False


# --- ownership (SEATS.md §3) --------------------------------------------------------------------


def test_the_primary_owner_transfers_ownership_in_one_step(acme: Org, admin: Person) -> None:
    response = acme.call(acme.owner.token, "POST", "/ownership/transfer", {"member": admin.id})
    assert response.status_code == 200
    assert response.json["primary_owner"]["id"] == admin.id
    assert response.json["previous_primary_owner"]["role"] == "owner"
    assert (member_row(acme, admin.id).role, member_row(acme, acme.owner.id).role) == (
        "primary_owner",
        "owner",
    )
    trail = events(acme, action="role.changed")
    assert {(e["subject_id"], e["before"]["role"], e["after"]["role"]) for e in trail} == {
        (admin.id, "admin", "primary_owner"),
        (acme.owner.id, "primary_owner", "owner"),
    }
    again = acme.call(acme.owner.token, "POST", "/ownership/transfer", {"member": admin.id})
    assert error(again, 403, "forbidden")["required_role"] == "primary_owner"


def test_ownership_goes_only_to_an_active_member_other_than_oneself(acme: Org) -> None:
    leaver = add_member(acme, "leaver")
    set_active(acme, leaver.id, False)
    token = acme.owner.token
    error(
        acme.call(token, "POST", "/ownership/transfer", {"member": leaver.id}), 422, "invalid_input"
    )
    error(
        acme.call(token, "POST", "/ownership/transfer", {"member": acme.owner.id}),
        422,
        "invalid_input",
    )
    error(acme.call(token, "POST", "/ownership/transfer", {"member": "ghost"}), 404, "not_found")
    assert member_row(acme, acme.owner.id).role == "primary_owner"


# --- the audit log (SEATS.md §8) ----------------------------------------------------------------


def test_every_seat_change_is_in_the_audit_log_with_actor_source_before_after_and_reason(
    article: Article,
) -> None:
    org, admin = article.org, article.admin
    move(org, admin.token, article.a.id, "unassigned")
    swap = [{"member": article.b.id, "seat_type": "chat_code"}]
    org.call(admin.token, "POST", "/members/seat-assignments", {"assignments": swap})
    move(org, admin.token, article.a.id, "chat")
    trail = [e for e in events(org, source="admin_api") if e["action"].startswith("seat.")]
    assert [
        (e["subject_id"], e["before"]["seat_type"], e["after"]["seat_type"]) for e in trail
    ] == [
        (article.a.id, "chat_code", "unassigned"),
        (article.b.id, "chat", "chat_code"),
        (article.a.id, "unassigned", "chat"),
    ]
    for event in trail:
        assert (event["actor_kind"], event["actor"]) == ("member", admin.id)
        assert event["after"]["seat_source"] == "manual" and event["after"]["pinned"] is True
        assert event["reason"].startswith("assigned by an admin")
        assert event["subject_kind"] == "member" and event["at"]


def test_audit_events_are_filtered_by_action_member_source_and_time(
    acme: Org, admin: Person
) -> None:
    person = add_member(acme, "subject")
    move(acme, admin.token, person.id, "chat")
    everything = events(acme)
    assert {e["action"] for e in events(acme, action="seat.changed")} == {"seat.changed"}
    assert {e["subject_id"] for e in events(acme, member=person.id)} == {person.id}
    assert [e["source"] for e in events(acme, source="admin_api")] == ["admin_api"]
    middle = everything[len(everything) // 2]
    since = events(acme, since=middle["at"])
    assert middle in since and len(since) < len(everything)
    assert all(when(e) >= when(middle) for e in since)
    until = events(acme, until=middle["at"])
    assert until and middle not in until and all(when(e) < when(middle) for e in until)
    assert events(acme, until="2000-01-01") == []
    assert len(events(acme, since="2000-01-01T00:00:00")) == len(everything)


def test_audit_events_are_paged_with_a_keyset_cursor(acme: Org) -> None:
    add_members(acme, 3)
    everything = events(acme)
    seen: list[int] = []
    cursor: Any = 0
    while cursor is not None:
        page = acme.call(
            acme.owner.token, "GET", "/audit-events", query={"after": cursor, "limit": 2}
        ).json
        assert len(page["events"]) <= 2
        seen += [e["id"] for e in page["events"]]
        cursor = page["next"]
    assert seen == [e["id"] for e in everything]


def test_audit_query_parameters_are_validated(acme: Org) -> None:
    for query in (
        {"limit": 1001},
        {"since": "yesterday"},
        {"since": "0001-01-01T00:00:00+05:00"},  # out of range once in UTC: 422, not a 500
        {"format": "xml"},
        {"after": -1},
    ):
        response = acme.call(acme.owner.token, "GET", "/audit-events", query=query)
        assert set(error(response, 422, "invalid_input")["fields"]) == set(query)


def test_the_jsonl_export_has_one_json_object_per_event(acme: Org) -> None:
    add_members(acme, 2)
    response = acme.call(acme.owner.token, "GET", "/audit-events", query={"format": "jsonl"})
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == events(acme)


def test_the_csv_export_has_a_header_row_and_one_row_per_event(acme: Org) -> None:
    add_members(acme, 2)
    response = acme.call(
        acme.owner.token, "GET", "/audit-events", query={"format": "csv", "action": "seat.changed"}
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    expected = events(acme, action="seat.changed")
    assert list(rows[0]) == [
        "id", "at", "actor_kind", "actor", "actor_user_name", "actor_display_name",
        "source", "action", "subject_kind", "subject_id", "subject_user_name",
        "subject_display_name", "before", "after", "reason",
    ]  # fmt: skip
    assert [int(r["id"]) for r in rows] == [e["id"] for e in expected]
    assert [json.loads(r["after"]) for r in rows] == [e["after"] for e in expected]
    nothing = acme.call(
        acme.owner.token, "GET", "/audit-events", query={"format": "csv", "action": "none"}
    )
    assert nothing.get_data(as_text=True).strip().startswith("id,at,")


# --- authentication and error shapes ----------------------------------------------------------


def test_a_missing_malformed_or_foreign_kind_of_token_is_401(acme: Org) -> None:
    for token in (None, "nonsense", acme.scim.token, acme.owner.token + "x"):
        response = acme.call(token, "GET", "/organization")
        error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = acme.client.get("/api/v1/organization", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    error(basic, 401, "unauthorized")


def test_an_api_token_is_not_a_scim_token(acme: Org) -> None:
    response = acme.client.get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {acme.owner.token}"}
    )
    assert response.status_code == 401


def test_a_deactivated_or_removed_members_token_is_refused(acme: Org) -> None:
    leaver, removed = add_member(acme, "leaver", role="admin"), add_member(acme, "removed")
    set_active(acme, leaver.id, False)
    error(acme.call(leaver.token, "GET", f"/members/{leaver.id}"), 401, "unauthorized")
    assert acme.scim.call("DELETE", f"/Users/{removed.id}").status_code == 204
    error(acme.call(removed.token, "GET", "/organization"), 401, "unauthorized")


def test_a_revoked_token_is_refused(acme: Org) -> None:
    person = add_member(acme, "revoked")
    with acme.db.unit_of_work(write=True) as session:
        token = session.scalar(select(Token).where(Token.name == "revoked (test)"))
        token.revoked_at = token.created_at
    error(acme.call(person.token, "GET", "/organization"), 401, "unauthorized")


def test_a_body_that_is_not_json_is_400(acme: Org, admin: Person) -> None:
    # Nesting past the limit has its own code (tests/test_hostile_input.py).
    for raw in ("{not json", "", b"\xff\xfe"):
        response = acme.call(admin.token, "POST", "/members/seat-assignments", data=raw)
        error(response, 400, "malformed_json")


def test_json_that_is_not_an_object_is_422(acme: Org, admin: Person) -> None:
    response = acme.call(admin.token, "POST", "/members/seat-assignments", [1, 2])
    assert error(response, 422, "invalid_input")["fields"] == {"_schema": ["Invalid input type."]}


def test_a_nul_character_is_refused_as_a_forbidden_character_not_a_server_error(
    acme: Org,
) -> None:
    transfer = acme.call(acme.owner.token, "POST", "/ownership/transfer", {"member": "a\x00b"})
    assert error(transfer, 400, "forbidden_character")["at"] == "member"
    listing = acme.call(acme.owner.token, "GET", "/audit-events", query={"action": "a\x00"})
    assert error(listing, 400, "forbidden_character")["at"] == "action"
    error(acme.call(acme.owner.token, "GET", "/members/a%00b"), 404, "not_found")


def test_a_body_sent_as_a_form_by_curl_is_still_read_as_json(acme: Org, admin: Person) -> None:
    person = add_member(acme, "curl")
    response = acme.client.patch(
        f"/api/v1/members/{person.id}",
        data='{"seat_type": "chat"}',
        headers={"Authorization": f"Bearer {admin.token}"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.json["seat_type"] == "chat"


def test_unknown_endpoints_and_methods_answer_json(acme: Org) -> None:
    error(acme.call(acme.owner.token, "GET", "/nothing-here"), 404, "not_found")
    error(acme.call(acme.owner.token, "DELETE", "/organization"), 405, "method_not_allowed")


def test_a_member_path_that_is_not_an_id_is_not_taken_for_a_member(acme: Org) -> None:
    """/members/seat-assignments is its own resource: a GET on it is 405, not "no member"."""
    response = acme.call(acme.owner.token, "GET", "/members/seat-assignments")
    error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"POST", "OPTIONS"}
    error(acme.call(acme.owner.token, "GET", "/members/nobody"), 404, "not_found")


def test_a_method_an_endpoint_does_not_take_is_405_naming_those_it_takes(acme: Org) -> None:
    response = acme.call(acme.owner.token, "TRACE", "/members/seat-assignments")
    error(response, 405, "method_not_allowed")
    # RFC 9110 §15.5.6: a 405 carries Allow (found by schemathesis).
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"POST"}
