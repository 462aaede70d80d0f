"""Group mappings stored and applied (SEATS.md §4 and §5), on SQLite and PostgreSQL.

Members move when the mapping changes and when SCIM changes a mapped group's
membership; pinned members never do; `plan` shows exactly what `apply` does; every
move is in the audit log with its rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from textwrap import dedent
from typing import Any

import pytest
from sqlalchemy import event, select

from scim_server.mappings_file import MappingErrors
from scim_server.persistence.members import MemberRepository
from scim_server.persistence.models import AuditEvent, Organization, UserRow
from scim_server.services import group_mappings, operators, organizations, terms
from scim_server.services.audit import OPERATOR
from scim_server.services.seats import SeatDesk

from .conftest import Api
from .test_seats_scim import create, fill, held, seat_of, set_active

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

ENGINEERING = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: chat_code
"""

WITH_EVERYONE = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: chat_code
  - group: Everyone
    seat_type: chat
"""


@pytest.fixture
def org(app: Any, db: Any) -> Api:
    """20 chat and 5 chat_code seats; the owner holds one chat_code seat."""
    created = organizations.create(
        db, "Mapped", "mapped", "enterprise", {"chat": 20, "chat_code": 5}, "owner@mapped.example"
    )
    return Api(app.test_client(), created.scim_token, "mapped", db)


def group(api: Api, name: str, *members: str) -> str:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
    response = api.call("POST", "/Groups", body)
    assert response.status_code == 201, response.json
    group_id: str = response.json["id"]
    return group_id


def members_op(api: Api, group_id: str, op: str, *members: str, path: str = "members") -> None:
    operation: dict[str, Any] = {"op": op, "path": path}
    if members:
        operation["value"] = [{"value": m} for m in members]
    body = {"schemas": [PATCH], "Operations": [operation]}
    response = api.call("PATCH", f"/Groups/{group_id}", body)
    assert response.status_code in (200, 204), response.json


def source_of(api: Api, user_id: str) -> str | None:
    with api.db.unit_of_work() as session:
        return session.scalar(select(UserRow.seat_source).where(UserRow.id == user_id))


def seat_events(api: Api, user_id: str) -> list[AuditEvent]:
    with api.db.unit_of_work() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.subject_id == user_id, AuditEvent.action == "seat.changed")
            .order_by(AuditEvent.pk)
        )
        return list(session.scalars(query))


def pin(api: Api, user_id: str, seat_type: str) -> None:
    """An admin's manual assignment, which pins the member (SEATS.md §4)."""
    with api.db.unit_of_work(write=True) as session:
        org_pk = session.scalar(select(UserRow.org_pk).where(UserRow.id == user_id))
        member = MemberRepository(session, org_pk).by_id(user_id, for_update=True)
        assert member is not None
        SeatDesk(session, org_pk, _plan(), OPERATOR).assign(member, seat_type)


def _plan() -> Any:
    from scim_server.domain.plans import CATALOG

    return CATALOG["enterprise"]


# --- SCIM membership changes ------------------------------------------------------------------


def on_chat(api: Api, count: int) -> list[str]:
    """`count` members on chat with as many chat_code seats free (SEATS.md §4 swap)."""
    early = fill(api, 4, "early")  # the four chat_code seats left go first
    users = [create(api, f"on-chat-{i}").json["id"] for i in range(count)]
    assert {seat_of(api, u) for u in users} == {"chat"}
    for freed in early[:count]:
        pin(api, freed, "unassigned")  # an admin's change: the seat stays free
    return users


def test_a_user_pushed_into_a_mapped_group_moves_to_the_mapped_seat_type(org: Api) -> None:
    [user] = on_chat(org, 1)
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    engineering = group(org, "Engineering")

    members_op(org, engineering, "add", user)

    assert seat_of(org, user) == "chat_code" and source_of(org, user) == "group_mapping"
    [event] = seat_events(org, user)[-1:]
    assert event.source == "group_mapping" and event.actor_kind == "scim_token"
    assert event.reason == "mapped by group Engineering (rule at line 3)"
    assert (event.before["seat_type"], event.after["seat_type"]) == ("chat", "chat_code")
    assert all(counter == holders for counter, holders in held(org).values())


def test_members_a_mapping_moves_get_a_new_version_of_their_resource(org: Api) -> None:
    users = on_chat(org, 2)
    group(org, "Engineering", *users)
    before = {u: org.call("GET", f"/Users/{u}").headers["ETag"] for u in users}
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)  # a bulk move of both
    for user in users:
        again = org.call("GET", f"/Users/{user}", **{"If-None-Match": before[user]})
        assert again.status_code == 200 and again.headers["ETag"] != before[user]
        assert seat_of(org, user) == "chat_code"


def test_a_mapped_group_created_with_its_members_moves_them(org: Api) -> None:
    users = on_chat(org, 2)
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    group(org, "engineering", *users)  # displayName compares case-insensitively
    assert [seat_of(org, u) for u in users] == ["chat_code", "chat_code"]


def test_when_the_mapped_type_is_full_a_member_keeps_the_seat_the_automatic_rules_give(
    org: Api,
) -> None:
    fill(org, 4, "early")
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    everyone = group(org, "Everyone")
    holders = fill(org, 20, "chat")  # every chat seat is held now
    coder = fill(org, 1, "late")  # no seat left at all: waiting
    assert seat_of(org, coder[0]) is None
    pin(org, holders[0], "unassigned")  # an admin frees a chat seat; the line is not served

    members_op(org, everyone, "add", coder[0])

    # Everyone maps to chat, and the chat seat the admin freed is the highest one free.
    assert seat_of(org, coder[0]) == "chat"
    assert seat_events(org, coder[0])[-1].reason == "mapped by group Everyone (rule at line 5)"


def test_a_waiting_member_mapped_to_a_full_type_gets_the_highest_type_free(org: Api) -> None:
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    engineering = group(org, "Engineering")
    seated = fill(org, 24, "u")  # 4 chat_code, then 20 chat
    waiting = fill(org, 1, "w")[0]
    pin(org, seated[10], "unassigned")  # one chat seat free; chat_code is full

    members_op(org, engineering, "add", waiting)

    assert seat_of(org, waiting) == "chat"
    assert seat_events(org, waiting)[-1].reason == (
        "mapped by group Engineering; no chat_code seat available, "
        "highest available chat (rule at line 3)"
    )
    assert all(counter == holders for counter, holders in held(org).values())


def test_a_member_leaving_the_group_that_gave_their_seat_goes_back_to_the_automatic_rules(
    org: Api,
) -> None:
    [user] = on_chat(org, 1)
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    engineering, everyone = group(org, "Engineering", user), group(org, "Everyone", user)
    assert seat_of(org, user) == "chat_code"

    members_op(org, engineering, "remove", path=f'members[value eq "{user}"]')
    assert seat_of(org, user) == "chat" and source_of(org, user) == "group_mapping"

    members_op(org, everyone, "remove", user)
    # No rule left: the automatic rules, the highest type free (the seat they left).
    assert seat_of(org, user) == "chat_code" and source_of(org, user) == "system"
    assert seat_events(org, user)[-1].reason == (
        "no longer in a mapped group; highest available chat_code"
    )


def test_a_member_leaving_every_mapped_group_keeps_their_seat_when_none_is_higher(
    org: Api,
) -> None:
    user = create(org, "ada").json["id"]
    assert seat_of(org, user) == "chat_code"
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    everyone = group(org, "Everyone", user)
    assert seat_of(org, user) == "chat" and source_of(org, user) == "group_mapping"
    fill(org, 4, "late")  # every chat_code seat is held again

    members_op(org, everyone, "remove", user)

    assert seat_of(org, user) == "chat" and source_of(org, user) == "system"
    assert seat_events(org, user)[-1].reason == "no longer in a mapped group; keeps chat"


def test_a_pinned_member_is_never_moved_by_a_group_change(org: Api) -> None:
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    user = create(org, "ada").json["id"]
    pin(org, user, "chat")
    engineering = group(org, "Engineering")
    members_op(org, engineering, "add", user)
    assert seat_of(org, user) == "chat"


def test_renaming_a_group_into_a_mapped_name_re_evaluates_all_its_members(org: Api) -> None:
    users = on_chat(org, 3)
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    team = group(org, "Team", *users)
    assert {seat_of(org, u) for u in users} == {"chat"}
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Engineering"}]}  # fmt: skip
    assert org.call("PATCH", f"/Groups/{team}", body).status_code in (200, 204)
    assert {seat_of(org, u) for u in users} == {"chat_code"}


def test_deleting_a_mapped_group_releases_its_members_to_the_automatic_rules(org: Api) -> None:
    [user] = on_chat(org, 1)
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    group(org, "Everyone", user)
    engineering = group(org, "Engineering", user)
    assert seat_of(org, user) == "chat_code"
    assert org.call("DELETE", f"/Groups/{engineering}").status_code == 204
    assert seat_of(org, user) == "chat"


def test_a_put_replacing_a_mapped_groups_members_moves_who_joins_and_who_leaves(
    org: Api,
) -> None:
    stays, leaves, joins = on_chat(org, 3)
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    group(org, "Everyone", stays, leaves, joins)
    engineering = group(org, "Engineering", stays, leaves)
    body = {
        "schemas": [GROUP],
        "displayName": "Engineering",
        "members": [{"value": stays}, {"value": joins}],
    }
    assert org.call("PUT", f"/Groups/{engineering}", body).status_code == 200
    assert [seat_of(org, u) for u in (stays, leaves, joins)] == ["chat_code", "chat", "chat_code"]


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    engine = api.client.application.extensions["scim_db"].engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_adding_one_member_to_a_mapped_group_costs_the_same_whatever_the_groups_size(
    org: Api,
) -> None:
    """The issue: re-evaluation costs the members named, not the group's size."""
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    small = group(org, "Engineering", *fill(org, 2, "s"))
    big = group(org, "Engineering", *fill(org, 60, "b"))
    newcomers = fill(org, 2, "n")
    with statements(org) as on_small:
        members_op(org, small, "add", newcomers[0])
    with statements(org) as on_big:
        members_op(org, big, "add", newcomers[1])
    assert len(on_big) == len(on_small)


# --- applying a mapping file ------------------------------------------------------------------


def test_plan_shows_exactly_what_apply_then_does_and_the_audit_log_records(org: Api) -> None:
    users = [create(org, f"m{i}").json["id"] for i in range(8)]  # 4 chat_code, then chat
    group(org, "Engineering", *users[4:7])
    group(org, "Everyone", *users)
    pin(org, users[7], "chat")
    group_mappings.apply_for(org.db, "mapped", "plan: enterprise\nrules: []\n")

    planned = group_mappings.preview_for(org.db, "mapped", WITH_EVERYONE).as_json()
    applied = group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE).as_json()

    assert planned["applied"] is False and applied["applied"] is True
    assert {k: v for k, v in planned.items() if k != "applied"} == {
        k: v for k, v in applied.items() if k != "applied"
    }
    # chat_code is full (owner + 4): the three engineers keep chat; the four who hold
    # chat_code and are only in Everyone move down to chat, freeing seats for three.
    moves = {(m["userName"], m["from"], m["to"]) for m in applied["moves"]}
    assert moves == {(f"m{i}", "chat_code", "chat") for i in range(4)} | {
        (f"m{i}", "chat", "chat_code") for i in (4, 5, 6)
    }
    assert applied["sufficient"] and applied["held"] == {"chat": 5, "chat_code": 4}
    for move in applied["moves"]:
        event = seat_events(org, move["member"])[-1]
        assert event.source == "group_mapping" and event.actor_kind == "operator"
        line = move["rule"]["line"]
        assert event.reason == f"{move['reason']} (rule at line {line})"
        assert (event.before["seat_type"], event.after["seat_type"]) == (move["from"], move["to"])
    assert seat_of(org, users[7]) == "chat"  # pinned
    assert all(counter == holders for counter, holders in held(org).values())


def test_a_plan_writes_nothing(org: Api) -> None:
    user = create(org, "ada").json["id"]
    group(org, "Everyone", user)
    preview = group_mappings.preview_for(org.db, "mapped", WITH_EVERYONE)
    assert [m.member for m in preview.plan.moves] == [user]
    assert seat_of(org, user) == "chat_code"
    assert group_mappings.stored_for(org.db, "mapped") is None


def test_apply_stores_each_version_and_audits_the_change(org: Api) -> None:
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    stored = group_mappings.stored_for(org.db, "mapped")
    assert stored is not None and stored.version == 2 and stored.source == WITH_EVERYONE
    assert [r.group for r in stored.mapping.rules] == ["Engineering", "Everyone"]
    with org.db.unit_of_work() as session:
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "mapping.changed"))
        )
    assert [(e.before and e.before["version"], e.after["version"]) for e in events] == [
        (None, 1),
        (1, 2),
    ]


def test_a_mapping_with_errors_is_refused_with_its_lines_and_nothing_changes(org: Api) -> None:
    user = create(org, "ada").json["id"]
    group(org, "Everyone", user)
    bad = dedent("""\
        plan: enterprise
        rules:
          - group: Everyone
            seat_type: chat
          - group: Sales
            seat_type: premium
        """)
    with pytest.raises(MappingErrors) as refused:
        group_mappings.apply_for(org.db, "mapped", bad)
    assert [e.line for e in refused.value.errors] == [6]
    assert seat_of(org, user) == "chat_code"
    assert group_mappings.stored_for(org.db, "mapped") is None


def test_a_mapping_of_the_other_plan_is_refused(org: Api) -> None:
    legacy = "plan: enterprise_legacy\nrules:\n  - group: Everyone\n    seat_type: premium\n"
    with pytest.raises(MappingErrors, match="enterprise"):
        group_mappings.apply_for(org.db, "mapped", legacy)


def test_a_jit_members_groups_claim_is_matched_when_the_mapping_changes(org: Api) -> None:
    [user] = on_chat(org, 1)
    with org.db.unit_of_work(write=True) as session:
        row = session.scalar(select(UserRow).where(UserRow.id == user))
        assert row is not None
        row.claim_groups = ["engineering"]
    group_mappings.apply_for(org.db, "mapped", ENGINEERING)
    assert seat_of(org, user) == "chat_code"


def test_mapped_seat_gives_the_type_and_group_for_groups_claim_values(org: Api) -> None:
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    with org.db.unit_of_work() as session:
        org_pk = session.scalar(select(UserRow.org_pk))
        assert org_pk is not None
        found = group_mappings.mapped_seat(session, org_pk, ["everyone", "ENGINEERING"])
        assert found == ("chat_code", "Engineering")
        assert group_mappings.mapped_seat(session, org_pk, ["Finance"]) is None


# --- the waiting line and reactivation follow the mapping too (SEATS.md §4) -------------------


def test_a_reactivated_member_gets_their_mapped_type_not_just_the_highest_free(org: Api) -> None:
    user = create(org, "ada").json["id"]
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    group(org, "Everyone", user)
    assert seat_of(org, user) == "chat"  # chat_code seats are free, but Everyone maps to chat
    set_active(org, user, False)
    set_active(org, user, True)
    assert seat_of(org, user) == "chat"
    assert seat_events(org, user)[-1].reason == "mapped by group Everyone"


def test_the_waiting_line_is_served_by_the_mapping_when_seats_are_bought(org: Api) -> None:
    group_mappings.apply_for(org.db, "mapped", WITH_EVERYONE)
    fill(org, 24, "u")  # 4 chat_code, then 20 chat: every seat is held
    waiting = fill(org, 1, "w")[0]
    group(org, "Everyone", waiting)
    assert seat_of(org, waiting) is None

    operators.renew(org.db, "mapped", {"chat": 21, "chat_code": 6})
    with org.db.unit_of_work() as session:  # the renewal's counts arrive at the term's end
        end = session.scalar(select(Organization.term_end).where(Organization.slug == "mapped"))
    terms.catch_up_named(org.db, "mapped", now=end)

    assert seat_of(org, waiting) == "chat"  # not chat_code, the highest free
    assert all(counter == holders for counter, holders in held(org).values())
