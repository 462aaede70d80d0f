"""The Overview's SVG geometry (api/console/charts.py), with no database."""

from __future__ import annotations

from datetime import date, timedelta

from scim_server.api.console import charts
from scim_server.domain.history import Point
from scim_server.domain.plans import CATALOG

PLAN = CATALOG["enterprise"]
START = date(2026, 8, 30)


def points(days: int, chat: int = 17, bought: int = 20) -> list[Point]:
    return [
        Point(
            START + timedelta(days=i),
            {"chat": chat, "chat_code": 8},
            {"chat": bought, "chat_code": 8},
        )
        for i in range(days)
    ]


def test_the_axis_has_round_steps_just_above_the_highest_count() -> None:
    chart = charts.seat_history(PLAN, points(30))
    assert [t.label for t in chart.y_ticks] == ["0", "5", "10", "15", "20", "25"]


def test_every_line_stays_inside_the_plot() -> None:
    chart = charts.seat_history(PLAN, points(95))
    for series in chart.series:
        for pair in series.points.split():
            x, y = (float(v) for v in pair.split(","))
            assert chart.left <= x <= chart.right and 0 <= y <= chart.bottom


def test_a_term_that_began_today_draws_level_lines_across() -> None:
    chart = charts.seat_history(PLAN, points(1))
    assert all(len(s.points.split()) == 2 for s in chart.series)
    assert [t.label for t in chart.x_ticks] == ["30 Aug"]


def test_the_table_gives_the_first_day_each_months_end_and_the_last() -> None:
    chart = charts.seat_history(PLAN, points(95))
    assert [r.day for r in chart.rows] == [
        date(2026, 8, 30), date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31),
        date(2026, 11, 30), date(2026, 12, 2),
    ]  # fmt: skip
    assert chart.rows[0].counts == [(17, 20), (8, 8)]
    assert chart.seat_types == ["Chat", "Chat + Claude Code"]
