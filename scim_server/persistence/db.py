"""Engine, sessions and the unit of work."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import create_engine, event, exc, make_url, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from .checkpoint import SAFETY_NET_PAGES, Checkpointer

_T = TypeVar("_T")

# What a read runs on: a unit of work's session, or a connection from Database.reading().
# Core statements also write on either: a session, or a connection from Database.writing().
Reader = Session | Connection


def orm_session(unit: Reader) -> Session:
    """The session that ORM loads and flushes need; a bare connection is a caller's mistake."""
    if not isinstance(unit, Session):
        raise TypeError("ORM loads and writes need a session (Database.unit_of_work)")
    return unit


def dialect_of(unit: Reader) -> str:
    """The database's dialect name ("sqlite", "postgresql") of a session or a connection."""
    return unit.get_bind().dialect.name if isinstance(unit, Session) else unit.dialect.name


def in_a_file(sqlite_database: str | None) -> bool:
    """Whether a SQLite URL's database is a file, not one in memory."""
    return sqlite_database not in (None, "", ":memory:")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # A pool of the caller's choosing (Alembic's NullPool) takes no queue options.
    queued = "poolclass" not in kwargs
    if url.startswith("sqlite"):
        if queued and in_a_file(make_url(url).database):  # pooled by a QueuePool
            kwargs.setdefault("pool_use_lifo", True)  # see below
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # The connection returned last is lent next. A SQLite connection keeps its page cache
    # only while no other connection has written: lent in turn, two pooled connections
    # each re-read the pages of every index a create touches (33 reads, 45 µs of CPU).
    # On PostgreSQL, connections beyond what the load needs then sit idle and time out.
    if queued:
        kwargs.setdefault("pool_use_lifo", True)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine.pool)
    return engine


# A pooled PostgreSQL connection idle this long is pinged before it is lent: the server
# restarted overnight, a firewall dropped it. One lent again at once is not: SQLAlchemy's
# pre-ping on every checkout was one round trip of the three a filter costs. A connection
# that dies between two requests fails the request's first statement, the token read,
# which then runs once more on a new connection (Database.first_read).
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(pool: Pool) -> None:
    """Pool events only: no listener on the engine, whose events every statement would pay."""

    @event.listens_for(pool, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            cast(Dialect, pool._dialect).do_ping(dbapi_conn)
        except Exception as error:  # the pool replaces the connection and lends another
            raise exc.DisconnectionError(f"a pooled connection died while idle: {error}") from error


# Whether the transaction a unit of work is beginning writes (see _configure_sqlite).
_WRITING: ContextVar[bool] = ContextVar("sqlite_writing", default=False)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, enforced foreign keys, and explicit BEGINs.

    pysqlite's own transaction handling defers BEGIN until the first write, which
    lets two writers read the same state and then both write. We take control of
    BEGIN so that a writing unit of work can BEGIN IMMEDIATE and hold SQLite's
    write lock from its first read: this is what serialises writers across
    processes on one file.

    The BEGIN is the dialect's `do_begin` (a no-op for pysqlite), not a "begin" event
    listener: any listener on the engine makes SQLAlchemy dispatch its events around
    every statement, which cost a third of a simple SELECT's CPU.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # The background Checkpointer does this work; SQLite's own is the safety net.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
        cursor.close()

    def do_begin(dbapi_conn: Any) -> None:
        dbapi_conn.execute("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")

    engine.dialect.do_begin = do_begin  # type: ignore[method-assign,assignment]


@contextmanager
def _committed(unit: Session | Connection) -> Iterator[None]:
    """Commit when the block ends cleanly; roll back on any exception, and re-raise it."""
    try:
        yield
        unit.commit()
    except BaseException:
        unit.rollback()
        raise


@dataclass
class _Held:
    """The connection `Database.holding()` lends, checked out at the first use."""

    database: Database
    writes: bool  # units of work run on it too, each a transaction (see Database._writer)
    connection: Connection | None = None

    def open(self) -> Connection:
        if self.connection is None:
            self.connection = self.database._reader()
        return self.connection

    def renew(self) -> Connection:
        """Another connection, in place of one that died (see Database.first_read)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        return self.open()


_HELD: ContextVar[_Held | None] = ContextVar("held_reads", default=None)


class Database:
    """One engine and its session factory, created once per application."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        file_backed = self.dialect == "sqlite" and in_a_file(self.engine.url.database)
        self.checkpointer = Checkpointer(self.engine) if file_backed else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, write: bool = False) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without error.

        ``write=True`` takes SQLite's write lock at BEGIN (see _configure_sqlite);
        on PostgreSQL it changes nothing, row locks do that work.
        """
        with self._writer() as connection, self.sessions(bind=connection) as session:
            if write:
                self._begin_writing(session.connection)
            with _committed(session):
                yield session

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction on a bare connection, committed when the block ends cleanly.

        For the units of work that load no ORM object, such as a SCIM create: a session's
        set-up, flush and commit cost 40 µs of CPU more than the connection's around the
        same statements. Repositories run their core statements on either.
        """
        with self._writer() as connection:
            self._begin_writing(connection.begin)
            with _committed(connection):
                yield connection

    @contextmanager
    def one_statement(self) -> Iterator[Connection | None]:
        """On PostgreSQL, a connection in autocommit for a write made of reads and then one
        statement, which is its own transaction: no BEGIN and no COMMIT, two round trips.
        Elsewhere None: SQLite's statements cost no round trip, and its writers take the
        write lock at BEGIN (use `writing()`)."""
        if self.dialect != "postgresql":
            yield None
            return
        with self.reading() as connection:
            yield connection

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        """The connection of a unit of work: the one held for writes, else a new one."""
        held = _HELD.get()
        if held is None or held.database is not self or not held.writes:
            with self.engine.connect() as connection:
                yield connection
            return
        connection = held.open()
        if connection.in_transaction():
            connection.rollback()  # the block's reads are over: the unit of work begins afresh
        if self.dialect != "postgresql":
            yield connection
            return
        # The held connection's reads are autocommitted (see _reader); a unit of work is one
        # transaction, and the reads after it are autocommitted again.
        connection.execution_options(isolation_level=self.engine.dialect.default_isolation_level)
        try:
            yield connection
        finally:
            if not connection.closed and not connection.invalidated:
                connection.execution_options(isolation_level="AUTOCOMMIT")

    def _begin_writing(self, begin: Callable[[], object]) -> None:
        """Begin a writing transaction: BEGIN IMMEDIATE on SQLite (see _configure_sqlite)."""
        if self.dialect != "sqlite":
            begin()
            return
        gate: AbstractContextManager[Any] = nullcontext()
        if self.checkpointer is not None:
            self.checkpointer.ensure_running()
            gate = self.checkpointer.gate  # see checkpoint(): wait here, not in SQLite
        writing = _WRITING.set(True)
        try:
            with gate:
                begin()
        finally:
            _WRITING.reset(writing)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for core reads, with no ORM session.

        For the reads every request makes (the bearer token, a list, a resource by id):
        a session, its ORM execution path and its commit cost more CPU than the queries.
        Nothing is written, so the transaction is simply rolled back at the end. Inside
        `holding()`, every read runs on the one connection it holds.
        """
        held = _HELD.get()
        if held is not None and held.database is self:
            yield held.open()
            return
        with self._reader() as connection:
            yield connection

    @contextmanager
    def holding(self, writes: bool = False) -> Iterator[None]:
        """Every `reading()` of the block on one connection, checked out at the first.

        A read request (the bearer token, then the resources) then costs one checkout,
        not one per read; on PostgreSQL its reads are autocommitted (no BEGIN, no ROLLBACK).
        With `writes`, the block's units of work run on it too, each after the reads
        before it have ended, each in a transaction of its own: a write request's token
        check and its transaction share one checkout.
        """
        held = _Held(self, writes)
        token = _HELD.set(held)
        try:
            yield
        finally:
            _HELD.reset(token)
            if held.connection is not None:
                held.connection.close()

    def first_read(self, read: Callable[[Connection], _T]) -> _T:
        """A request's first read, run again once on a new connection if the pooled one had
        died meanwhile: connections lent again at once are not pinged (IDLE_PING_SECONDS).
        Nothing has been written yet, so running it again is safe."""
        with self.reading() as connection:
            try:
                return read(connection)
            except exc.DBAPIError as error:
                if not error.connection_invalidated:
                    raise
        held = _HELD.get()
        if held is not None and held.database is self:
            return read(held.renew())
        with self.reading() as connection:
            return read(connection)

    def _reader(self) -> Connection:
        connection = self.engine.connect()
        if self.dialect == "postgresql":
            # Under READ COMMITTED each statement reads its own snapshot anyway; without
            # BEGIN and ROLLBACK a read saves two round trips to the server.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
