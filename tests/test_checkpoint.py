"""SQLite's write-ahead log is copied back by a background thread, not by a request."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from scim_server.persistence.checkpoint import SAFETY_NET_PAGES, checkpoint
from scim_server.persistence.db import Database


def test_writes_reach_the_database_file_without_a_request_checkpointing(tmp_path: Path) -> None:
    """SQLite-only by nature (PostgreSQL has no WAL file to copy back)."""
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with database.unit_of_work(write=True) as session:
            session.execute(text("CREATE TABLE t (v TEXT)"))
        size = (tmp_path / "wal.db").stat().st_size
        with database.unit_of_work(write=True) as session:
            mode = session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
            for _ in range(200):
                session.execute(text("INSERT INTO t VALUES (:v)"), {"v": "x" * 2000})
        # Far below the automatic checkpoint: only the background thread copies the pages.
        assert mode == SAFETY_NET_PAGES
        deadline = time.monotonic() + 10
        while (tmp_path / "wal.db").stat().st_size == size and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "wal.db").stat().st_size > size
    finally:
        database.dispose()


def test_a_disposed_database_stops_its_checkpointer(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'stop.db'}")
    with database.unit_of_work(write=True) as session:
        session.execute(text("CREATE TABLE t (v TEXT)"))
    assert database.checkpointer is not None
    running = database.checkpointer._stop
    database.dispose()
    assert running.is_set()


def test_postgresql_and_memory_databases_have_no_checkpointer() -> None:
    assert Database("sqlite://").checkpointer is None
    assert Database("postgresql://postgres@127.0.0.1:5432/postgres").checkpointer is None


def _frames_after_one_write(path: Path) -> int:
    """How long the log is once one more row is committed: 1 or 2 frames if it restarted."""
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("INSERT INTO t VALUES ('one more')")
        return int(writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        writer.close()


def test_a_pass_completes_a_log_written_while_it_ran_and_the_next_writer_starts_over(
    tmp_path: Path,
) -> None:
    """Frames committed after PASSIVE copied the log: the RESTART takes them too.

    Under steady writes every pass meets such frames; with PASSIVE alone the log was
    never complete, never started over, and grew to the safety net.
    """
    path = tmp_path / "restart.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA busy_timeout=30000")
    writer.execute("CREATE TABLE t (v TEXT)")
    for _ in range(300):
        writer.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA busy_timeout=0")
    try:
        assert _pass_during_a_write(raw, writer, attempts=500, restart_frames=0)
        assert _frames_after_one_write(path) <= 2
    finally:
        raw.close()
        writer.close()


def _writer_and_checkpointer(
    path: Path, check_same_thread: bool = True
) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """A WAL database with a table: a writer's connection, and one set up as the thread's."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (v TEXT)")
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
    raw.execute("PRAGMA busy_timeout=0")
    return writer, raw


def test_a_pass_never_waits_for_an_open_write_transaction(tmp_path: Path) -> None:
    writer, raw = _writer_and_checkpointer(tmp_path / "busy.db")
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t VALUES ('open')")
        started = time.monotonic()
        # The writer holds the lock: the RESTART is given up.
        assert not checkpoint(raw, attempts=3, restart_frames=0)
        assert time.monotonic() - started < 1
        writer.execute("COMMIT")  # and the writer was never held back
        assert checkpoint(raw)
    finally:
        raw.close()
        writer.close()


class _Entered:
    """A gate that counts how often a pass held it."""

    def __init__(self) -> None:
        self.times = 0

    def __enter__(self) -> None:
        self.times += 1

    def __exit__(self, *_exc: object) -> None:
        return None


def _pass_during_a_write(raw: Any, writer: sqlite3.Connection, **options: Any) -> bool:
    """A pass whose PASSIVE meets a request's write transaction, committed 50 ms into it."""
    done: list[bool] = []
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES ('during the pass')")
    passing = threading.Thread(target=lambda: done.append(checkpoint(raw, **options)))
    passing.start()
    time.sleep(0.05)
    writer.execute("COMMIT")
    passing.join(timeout=10)
    return done[0]


def test_a_pass_holds_the_gate_around_its_restart(tmp_path: Path) -> None:
    path = tmp_path / "gate.db"
    writer, raw = _writer_and_checkpointer(path, check_same_thread=False)
    gate = _Entered()
    try:
        writer.execute("INSERT INTO t VALUES ('x')")
        assert _pass_during_a_write(raw, writer, attempts=500, gate=gate, restart_frames=0)
        assert gate.times >= 1
        assert _frames_after_one_write(path) <= 2  # that RESTART let the log start over
    finally:
        raw.close()
        writer.close()


def test_a_short_log_is_left_to_grow_and_a_long_one_restarted(tmp_path: Path) -> None:
    """Each RESTART holds the writers back for its syncs: only a long log gets one."""
    path = tmp_path / "short.db"
    writer, raw = _writer_and_checkpointer(path, check_same_thread=False)
    gate = _Entered()
    try:
        for _ in range(20):
            writer.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
        # The frame committed during the pass is not copied, and no RESTART is tried.
        _pass_during_a_write(raw, writer, gate=gate, restart_frames=1000)
        assert gate.times == 0
        assert _frames_after_one_write(path) > 2  # the log goes on growing
        # The same pass on a log past its restart length completes it.
        assert _pass_during_a_write(raw, writer, attempts=500, gate=gate, restart_frames=10)
        assert gate.times >= 1
        assert _frames_after_one_write(path) <= 2
    finally:
        raw.close()
        writer.close()


def test_once_writes_pause_a_pass_completes_the_log_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "quiet.db"
    writer, raw = _writer_and_checkpointer(path)
    gate = _Entered()
    try:
        for _ in range(20):
            writer.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
        assert checkpoint(raw, gate=gate)  # whatever its length
        assert gate.times == 0
        assert _frames_after_one_write(path) <= 2  # the next writer started it over
    finally:
        raw.close()
        writer.close()


def test_this_process_writers_wait_on_the_gate_and_go_on_when_it_opens(tmp_path: Path) -> None:
    """While a RESTART holds SQLite's write lock, a writer waits on the gate: it goes on
    the moment the RESTART ends, instead of sleeping 1, 2, 5 ms in SQLite's busy handler."""
    database = Database(f"sqlite:///{tmp_path / 'writers.db'}")
    try:
        with database.unit_of_work(write=True) as session:
            session.execute(text("CREATE TABLE t (v TEXT)"))
        assert database.checkpointer is not None
        gate = database.checkpointer.gate
        written = threading.Event()

        def write() -> None:
            with database.unit_of_work(write=True) as session:
                session.execute(text("INSERT INTO t VALUES ('waited')"))
            written.set()

        with gate:
            writer = threading.Thread(target=write)
            writer.start()
            assert not written.wait(0.3)  # held at the gate, not yet in a transaction
        assert written.wait(5)
        writer.join()
        with database.unit_of_work() as session:
            assert session.execute(text("SELECT v FROM t")).scalars().all() == ["waited"]
    finally:
        database.dispose()


class _Recording:
    """A connection that remembers the statements it was given."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.statements: list[str] = []

    def execute(self, statement: str) -> sqlite3.Cursor:
        self.statements.append(statement)
        return self.connection.execute(statement)


def test_a_pass_repeats_its_passive_checkpoint_only_before_a_restart(tmp_path: Path) -> None:
    """The repeats shorten a RESTART's syncs; without a RESTART they would only add syncs."""
    path = tmp_path / "repeats.db"
    writer, raw = _writer_and_checkpointer(path, check_same_thread=False)
    try:
        for _ in range(20):
            writer.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
        short = _Recording(raw)
        _pass_during_a_write(short, writer, restart_frames=1000)
        assert short.statements == ["PRAGMA wal_checkpoint(PASSIVE)"]
        long = _Recording(raw)
        assert _pass_during_a_write(long, writer, attempts=500, restart_frames=10)
        passive = long.statements.count("PRAGMA wal_checkpoint(PASSIVE)")
        assert passive >= 2
        assert long.statements[-1] == "PRAGMA wal_checkpoint(RESTART)"
    finally:
        raw.close()
        writer.close()
