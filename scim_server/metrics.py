"""Prometheus metrics: what each process counts, summed across gunicorn's workers, and the
seats of every organization, read from the database when Prometheus scrapes.

Requests, latency and the pool are counted in each worker. Under `scim-server serve`
every worker writes them to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, set up by scim_server/serving.py), and a scrape, whichever
worker answers it, reads them all: the totals are the server's, not one worker's. Without
that directory (tests, `flask run`) the process counts for itself alone.

Seats are not counted but read: purchased and assigned per seat type, and the waiting
line, are the database's own counters (persistence/seats.py, `census`), two queries for
every organization at once, when /metrics is asked for.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from .persistence.db import Database
from .services import seat_census
from .serving import MULTIPROCESS

# The *_created series a single process would add and the multiprocess mode has not.
disable_created_metrics()
# A process outside `scim-server serve` (a shell, a script) may see the variable before
# the directory exists: prometheus-client writes there as soon as a gauge is made.
if os.environ.get(MULTIPROCESS):
    os.makedirs(os.environ[MULTIPROCESS], exist_ok=True)

# Labels take only bounded values: a route's template, never its path (ids would make a
# series per member); a known method or "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a 404 no route matched

REQUESTS = Counter(
    "scim_http_requests",
    "Requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "scim_http_request_duration_seconds",
    "Time from a request's start to its answer's headers, by route template and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
# Summed over the live workers (a dead worker's connections are gone with it).
POOL_OPEN = Gauge(
    "scim_db_pool_connections_open",
    "Database connections the workers' pools hold open.",
    registry=None,
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "scim_db_pool_connections_in_use",
    "Database connections lent out by the workers' pools.",
    registry=None,
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "scim_db_pool_capacity",
    "Connections the workers' pools may open at most (pool size plus overflow).",
    registry=None,
    multiprocess_mode="livesum",
)
PER_PROCESS = (REQUESTS, LATENCY, POOL_OPEN, POOL_IN_USE, POOL_CAPACITY)


def observe(
    rule: Any, view_args: dict[str, Any] | None, method: str, status: int, seconds: float
) -> None:
    """One answered request: its route template, method, status and duration."""
    method = method if method in METHODS else "other"
    text = rule.rule if rule is not None else UNMATCHED
    values = view_args or {}
    key = (text, *(values.get(name) for name in _any_arguments(text)), method, status)
    series = _SERIES.get(key)
    if series is None:  # once per route, method and status: labels() costs as much as both
        route = ANY.sub(lambda match: str(values.get(match[1], match[0])), text)
        series = _SERIES[key] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route, method),
        )
    series[0].inc()
    series[1].observe(seconds)


# <any(Users, Groups):endpoint> takes one of its few values: the route says which.
ANY = re.compile(r"<any\([^)]*\):(\w+)>")
# Each route, method and status's counter and histogram (bounded: labels are).
_SERIES: dict[tuple[Any, ...], tuple[Any, Any]] = {}


@cache
def _any_arguments(rule: str) -> tuple[str, ...]:
    return tuple(ANY.findall(rule))


def watch_pool(db: Database) -> None:
    """Count the pool's connections as SQLAlchemy opens, lends, takes back and closes them.

    Pool events only, fired at a checkout or a connection's life and death: no engine
    event, which would be dispatched around every statement (persistence/db.py).
    """
    pool = db.engine.pool
    if not isinstance(pool, QueuePool):  # an in-memory SQLite: one connection, no pool
        return
    POOL_CAPACITY.set(pool.size() + pool._max_overflow)
    listen = event.listen
    listen(pool, "connect", lambda *_: POOL_OPEN.inc())
    listen(pool, "close", lambda *_: POOL_OPEN.dec())
    listen(pool, "close_detached", lambda *_: POOL_OPEN.dec())
    listen(pool, "checkout", lambda *_: POOL_IN_USE.inc())
    listen(pool, "checkin", lambda *_: POOL_IN_USE.dec())
    listen(pool, "detach", lambda *_: POOL_IN_USE.dec())  # leaves the pool, never checked in


def exposition(db: Database, accept: str | None) -> tuple[bytes, str]:
    """Every metric, the workers' counts then the seats, in the format the scraper accepts
    (Prometheus's text, or OpenMetrics), and that format's Content-Type."""
    encode, content_type = choose_encoder(accept or "")
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS):
        MultiProcessCollector(registry)
    else:
        for metric in PER_PROCESS:
            registry.register(metric)
    registry.register(Seats(db))
    return encode(registry), content_type


class Seats:
    """SEATS.md §2 and §4, per organization, as the database has them at the scrape."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("scim_database_up", "Whether the last scrape read the seats.")
        try:
            organizations = seat_census.census(self.db)
        except SQLAlchemyError:  # the database is down: the requests' metrics still count
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        labels = ["org", "seat_type"]
        purchased = GaugeMetricFamily("scim_seats_purchased", "Seats bought.", labels=labels)
        assigned = GaugeMetricFamily("scim_seats_assigned", "Seats held by members.", labels=labels)
        waiting = GaugeMetricFamily(
            "scim_seats_waiting", "Members waiting for a seat.", labels=["org"]
        )
        oldest = GaugeMetricFamily(
            "scim_seats_waiting_oldest_seconds",
            "How long the longest-waiting member has waited (0: nobody waits).",
            labels=["org"],
        )
        now = time.time()
        for org in organizations:
            for seat_type, count in org.allocation.purchased.items():
                purchased.add_metric([org.slug, seat_type], count)
                assigned.add_metric(
                    [org.slug, seat_type], org.allocation.assigned.get(seat_type, 0)
                )
            waiting.add_metric([org.slug], org.waiting)
            since = org.waiting_since.timestamp() if org.waiting_since else now
            oldest.add_metric([org.slug], max(0.0, now - since))
        yield from (purchased, assigned, waiting, oldest)
