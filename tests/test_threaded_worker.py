"""serving.ThreadedWorker on a live server: a thread that answered a request waits a little
for the next one on the same connection, and never so long that other clients wait.

One worker with two threads, as `scim-server serve --workers 1 --threads 2` runs it on
PostgreSQL, where threads are the default.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from typing import Any
from urllib.parse import urlsplit

import pytest

from scim_server import serving

from . import live
from .databases import create_postgres, drop_postgres, wanted_backends

pytestmark = pytest.mark.live

THREADS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[live.LiveServer]:
    if "postgresql" not in wanted_backends():
        pytest.skip("SCIM_TEST_DATABASES leaves PostgreSQL out")
    url = create_postgres()  # under CI, a missing PostgreSQL fails here rather than skips
    try:
        folder = tmp_path_factory.mktemp("threaded")
        with live.running(url, folder, workers=1, threads=THREADS) as running:
            yield running
    finally:
        drop_postgres(url)


def connect(server: live.LiveServer) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    assert parts.hostname and parts.port
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def ready(connection: http.client.HTTPConnection) -> float:
    """GET /readyz on the connection, kept open; the seconds its answer took."""
    started = time.perf_counter()
    connection.request("GET", "/readyz")
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200
    assert answer.getheader("Connection", "").lower() != "close"
    return time.perf_counter() - started


def test_connections_left_idle_after_an_answer_do_not_keep_the_threads_from_a_new_client(
    server: live.LiveServer,
) -> None:
    """As many idle kept-alive connections as the worker has threads: each thread waits
    FOLLOW_UP_MS at most for its connection's next request, then takes other work."""
    with ExitStack() as stack:
        idle = [stack.enter_context(closing(connect(server))) for _ in range(THREADS)]
        for connection in idle:
            ready(connection)
        newcomer = stack.enter_context(closing(connect(server)))
        # A thread still waiting on an idle connection would hold it to the 10 s timeout.
        assert ready(newcomer) < 1.0
        time.sleep(5 * serving.FOLLOW_UP_MS / 1000)
        for connection in idle:  # back on gunicorn's poller, and served from there
            assert ready(connection) < 1.0


def test_requests_that_follow_one_another_on_a_connection_are_all_answered(
    server: live.LiveServer,
) -> None:
    """At once (the thread that answered takes it), sent together in one write (read
    already with the one before), and after a pause (gunicorn's poller hands it over)."""
    with closing(connect(server)) as connection:
        for _ in range(20):
            ready(connection)
        connection.sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        with connection.sock.makefile("rb") as stream:
            for _ in range(3):  # one buffered stream for all three: each answer's own bytes
                status, body = read_answer(stream)
                assert status == 200, body
        time.sleep(5 * serving.FOLLOW_UP_MS / 1000)
        assert ready(connection) < 1.0


def read_answer(stream: Any) -> tuple[int, bytes]:
    """One HTTP/1.1 answer with a Content-Length, read off `stream` and no further."""
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, stream.read(length)
