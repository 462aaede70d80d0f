"""Finding members (the console's Organization page, GET /api/v1/members): a search by the
start of a name or email, filters, and pages in userName order, all in SQL."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from scim_server.app import create_app
from scim_server.domain import seats
from scim_server.persistence import members as member_rows
from scim_server.persistence.db import Database
from scim_server.persistence.members import MemberFilter, MemberRepository, next_string
from scim_server.persistence.models import UserRow
from scim_server.persistence.types import utcnow
from scim_server.services import members
from scim_server.services.access import Acting

from .admin_client import Org, Person, acme, add_member, admin, member_row, new_org, set_active
from .databases import create_sqlite

__all__ = ["acme", "admin"]


def found(org: Org, token: str, **query: Any) -> list[str]:
    response = org.call(token, "GET", "/members", query={"per_page": 500, **query})
    assert response.status_code == 200, response.json
    return [m["user_name"] for m in response.json["members"]]


def test_a_search_finds_members_by_the_start_of_their_username_email_name_or_family_name(
    acme: Org, admin: Person
) -> None:
    add_member(
        acme, "alopez", displayName="Ana López",
        name={"givenName": "Ana", "familyName": "López"},
        emails=[{"value": "Ana.Lopez@Acme.example", "primary": True}],
    )  # fmt: skip
    bob = add_member(acme, "bob@acme.example", displayName="Bob Stone")
    assert found(acme, admin.token, q="alo") == ["alopez"]  # userName
    assert found(acme, admin.token, q="ANA.L") == ["alopez"]  # email, any case
    assert found(acme, admin.token, q="ana ló") == ["alopez"]  # displayName
    assert found(acme, admin.token, q="LÓPEZ") == ["alopez"]  # family name, Unicode case
    assert found(acme, admin.token, q="  bob ") == ["bob@acme.example"]
    assert found(acme, admin.token, q="stone") == []  # a name is found from its start
    assert found(acme, admin.token, email="ana.lopez@ACME.example") == ["alopez"]
    assert found(acme, admin.token, email="ana.lopez") == []  # email= is the whole address
    # Bob's email is his userName: only the userName's key is kept, and finds him.
    assert found(acme, admin.token, email="BOB@acme.example") == ["bob@acme.example"]
    assert member_row(acme, bob.id).email_key is None


def test_a_search_never_finds_another_organizations_members(
    app: Any, db: Database, acme: Org, admin: Person
) -> None:
    other = new_org(app, db, "globex")
    add_member(other, "secret@globex.example")
    add_member(acme, "seen@acme.example")
    assert found(acme, admin.token, q="s") == ["seen@acme.example"]
    assert found(acme, admin.token, q="secret") == []
    assert found(acme, admin.token, email="owner@globex.example") == []


def test_the_waiting_filter_lists_the_members_waiting_for_a_seat(app: Any, db: Database) -> None:
    org = new_org(app, db, "tiny", seats={"chat": 19, "chat_code": 1})
    admin_person = add_member(org, "admin", role="admin")  # chat, 1 of 19
    for i in range(18):
        add_member(org, f"seated{i:02d}")
    late = [add_member(org, name) for name in ("late-b", "late-a")]
    assert found(org, admin_person.token, waiting="true") == ["late-a", "late-b"]
    set_active(org, late[0].id, False)
    assert found(org, admin_person.token, waiting="true") == ["late-a"]
    assert "late-a" not in found(org, admin_person.token, waiting="false")


def test_members_not_seen_for_n_days_are_those_who_signed_in_before_or_never(
    app: Any, db: Database, acme: Org, admin: Person
) -> None:
    """The console's idle-seat filter, on the admin API too (one search, two channels)."""
    add_member(acme, "bob")
    add_member(acme, "cy")
    seen = {"ada": 3, "bob": 40}
    with db.unit_of_work(write=True) as session:
        for name, days in seen.items():
            session.execute(
                update(UserRow)
                .where(UserRow.org_pk == acme.pk, UserRow.user_name == name)
                .values(last_sign_in_at=utcnow() - timedelta(days=days))
            )
    idle = found(acme, admin.token, not_seen_days="30")
    assert "bob" in idle and "ada" not in idle
    assert set(found(acme, admin.token)) - set(idle) == {"ada"}  # the rest never signed in
    listed = acme.call(admin.token, "GET", "/members", query={"q": "bob"}).json["members"]
    assert listed[0]["last_sign_in_at"].startswith(str((utcnow() - timedelta(days=40)).date()))
    refused = acme.call(admin.token, "GET", "/members", query={"not_seen_days": "0"})
    assert refused.status_code == 422
    assert "not_seen_days" in refused.json["error"]["fields"]


def test_a_cursor_naming_another_organizations_member_starts_from_the_beginning(
    app: Any, db: Database, acme: Org, admin: Person
) -> None:
    other = new_org(app, db, "globex")
    outsider = add_member(other, "zed@globex.example")
    response = acme.call(admin.token, "GET", "/members", query={"after": outsider.id})
    assert response.status_code == 200
    assert response.json["members"][0]["user_name"] == "ada"


def test_the_next_string_bounds_exactly_the_strings_of_a_prefix() -> None:
    assert next_string("ab") == "ac"
    assert next_string("a\U0010ffff") == "b"
    assert next_string("\U0010ffff") is None
    assert next_string("\ud7ff") == "\ue000"


# --- both ways of finding a page give the same members ------------------------------------------

NAMES = ["ana", "anabel", "Andrés", "bea", "béa", "carl", "Émile", "emil", "zoe", "zoë"]


@pytest.fixture
def crowd(app: Any, db: Database) -> tuple[Database, Acting, list[dict[str, Any]]]:
    """Twenty-odd members of every seat type, role and state, and what each one is."""
    org = new_org(app, db, "crowd", seats={"chat": 12, "chat_code": 8})
    people: list[Person] = []
    rng = random.Random(7)
    for i in range(22):
        name = f"{rng.choice(NAMES)}{i:02d}"
        role = rng.choice(["member", "member", "member", "admin", "owner"])
        people.append(add_member(org, name, role=role, displayName=f"{rng.choice(NAMES)} X"))
    for person in people[::5]:
        set_active(org, person.id, False)
    with db.unit_of_work(write=True) as session:
        # A third never signed in; the others from half a day to 64 and a half days ago, so
        # that no "not seen for N days" falls within seconds of a sign-in.
        for i, person in enumerate(people):
            seen = None if i % 3 == 0 else utcnow() - timedelta(days=(i * 3) % 65, hours=12)
            session.execute(
                update(UserRow).where(UserRow.id == person.id).values(last_sign_in_at=seen)
            )
    acting = access_for(db, org)
    expected = [
        {
            "user_name": m.user_name, "seat_type": m.seat_type, "role": m.role,
            "active": m.active, "waiting": m.waiting, "display_name": m.display_name,
            "last_sign_in_at": m.last_sign_in_at,
        }
        for m in members.listing(db, acting, MemberFilter(), 500).members
    ]  # fmt: skip
    return db, acting, expected


def access_for(db: Database, org: Org) -> Acting:
    from scim_server.services import access

    return access.identify(db, org.owner.token, 0)


criteria = st.fixed_dictionaries(
    {},
    optional={
        "seat_type": st.sampled_from(["chat", "chat_code", seats.UNASSIGNED]),
        "role": st.sampled_from(["member", "admin", "owner", "primary_owner"]),
        "active": st.booleans(),
        "waiting": st.booleans(),
        "query": st.sampled_from(["a", "an", "AN", "b", "é", "e", "zo", "q", "ana x"]),
        "not_seen_days": st.sampled_from([0, 1, 7, 30, 60, 100]),
    },
)


@settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(wanted=criteria, per_page=st.integers(1, 7), narrow=st.sampled_from([2, 5, 2000]))
def test_every_page_of_every_search_and_filter_is_the_reference_answer(
    crowd: tuple[Database, Acting, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    wanted: dict[str, Any],
    per_page: int,
    narrow: int,
) -> None:
    """Walking the userName order and sorting a narrowed set of keys agree with a plain
    filter and sort in Python, page after page, forwards and backwards."""
    db, acting, everyone = crowd
    monkeypatch.setattr(member_rows, "CANDIDATES", narrow)
    reference = sorted(
        (p["user_name"] for p in everyone if admits(p, wanted)), key=lambda n: n.lower()
    )
    chosen = members.search_filter(**wanted)
    pages, after = [], None
    while True:
        page = members.listing(db, acting, chosen, per_page, after=after)
        pages.append(page)
        if page.total_exact:
            assert page.total == len(reference)
        if page.after is None:
            break
        after = page.after
    assert [m.user_name for p in pages for m in p.members] == reference
    for earlier, later in itertools.pairwise(pages):
        back = members.listing(db, acting, chosen, per_page, before=later.before)
        assert [m.user_name for m in back.members] == [m.user_name for m in earlier.members]


def admits(person: dict[str, Any], wanted: dict[str, Any]) -> bool:
    from scim_server.scim.resources import search_key

    for key in ("seat_type", "role", "active", "waiting"):
        if key in wanted and person[key] != wanted[key]:
            return False
    if "not_seen_days" in wanted:
        seen = person["last_sign_in_at"]
        if seen is not None and seen >= utcnow() - timedelta(days=wanted["not_seen_days"]):
            return False
    if "query" in wanted:
        start = search_key(wanted["query"])
        keys = [search_key(person["user_name"]), search_key(person["display_name"])]
        return any(k is not None and k.startswith(start) for k in keys)
    return True


# --- the plans SQLite runs them with ---------------------------------------------------------------


def plans(db: Database, run: Any) -> list[str]:
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    with db.engine.connect() as connection:
        return [
            " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}", p))
            for s, p in statements
        ]


def test_on_sqlite_each_way_of_finding_a_page_reads_an_index_and_sorts_no_more_than_it_must(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite without statistics (none are gathered in production) picks these plans;
    PostgreSQL plans from its own statistics."""
    db = Database(create_sqlite(tmp_path))
    app = create_app({"DATABASE_URL": db.url})
    acme = new_org(app, db, "acme")
    someone = add_member(acme, "someone")
    with db.unit_of_work(write=True) as session:
        # One member for each filter to find (the columns only: the plans are the point).
        session.execute(
            update(UserRow)
            .where(UserRow.id == someone.id)
            .values(waiting_since=utcnow(), role="admin", active=False, seat_type="chat")
        )

    def run(wanted: MemberFilter, after: str | None = None) -> list[str]:
        def listing() -> None:
            with db.unit_of_work() as session:
                MemberRepository(session, acme.pk).page(wanted, 50, after)

        return plans(db, listing)

    first = run(MemberFilter())
    assert len(first) == 2
    assert "sqlite_autoindex_users" in first[0] and "TEMP B-TREE" not in first[0]
    searched = run(MemberFilter(search="ow"))
    narrowing, page, count = searched[:4], searched[4], searched[5]
    for plan, index in zip(
        narrowing,
        ["sqlite_autoindex_users", "ix_users_org_email", "ix_users_org_display_name_key",
         "ix_users_org_family_name"],
        strict=True,
    ):  # fmt: skip
        assert f"COVERING INDEX {index}" in plan
    assert "INTEGER PRIMARY KEY" in page and "INTEGER PRIMARY KEY" in count
    never_seen = run(MemberFilter(not_seen_since=utcnow()), after="a")
    narrowing, page = never_seen[:2], never_seen[2]
    for plan in narrowing:  # never signed in, and signed in before then: two ranges
        assert "COVERING INDEX ix_users_org_last_sign_in" in plan, plan
    assert "INTEGER PRIMARY KEY" in page, page
    for wanted, index in [
        (MemberFilter(waiting=True), "ix_users_org_waiting"),
        (MemberFilter(role="admin"), "ix_users_org_staff"),
        (MemberFilter(active=False), "ix_users_org_inactive"),
        (MemberFilter(seat_type="chat"), "ix_users_org_seat_type_name"),
    ]:
        narrowed = run(wanted, after="a")
        assert f"COVERING INDEX {index}" in narrowed[0], (wanted, narrowed[0])
        assert "INTEGER PRIMARY KEY" in narrowed[1], (wanted, narrowed[1])
    # A seat type held by too many to narrow by: its page is read in userName order from
    # its own index, not by walking every member before the first holder.
    monkeypatch.setattr(member_rows, "CANDIDATES", 0)
    walked = run(MemberFilter(seat_type="chat"), after="a")[1]
    assert "INDEX ix_users_org_seat_type_name (org_pk=? AND seat_type=? AND user_name_key>?)" in (
        walked
    ), walked
    assert "TEMP B-TREE" not in walked
    app.extensions["scim_db"].dispose()
    db.dispose()
