"""GET /metrics: who may scrape, what is counted and how it is labelled, the seats it reads.

In one process (the Flask test client); tests/test_metrics_live.py scrapes gunicorn's
workers together. Counts are the process's since it started: each test compares two
scrapes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from scim_server.app import create_app
from scim_server.persistence.db import Database

from .admin_client import Org, add_member, new_org

TOKEN = "metrics-token-of-at-least-32-characters"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metered(app: Flask) -> Flask:
    app.config["METRICS_TOKEN"] = TOKEN  # read at each scrape
    return app


def scrape(app: Flask) -> Samples:
    response = app.test_client().get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return samples(response.get_data(as_text=True))


def test_without_a_token_set_metrics_are_a_path_that_does_not_exist(app: Any) -> None:
    client = app.test_client()
    off, nothing = client.get("/metrics", headers=SCRAPE), client.get("/nothing-here")
    assert off.status_code == nothing.status_code == 404
    assert off.json["error"]["code"] == nothing.json["error"]["code"] == "not_found"


def test_a_token_shorter_than_32_characters_leaves_metrics_off_and_says_so(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    short = "x" * 31
    app = create_app({"DATABASE_URL": db.url, "METRICS_TOKEN": short})
    try:
        response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {short}"})
        assert response.status_code == 404
        (warning,) = [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if '"scim_server.metrics"' in line
        ]
        assert warning["level"] == "warning" and "shorter than 32 characters" in warning["msg"]
    finally:
        app.extensions["scim_db"].dispose()


def test_a_scrape_without_the_token_is_refused_with_401(metered: Flask) -> None:
    client = metered.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_requests_are_counted_by_route_template_method_and_status_never_by_path(
    metered: Flask, db: Database
) -> None:
    acme = new_org(metered, db, "acme")
    ana, ben = add_member(acme, "ana"), add_member(acme, "ben")
    before = scrape(metered)
    for person in (ana, ben, acme.owner):
        acme.call(acme.owner.token, "GET", f"/members/{person.id}")
    acme.scim.call("GET", "/Groups")
    acme.client.open("/api/v1/organization", method="BREW")
    after = scrape(metered)

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/v1/members/<uuid:member_id>"
    assert added("scim_http_requests_total", route=route, method="GET", status="200") == 3
    assert added("scim_http_request_duration_seconds_count", route=route, method="GET") == 3
    assert (
        added("scim_http_requests_total", route="/scim/v2/Groups", method="GET", status="200") == 1
    )
    # A method nobody serves is "other", and a path no route takes "unmatched": an
    # attacker's inventions make no series.
    other = {"route": "unmatched", "method": "other", "status": "405"}
    assert added("scim_http_requests_total", **other) == 1
    assert not any(ana.id in str(labels) for _, labels in after)


def test_the_seats_and_the_waiting_line_of_every_organization_are_read_at_the_scrape(
    metered: Flask, db: Database
) -> None:
    full = new_org(metered, db, "full", seats={"chat": 19, "chat_code": 1})  # the owner's
    roomy = new_org(metered, db, "roomy")
    for i in range(21):  # 19 chat seats, then two wait
        add_member(full, f"m{i}")
    add_member(roomy, "ana")
    found = scrape(metered)
    assert value(found, "scim_database_up") == 1
    assert value(found, "scim_seats_purchased", org="full", seat_type="chat") == 19
    assert value(found, "scim_seats_assigned", org="full", seat_type="chat") == 19
    assert value(found, "scim_seats_assigned", org="full", seat_type="chat_code") == 1
    assert value(found, "scim_seats_waiting", org="full") == 2
    assert value(found, "scim_seats_waiting_oldest_seconds", org="full") > 0
    assert value(found, "scim_seats_purchased", org="roomy", seat_type="chat_code") == 20
    assert value(found, "scim_seats_assigned", org="roomy", seat_type="chat_code") == 2
    assert value(found, "scim_seats_waiting", org="roomy") == 0
    assert value(found, "scim_seats_waiting_oldest_seconds", org="roomy") == 0


def test_the_pool_lends_connections_and_has_them_back_after_each_request(
    metered: Flask, db: Database
) -> None:
    acme: Org = new_org(metered, db, "acme")
    acme.call(acme.owner.token, "GET", "/me")
    found = scrape(metered)
    assert value(found, "scim_db_pool_capacity") == 15  # QueuePool: 5, and 10 of overflow
    assert value(found, "scim_db_pool_connections_open") >= 1
    # The scrape's own reading connection is back by the time the answer is written.
    assert value(found, "scim_db_pool_connections_in_use") == 0


def test_serve_starts_the_workers_metrics_afresh_in_the_directory_named_or_a_temporary_one(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scim_server import serving

    named = tmp_path / "metrics"
    named.mkdir()
    (named / "counter_123.db").write_bytes(b"a previous run's counts")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(named))
    serving.on_starting(None)
    assert list(named.iterdir()) == []
    serving.on_exit(None)
    assert named.is_dir()  # the operator's, kept

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    serving.on_starting(None)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir()
    serving.on_exit(None)
    assert not made.exists()
