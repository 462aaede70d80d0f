"""Annual terms and renewals (SEATS.md §2) as pure rules: no database, the clock given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scim_server.domain.terms import Term, terms_begun, year_after

START = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
TERM = Term.starting(START)
COUNTS = {"chat": 50, "chat_code": 20}


def test_a_term_ends_on_the_same_calendar_date_and_time_a_year_later() -> None:
    assert TERM.end == datetime(2027, 3, 10, 9, 30, tzinfo=UTC)


def test_a_term_across_29_february_is_366_days_not_365() -> None:
    """365 days would end a day short: the issue's renewal drifted a day each leap year."""
    term = Term.starting(datetime(2027, 6, 1, tzinfo=UTC))
    assert term.end == datetime(2028, 6, 1, tzinfo=UTC)
    assert term.end - term.start == timedelta(days=366)


def test_a_term_that_starts_on_29_february_ends_on_28_february_and_the_next_keeps_it() -> None:
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert year_after(leap) == datetime(2029, 2, 28, 12, tzinfo=UTC)
    assert Term.starting(leap).following().end == datetime(2030, 2, 28, 12, tzinfo=UTC)


def test_nothing_begins_while_the_term_runs() -> None:
    assert terms_begun(TERM, COUNTS, {"chat": 40}, {}, TERM.end - timedelta(microseconds=1)) == []


def test_a_renewal_takes_effect_the_instant_the_term_ends() -> None:
    [begun] = terms_begun(TERM, COUNTS, {"chat": 40, "chat_code": 25}, {"chat": 3}, TERM.end)
    assert begun.term == Term(TERM.end, datetime(2028, 3, 10, 9, 30, tzinfo=UTC))
    assert begun.seats == {"chat": 40, "chat_code": 25}
    assert begun.renewed and begun.overage == {}


def test_a_term_that_ends_with_no_renewal_renews_with_the_same_counts() -> None:
    [begun] = terms_begun(TERM, COUNTS, None, {"chat": 3}, TERM.end + timedelta(days=1))
    assert begun.seats == COUNTS and not begun.renewed


def test_terms_that_ended_unseen_begin_in_order_the_renewal_first_then_the_same_counts() -> None:
    """Nobody read the organization for two years: each term begins once, none skipped."""
    later = TERM.end + timedelta(days=400)
    first, second = terms_begun(TERM, COUNTS, {"chat": 40, "chat_code": 20}, {}, later)
    assert (first.term.start, first.seats, first.renewed) == (
        TERM.end,
        {"chat": 40, "chat_code": 20},
        True,
    )
    assert (second.term.start, second.seats, second.renewed) == (
        first.term.end,
        {"chat": 40, "chat_code": 20},
        False,
    )
    assert second.term.start <= later < second.term.end


def test_seats_held_beyond_the_renewal_are_kept_and_counted_as_an_overage() -> None:
    """Nobody loses a seat on a date nobody watches: the count is raised to what is held."""
    held = {"chat": 12, "chat_code": 27}
    [begun] = terms_begun(TERM, COUNTS, {"chat": 40, "chat_code": 25}, held, TERM.end)
    assert begun.seats == {"chat": 40, "chat_code": 27}
    assert begun.overage == {"chat_code": 2}
