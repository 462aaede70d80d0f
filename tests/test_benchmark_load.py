"""The benchmark's two ways of sending load, against a one-at-a-time server that stalls once.

bench.py compares latencies at a fixed rate (`load.run_at_rate`) because a closed loop
(`load.run`) lets a stall delay only the requests it holds up: these tests pin that
difference, which the benchmark's verdict on p99 rests on.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import load

STALL_SECONDS = 0.3
STALL_AT = 10  # the request that stalls the server, counted from 1


class _StallingHandler(BaseHTTPRequestHandler):
    served = 0

    def do_GET(self) -> None:
        type(self).served += 1
        if type(self).served == STALL_AT:
            threading.Event().wait(STALL_SECONDS)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test's output quiet


class _Get(load.Operation):
    def build(self, thread: int, k: int) -> load.Call:
        return load.Call("GET", "/anything")


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """A server that answers one request at a time, as a sync worker does."""
    _StallingHandler.served = 0
    server = HTTPServer(("127.0.0.1", 0), _StallingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _target(base: str) -> load.Target:
    return load.Target("test", base, "token", [], 0, {}, {}, {})


def _held_up(result: load.Result) -> int:
    return sum(1 for latency in result.latencies_ms if latency >= STALL_SECONDS * 1000 / 3)


def test_a_closed_loop_shows_a_stall_once_per_client(stalling_server: str) -> None:
    result = load.run(_Get("get", _target(stalling_server), 4), 60, 4, cap_seconds=30)

    assert result.requests == 60 and result.errors == 0
    assert 1 <= _held_up(result) <= 4  # only the requests in flight wait


def test_at_a_fixed_rate_every_request_due_during_a_stall_is_late(stalling_server: str) -> None:
    rate = 100.0
    result = load.run_at_rate(_Get("get", _target(stalling_server), 4), 60, rate, cap_seconds=30)

    assert result.requests == 60 and result.errors == 0
    # About STALL_SECONDS * rate = 30 requests fall due while the server is stalled; each
    # is timed from when it was due, so a third of the stall or more shows in most of them.
    assert _held_up(result) >= 15
    # The schedule is kept: the last request is not sent before it is due.
    assert result.seconds >= 59 / rate


def test_a_fixed_rate_stops_at_its_time_cap(stalling_server: str) -> None:
    result = load.run_at_rate(_Get("get", _target(stalling_server), 2), 1000, 50.0, cap_seconds=1)

    assert result.capped
    assert 30 <= result.requests < 1000
