"""SQLite's write-ahead log is copied back by a background thread, not by a request."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from scim_server.persistence.checkpoint import SAFETY_NET_PAGES
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
