"""Server-side SVG geometry for the Overview's seat history: no chart library, no script.

The template draws the SVG from these numbers; colours are CSS classes (the CSP allows no
inline style). Each chart has a text alternative: a table of the same counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from ...domain.history import Point
from ...domain.plans import Plan

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 24, 12, 32


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # the line's CSS classes: its colour, and dashed for the seats purchased
    points: str  # an SVG polyline's points


@dataclass(frozen=True)
class Tick:
    at: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the end ticks stay inside the plot


@dataclass(frozen=True)
class Row:
    day: date
    counts: list[tuple[int, int]]  # (assigned, purchased) per seat type


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # the plot's right edge
    bottom: int  # the plot's bottom edge
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    seat_types: list[str]  # display names, the table's column groups
    rows: list[Row]


def seat_history(plan: Plan, points: Sequence[Point]) -> Chart:
    types = plan.seat_types
    top, steps = _axis(
        max([1, *(max(*p.assigned.values(), *p.purchased.values()) for p in points)])
    )
    span = max(1, len(points) - 1)
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(index: int) -> float:
        return round(LEFT + (right - LEFT) * index / span, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - TOP) * value / top, 1)

    def line(values: Sequence[int]) -> str:
        if len(values) == 1:  # the term began today: a level line across the plot
            return f"{LEFT},{y(values[0])} {right},{y(values[0])}"
        return " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))

    series = []
    for index, seat_type in enumerate(types):
        colour = f"series-{index % 4}"
        held = [p.assigned[seat_type.id] for p in points]
        bought = [p.purchased[seat_type.id] for p in points]
        series.append(Series(f"{seat_type.name} assigned", colour, line(held)))
        series.append(Series(f"{seat_type.name} purchased", f"{colour} purchased", line(bought)))
    y_ticks = [Tick(y(v), str(v)) for v in steps]
    x_ticks = _x_ticks(points, x)
    rows = [
        Row(p.day, [(p.assigned[t.id], p.purchased[t.id]) for t in types])
        for i, p in enumerate(points)
        if i in (0, len(points) - 1) or _month_end(p.day)
    ]
    return Chart(
        WIDTH, HEIGHT, LEFT, right, bottom, series, y_ticks, x_ticks, [t.name for t in types], rows
    )


def _x_ticks(points: Sequence[Point], x: Callable[[int], float]) -> list[Tick]:
    """The first day, each month's first that is not crowding an end, and the last day."""
    last = len(points) - 1
    gap = max(1, last // 12)
    ticks = [Tick(x(0), _short(points[0].day), "start")]
    ticks += [
        Tick(x(i), p.day.strftime("%b"))
        for i, p in enumerate(points)
        if p.day.day == 1 and gap <= i <= last - gap
    ]
    if last > 0:
        ticks.append(Tick(x(last), _short(points[last].day), "end"))
    return ticks


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _axis(highest: int) -> tuple[int, list[int]]:
    """A top a little above the highest count, and 3 to 6 ticks a round step apart."""
    wanted = max(1, math.ceil(highest * 1.1))
    step = 1
    for magnitude in (10**k for k in range(10)):
        step = next((s * magnitude for s in (1, 2, 5) if wanted / (s * magnitude) <= 5), 0)
        if step:
            break
    top = step * math.ceil(wanted / step)
    return top, list(range(0, top + 1, step))


def _month_end(day: date) -> bool:
    return date.fromordinal(day.toordinal() + 1).month != day.month
