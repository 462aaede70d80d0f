"""SQLite's WAL copied back into the database file in the background, not by a request.

With SQLite's automatic checkpoint, the commit that takes the write-ahead log past 1,000
pages copies them into the database file before it returns: one write request in a
hundred or two pays several milliseconds, which is its p99. Here a thread of each
process that writes checkpoints four times a second instead; the automatic checkpoint
stays, at 10,000 pages, as a safety net should the thread ever stop.

A pass is PASSIVE checkpoints, then, once the log is long, a RESTART one. PASSIVE copies
the log into the database without waiting for readers or writers, and syncs both: the
bulk of the work. Under steady writes it never copies the frames committed while it ran,
so the log is never complete and never starts over: it grew to the safety net, and every
10,000 pages (some 650 creates) one commit synced all the log written since the last
pass, 11 to 30 ms, the server's slowest requests. RESTART copies those last frames and
lets the next writer start the log from its beginning. It holds the write lock while it
syncs, so the PASSIVE runs again while it still finds many new frames (fewer each time:
each run is shorter than the one before), leaving the RESTART little to sync. It asks for
the lock with no busy timeout, up to 20 times 2 ms apart, and otherwise leaves it to the
next pass: waiting in SQLite's busy handler would make the writers queue behind it, each
sleeping in its own. A shorter interval syncs less at a time.

Even so a RESTART holds this process's writers back for its two syncs, 1 to 5 ms on the
benchmark's machine, and the one writer after it syncs the new log's header (0.3-0.5 ms):
four times a second, these were a create's slowest requests under load. So a pass
restarts the log only once it is RESTART_FRAMES long (16 MB of 4 KiB pages, some 300
creates); a shorter one is left to grow, and a pass that will not restart it runs one
PASSIVE, not repeated: the repeats only shorten a RESTART's syncs, and each costs two
more. When writes pause, a PASSIVE copies the whole log and the next writer starts it
over by itself, with no RESTART at all.

Between passes, every 25 ms, the thread starts the writeback of the log's new pages (see
writeback.py), so that a pass's sync finds them on the disk already.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.engine import Engine

from .writeback import LogWriteback

log = logging.getLogger(__name__)

SAFETY_NET_PAGES = 10_000
INTERVAL_SECONDS = 0.25
WRITEBACK_SECONDS = 0.025
PASSIVE_REPEATS = 3
# Frames (pages) the log may hold before a pass restarts it; well under SAFETY_NET_PAGES.
RESTART_FRAMES = 4_000
FEW_FRAMES = 64
# Under a steady load, a write transaction is open about a sixth of the time.
RESTART_ATTEMPTS = 20
RESTART_RETRY_SECONDS = 0.002


class Checkpointer:
    """Started by the first write of a process (gunicorn forks workers after loading)."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._pid: int | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # Held by the RESTART, and by this process's writers while they BEGIN (see `checkpoint`).
        self.gate = threading.Lock()

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
        writeback: LogWriteback | None = None
        try:
            connection.execute("PRAGMA busy_timeout=0")  # see the module's docstring
            writeback = LogWriteback(database_file(connection))
            next_pass = time.monotonic() + self.interval
            while not stop.wait(min(WRITEBACK_SECONDS, self.interval)):
                try:
                    writeback.start()
                    if time.monotonic() < next_pass:
                        continue
                    next_pass = time.monotonic() + self.interval
                    checkpoint(connection, gate=self.gate)
                except Exception:  # a locked or vanished file: the safety net stays
                    log.warning("background WAL checkpoint failed", exc_info=True)
        finally:
            if writeback is not None:
                writeback.close()
            connection.close()


def database_file(connection: Any) -> str:
    """The main database's file, as SQLite resolved it."""
    return next(
        str(row[2]) for row in connection.execute("PRAGMA database_list") if row[1] == "main"
    )


def checkpoint(
    connection: Any,
    attempts: int = RESTART_ATTEMPTS,
    gate: AbstractContextManager[Any] | None = None,
    restart_frames: int = RESTART_FRAMES,
) -> bool:
    """One pass (see the module's docstring); whether the log was completed.

    The RESTART holds SQLite's write lock while it copies the last frames and syncs the
    database file, a millisecond or two. A writer that asks for the lock meanwhile sleeps
    in SQLite's busy handler, 1 ms, then 2, then 5: it waited 3 ms for a 1.2 ms
    checkpoint, and a single worker's queued requests with it. `gate` is held around each
    RESTART attempt and by the process's writers around their BEGIN IMMEDIATE: they wait
    on it instead, and go on the moment the RESTART ends. A log shorter than
    `restart_frames` is not restarted.
    """
    gate = gate if gate is not None else nullcontext()
    _busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if frames < restart_frames:  # left to grow; if complete, the next writer restarts it
        return copied >= frames
    for _ in range(PASSIVE_REPEATS):  # each one shortens what the RESTART syncs
        before = frames
        _busy, frames, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames - before < FEW_FRAMES:  # committed while the last one ran
            break
    for _ in range(attempts):
        with gate:
            busy, _frames, _copied = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        if not busy:
            return True
        time.sleep(RESTART_RETRY_SECONDS)  # a write transaction is open: try after it
    return False
