"""The write-ahead log is handed to the disk as it grows (scim_server/persistence/writeback.py).

What the kernel holds of the log is read with cachestat(2) (Linux 6.5): how many of its
pages are dirty, and how many are being written.
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from scim_server.persistence import writeback
from scim_server.persistence.checkpoint import Checkpointer, database_file
from scim_server.persistence.db import Database
from scim_server.persistence.writeback import SYNC_FILE_RANGE_WRITE, LogWriteback

CACHESTAT = 451  # the system call's number, the same on x86-64 and arm64


class _Range(ctypes.Structure):
    _fields_ = [("offset", ctypes.c_uint64), ("length", ctypes.c_uint64)]


class _Stat(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in ("cache", "dirty", "writeback", "evicted", "recently_evicted")
    ]


def _dirty_pages(path: Path) -> int:
    """Pages of the file the kernel has not begun to write (dirty, not under writeback)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        stat = _Stat()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(CACHESTAT, fd, ctypes.byref(_Range(0, 0)), ctypes.byref(stat), 0) != 0:
            pytest.fail(f"cachestat(2) failed (errno {ctypes.get_errno()}): Linux 6.5 or later")
        return int(stat.dirty)
    finally:
        os.close(fd)


def _database_with_a_log(path: Path) -> sqlite3.Connection:
    """A WAL database whose log holds some 600 pages no one has synced."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE t (v TEXT)")
    for _ in range(300):
        connection.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
    return connection


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_log_dirty_pages_are_handed_to_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    connection = _database_with_a_log(path)
    log = LogWriteback(str(path))
    try:
        assert _dirty_pages(Path(f"{path}-wal")) > 100
        assert log.start()
        assert _dirty_pages(Path(f"{path}-wal")) == 0  # all under writeback, or written
        assert connection.execute("SELECT count(*) FROM t").fetchone()[0] == 300
    finally:
        log.close()
        connection.close()


def test_it_asks_only_to_start_the_writeback_of_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SYNC_FILE_RANGE_WRITE alone: no waiting for the disk, no flush of its cache."""
    calls: list[tuple[str, int, int, int]] = []

    def record(fd: int, offset: int, length: int, flags: int) -> int:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), offset, length, flags))
        return 0

    monkeypatch.setattr(writeback, "_sync_file_range", record)
    path = tmp_path / "calls.db"
    connection = _database_with_a_log(path)
    log = LogWriteback(database_file(connection))
    try:
        assert log.start()
        assert calls == [(f"{path}-wal", 0, 0, SYNC_FILE_RANGE_WRITE)]
    finally:
        log.close()
        connection.close()


def test_it_follows_the_log_sqlite_deletes_and_creates_again(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    log = LogWriteback(str(path))
    try:
        assert not log.start()  # no database, no log: nothing to do, and no error
        connection = _database_with_a_log(path)
        assert log.start()
        connection.close()  # the last connection: SQLite checkpoints and deletes the log
        assert not Path(f"{path}-wal").exists()
        assert not log.start()
        assert log._fd is None
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("INSERT INTO t VALUES ('in a new log')")
        assert log.start()
        assert log._fd is not None
        assert os.fstat(log._fd).st_ino == os.stat(f"{path}-wal").st_ino
        connection.close()
    finally:
        log.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_checkpoint_thread_hands_the_log_over_between_its_passes(tmp_path: Path) -> None:
    """With passes a minute apart, only the writeback can have emptied the dirty pages."""
    database = Database(f"sqlite:///{tmp_path / 'thread.db'}")
    database.checkpointer = Checkpointer(database.engine, interval=60)
    try:
        with database.unit_of_work(write=True) as session:
            session.execute(text("CREATE TABLE t (v TEXT)"))
        wal = tmp_path / "thread.db-wal"
        with database.unit_of_work(write=True) as session:
            for _ in range(300):
                session.execute(text("INSERT INTO t VALUES (:v)"), {"v": "x" * 2000})
        deadline = time.monotonic() + 5  # the kernel's own writeback waits 30 s
        while _dirty_pages(wal) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _dirty_pages(wal) == 0
    finally:
        database.dispose()


def test_without_the_call_nothing_is_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writeback, "_sync_file_range", None)
    path = tmp_path / "none.db"
    connection = _database_with_a_log(path)
    log = LogWriteback(str(path))
    try:
        assert not log.start()
        assert log._fd is None
    finally:
        log.close()
        connection.close()


def test_a_log_it_cannot_open_is_skipped_without_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread asks 40 times a second: a refusal must not raise (a warning each time)."""
    path = tmp_path / "denied.db"
    connection = _database_with_a_log(path)
    log = LogWriteback(str(path))

    def refuse(*_args: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writeback.os, "open", refuse)
    try:
        assert not log.start()
        assert log._fd is None
    finally:
        log.close()
        connection.close()
