"""GET /metrics on gunicorn with two workers: one scrape, whichever worker answers it,
counts what every worker did (prometheus-client's multiprocess mode, serving.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .live import LIVE_METRICS_TOKEN, LiveServer, ScimTarget
from .test_metrics import Samples, samples, value

REQUESTS = 40


def scrape(server: LiveServer) -> Samples:
    headers = {"Authorization": f"Bearer {LIVE_METRICS_TOKEN}"}
    response = requests.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


def me_answered(found: Samples) -> float:
    labels = {"route": "/api/v1/me", "method": "GET", "status": "200"}
    return value(found, "scim_http_requests_total", **labels)


@pytest.mark.live
def test_a_scrape_counts_the_requests_of_every_worker_whichever_answers_it(
    live_server: LiveServer, scim_target: ScimTarget
) -> None:
    before = me_answered(scrape(live_server))
    headers = {"Authorization": f"Bearer {scim_target.owner_api_token}"}

    def me(_: int) -> int:
        return requests.get(f"{live_server.url}/api/v1/me", headers=headers, timeout=10).status_code

    def counting() -> set[str]:
        """The workers that have counted a request (each writes its own file)."""
        files = live_server.metrics_dir.glob("counter_*.db")
        return {path.stem.rsplit("_", 1)[1] for path in files}

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        # Until both workers have taken some: a threaded worker (PostgreSQL) may take a
        # whole batch of them by itself.
        while sent == 0 or (len(counting()) < 2 and sent < 20 * REQUESTS):
            assert set(pool.map(me, range(REQUESTS))) == {200}
            sent += REQUESTS
    assert len(counting()) >= 2
    # Several scrapes, each answered by either worker: each sees all the requests.
    for found in (scrape(live_server) for _ in range(6)):
        assert me_answered(found) - before == sent
        assert value(found, "scim_seats_purchased", org=scim_target.slug, seat_type="chat") == 50
        assert value(found, "scim_db_pool_capacity") == 2 * 15  # two workers' pools
