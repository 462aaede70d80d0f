"""SQLite's WAL copied back into the database file in the background, not by a request.

With SQLite's automatic checkpoint, the commit that takes the write-ahead log past 1,000
pages copies them into the database file before it returns: one write request in a
hundred or two pays several milliseconds, which is its p99. Here a thread of each
process that writes runs a PASSIVE checkpoint once a second instead (it never waits for
readers or writers); the automatic checkpoint stays, at 10,000 pages, as a safety net
should the thread ever stop.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

SAFETY_NET_PAGES = 10_000
INTERVAL_SECONDS = 1.0


class Checkpointer:
    """Started by the first write of a process (gunicorn forks workers after loading)."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._pid: int | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            # Its own connection, out of the pool: requests never wait for it.
            connection = self.engine.raw_connection()
            connection.detach()
            thread = threading.Thread(
                target=self._run, args=(connection, self._stop), name="wal-checkpoint", daemon=True
            )
            thread.start()
            self._pid = os.getpid()

    def stop(self) -> None:
        self._stop.set()
        self._pid = None

    def _run(self, connection: Any, stop: threading.Event) -> None:
        try:
            while not stop.wait(self.interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:  # a locked or vanished file: the safety net stays
                    log.warning("background WAL checkpoint failed", exc_info=True)
        finally:
            connection.close()
