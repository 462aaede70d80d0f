"""Renewal (SEATS.md §2, docs/renewal.md): the next term's counts wait for the current
term's end; on SQLite and PostgreSQL, with the clock given to the services."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from scim_server.domain.terms import year_after
from scim_server.errors import InvalidInput
from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, Organization
from scim_server.persistence.seats import SeatRepository
from scim_server.persistence.types import utcnow
from scim_server.services import console, operators, organizations, terms

from .admin_client import Org, add_members, new_org, set_active


@pytest.fixture
def small(app: Any, db: Database) -> Org:
    """15 chat and 5 chat_code seats; the owner holds a chat_code seat."""
    return new_org(app, db, "small", seats={"chat": 15, "chat_code": 5})


def term_of(org: Org) -> tuple[datetime, datetime]:
    with org.db.unit_of_work() as session:
        row = session.execute(
            select(Organization.term_start, Organization.term_end).where(Organization.pk == org.pk)
        ).one()
        return row.term_start, row.term_end


def purchased(org: Org) -> dict[str, int]:
    with org.db.unit_of_work() as session:
        return dict(SeatRepository(session, org.pk).allocation().purchased)


def events(org: Org, action: str) -> list[AuditEvent]:
    with org.db.unit_of_work() as session:
        query = select(AuditEvent).where(AuditEvent.org_pk == org.pk, AuditEvent.action == action)
        return list(session.scalars(query.order_by(AuditEvent.pk)))


def test_a_renewal_on_the_day_the_organization_was_created_changes_nothing_yet(
    small: Org,
) -> None:
    before = term_of(small)
    renewed = operators.renew(small.db, "small", {"chat": 20, "chat_code": 6})
    assert term_of(small) == before
    assert purchased(small) == {"chat": 15, "chat_code": 5}
    assert renewed.renewal is not None
    assert (renewed.renewal.term.start, renewed.renewal.term.end) == (
        before[1],
        year_after(before[1]),
    )
    assert dict(renewed.renewal.seats) == {"chat": 20, "chat_code": 6}


def test_renewing_again_before_the_term_ends_replaces_the_pending_renewal(small: Org) -> None:
    before = term_of(small)
    operators.renew(small.db, "small", {"chat": 20, "chat_code": 6})
    again = operators.renew(small.db, "small", {"chat": 16, "chat_code": 5})
    assert term_of(small) == before, "a second renewal adds no term"
    assert again.replaced == {"chat": 20, "chat_code": 6}
    terms.catch_up(small.db, small.pk, before[1], now=before[1])
    assert purchased(small) == {"chat": 16, "chat_code": 5}
    assert term_of(small) == (before[1], year_after(before[1]))
    set_events = events(small, "renewal.set")
    assert len(set_events) == 2 and "replaces" in (set_events[1].reason or "")


def test_the_same_renewal_set_twice_is_recorded_once(small: Org) -> None:
    operators.renew(small.db, "small", {"chat": 20})
    operators.renew(small.db, "small", {"chat": 20})
    assert len(events(small, "renewal.set")) == 1


def test_the_renewal_takes_effect_when_the_term_ends_and_is_audited_once(small: Org) -> None:
    _, end = term_of(small)
    operators.renew(small.db, "small", {"chat": 18, "chat_code": 7})
    terms.catch_up(small.db, small.pk, end, now=end - timedelta(seconds=1))
    assert purchased(small) == {"chat": 15, "chat_code": 5}, "not a second early"
    terms.catch_up(small.db, small.pk, end, now=end)
    terms.catch_up(small.db, small.pk, end, now=end + timedelta(hours=1))
    assert purchased(small) == {"chat": 18, "chat_code": 7}
    [started] = events(small, "term.started")
    assert started.before["seats"] == {"chat": 15, "chat_code": 5}
    assert started.after == {
        "term_start": end.isoformat(),
        "term_end": year_after(end).isoformat(),
        "seats": {"chat": 18, "chat_code": 7},
        "overage": {},
    }
    assert started.actor_kind == "system" and "renewal" in (started.reason or "")
    with small.db.unit_of_work() as session:
        assert SeatRepository(session, small.pk).renewal() is None


def test_a_term_that_ends_with_no_renewal_rolls_over_with_the_same_counts(small: Org) -> None:
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end + timedelta(days=2))
    assert term_of(small) == (end, year_after(end))
    assert purchased(small) == {"chat": 15, "chat_code": 5}
    [started] = events(small, "term.started")
    assert "no renewal" in (started.reason or "")


def test_seats_taken_after_a_renewal_was_set_are_kept_when_it_takes_effect(small: Org) -> None:
    """The renewal was fine when set (3 chat in use); by the end of the term 6 are held:
    nobody loses a seat, the count is raised to 6 and the overage is in the audit log."""
    add_members(small, 6, "early")  # 4 chat_code (full with the owner's), then 2 chat
    operators.renew(small.db, "small", {"chat": 15, "chat_code": 5})
    operators.renew(small.db, "small", {"chat": 16, "chat_code": 5})
    with pytest.raises(InvalidInput, match="in use"):
        operators.renew(small.db, "small", {"chat": 1, "chat_code": 19})
    operators.renew(small.db, "small", {"chat": 3, "chat_code": 17})
    add_members(small, 4, "late")  # chat: 6 held now
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end)
    assert purchased(small) == {"chat": 6, "chat_code": 17}
    [started] = events(small, "term.started")
    assert started.after["overage"] == {"chat": 3}
    assert "3 chat seats held beyond the renewal kept as an overage" in (started.reason or "")
    with small.db.unit_of_work() as session:
        allocation = SeatRepository(session, small.pk).allocation()
    assert allocation.assigned == {"chat": 6, "chat_code": 5}


def test_a_renewal_that_adds_seats_serves_the_waiting_line_when_it_takes_effect(
    small: Org,
) -> None:
    members = add_members(small, 21, "m")  # 19 seats left after the owner's: two wait
    operators.renew(small.db, "small", {"chat": 16})
    assert _seat(small, members[19].id) == "unassigned", "not before the term ends"
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end)
    assert _seat(small, members[19].id) == "chat"
    assert _seat(small, members[20].id) == "unassigned"


def test_a_term_renewed_with_the_same_counts_leaves_a_seat_an_admin_freed_to_the_admin(
    small: Org,
) -> None:
    """SEATS.md §4: a seat freed by an admin's change is not the waiting line's, and a
    term that adds no seat has none of its own to give."""
    members = add_members(small, 20, "m")  # every seat held; the last one waits
    freed = small.call(
        small.owner.token, "PATCH", f"/members/{members[0].id}", {"seat_type": "unassigned"}
    )
    assert freed.status_code == 200
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end)
    assert _seat(small, members[19].id) == "unassigned"


def test_a_renewal_set_after_the_term_ended_is_for_the_term_after_the_one_begun(
    small: Org,
) -> None:
    """A contract renews itself: an operator late for the end of the term is early for the
    next one; the term that began keeps the counts it began with."""
    _, end = term_of(small)
    late = end + timedelta(days=3)
    renewed = operators.renew(small.db, "small", {"chat": 30}, now=late)
    assert term_of(small) == (end, year_after(end))
    assert purchased(small) == {"chat": 15, "chat_code": 5}
    assert renewed.renewal is not None and renewed.renewal.term.start == year_after(end)


def test_cancelling_a_renewal_leaves_the_next_term_with_the_counts_the_term_ends_with(
    small: Org,
) -> None:
    operators.renew(small.db, "small", {"chat": 30})
    cancelled = operators.renew(small.db, "small", None)
    assert cancelled.renewal is None and cancelled.replaced == {"chat": 30, "chat_code": 5}
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end)
    assert purchased(small) == {"chat": 15, "chat_code": 5}


def test_workers_racing_to_start_the_term_start_it_once(small: Org) -> None:
    _, end = term_of(small)
    operators.renew(small.db, "small", {"chat": 18})
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def start() -> None:
        database = Database(small.db.url)
        try:
            barrier.wait()
            terms.catch_up(database, small.pk, end, now=end)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(events(small, "term.started")) == 1
    assert purchased(small) == {"chat": 18, "chat_code": 5}


def test_a_scim_request_after_the_term_ended_starts_the_next_term_before_anything_else(
    small: Org,
) -> None:
    """The term's end travels with the token's row: no request is served under a term
    that has ended, whichever process or host gets it first."""
    ended = utcnow() - timedelta(days=2)
    with small.db.unit_of_work(write=True) as session:
        session.execute(
            update(Organization)
            .where(Organization.pk == small.pk)
            .values(term_start=ended - timedelta(days=365), term_end=ended)
        )
    operators.renew(small.db, "small", {"chat": 17}, now=ended - timedelta(days=1))
    assert small.scim.call("GET", "/Users?count=1").status_code == 200
    assert term_of(small) == (ended, year_after(ended))
    assert purchased(small) == {"chat": 17, "chat_code": 5}


def test_a_console_page_after_the_term_ended_starts_the_next_term_first(small: Org) -> None:
    ended = utcnow() - timedelta(hours=1)
    with small.db.unit_of_work(write=True) as session:
        session.execute(
            update(Organization)
            .where(Organization.pk == small.pk)
            .values(term_start=ended - timedelta(days=365), term_end=ended)
        )
    console.visitor(small.db, "small", small.owner.id)
    assert term_of(small) == (ended, year_after(ended))
    assert len(events(small, "term.started")) == 1


def test_the_pending_renewal_is_shown_by_the_organization_and_billing_endpoints(
    small: Org,
) -> None:
    _, end = term_of(small)
    for path in ("/organization", "/billing/seats"):
        assert small.call(small.owner.token, "GET", path).json["renewal"] is None
    operators.renew(small.db, "small", {"chat": 20, "chat_code": 6})
    expected = {
        "term_start": end.isoformat(),
        "term_end": year_after(end).isoformat(),
        "seats": {"chat": 20, "chat_code": 6},
    }
    for path in ("/organization", "/billing/seats"):
        assert small.call(small.owner.token, "GET", path).json["renewal"] == expected
    shown = organizations.overview(small.db, "small")
    assert shown.state.renewal is not None and dict(shown.state.renewal.seats) == expected["seats"]


def test_a_plan_migration_carries_the_pending_renewal_to_the_new_seat_types(
    app: Any, db: Database
) -> None:
    legacy = new_org(app, db, "old", "enterprise_legacy", {"standard": 15, "premium": 5})
    operators.renew(db, "old", {"standard": 25, "premium": 6})
    operators.migrate(db, "old", "enterprise")
    _, end = term_of(legacy)
    terms.catch_up(db, legacy.pk, end, now=end)
    assert purchased(legacy) == {"chat": 25, "chat_code": 6}


def _seat(org: Org, member_id: str) -> str:
    return str(org.call(org.owner.token, "GET", f"/members/{member_id}").json["seat_type"])


def test_a_deactivated_members_seat_is_not_counted_as_held_at_renewal(small: Org) -> None:
    people = add_members(small, 6, "p")  # 4 chat_code, 2 chat
    set_active(small, people[5].id, False)  # frees a chat seat
    operators.renew(small.db, "small", {"chat": 1, "chat_code": 19})
    _, end = term_of(small)
    terms.catch_up(small.db, small.pk, end, now=end)
    assert purchased(small) == {"chat": 1, "chat_code": 19}
