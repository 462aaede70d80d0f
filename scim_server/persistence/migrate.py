"""Apply Alembic migrations from code (`scim-server db upgrade`, the test fixtures), and
check that a database's schema is the one this code was written for (every other command).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from .. import progress
from ..errors import DatabaseUnavailable, SchemaNotCurrent
from .db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE = "run 'scim-server db upgrade'"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class Schema:
    current: tuple[str, ...]  # the revisions the database is at; () before the first
    head: str  # this code's newest
    known: bool  # every current revision is one of this code's

    @property
    def pending(self) -> bool:
        return self.current != (self.head,)


def upgrade(url: str, revision: str = "head", shown: str | None = None) -> str:
    """Migrate to `revision`, each migration applied reported to `progress`; the head."""
    engine = make_engine(url)
    try:
        with connected(engine, shown or url) as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            found = schema(conn, config)
            if not found.known:
                raise _newer(found)
            steps = list(_steps(config, found.current, revision))
            config.attributes["on_version_apply"] = _reporting(len(steps))
            command.upgrade(config, revision)
            return found.head
    finally:
        engine.dispose()


def check_current(engine: Engine, shown: str) -> None:
    """SchemaNotCurrent, saying what to run, unless the database is at this code's head."""
    with connected(engine, shown) as conn:
        found = schema(conn, alembic_config(str(engine.url)))
    if not found.known:
        raise _newer(found)
    if not found.current:
        raise SchemaNotCurrent(f"the database at {shown} has no schema yet: {UPGRADE}")
    if found.pending:
        raise SchemaNotCurrent(
            f"the database's schema is at {', '.join(found.current)} and this scim-server "
            f"needs {found.head}: {UPGRADE}"
        )


def schema(conn: Connection, config: Config) -> Schema:
    script = ScriptDirectory.from_config(config)
    current = tuple(MigrationContext.configure(conn).get_current_heads())
    known = all(_exists(script, r) for r in current)
    head = script.get_current_head()
    assert head is not None  # one line of migrations
    return Schema(current, head, known)


@contextmanager
def connected(engine: Engine, shown: str) -> Iterator[Connection]:
    """A connection, or DatabaseUnavailable naming the database and the driver's reason."""
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise DatabaseUnavailable(
            f"cannot reach the database at {shown} ({reason(exc)}): check that it runs "
            "and that SCIM_SERVER_DATABASE_URL names it"
        ) from exc
    with conn:
        yield conn


def reason(exc: DBAPIError) -> str:
    """The driver's message, on one line."""
    lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
    return lines[0].strip()


def _exists(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic's ResolutionError and its kin: a revision it does not have
        return False


def _newer(found: Schema) -> SchemaNotCurrent:
    return SchemaNotCurrent(
        f"the database's schema is at {', '.join(found.current)}, which this scim-server does "
        f"not know (its newest is {found.head}): run a newer scim-server"
    )


def _steps(config: Config, current: tuple[str, ...], revision: str) -> Iterator[Any]:
    script = ScriptDirectory.from_config(config)
    return script.iterate_revisions(revision, current[0] if current else "base")


def _reporting(total: int) -> Callable[..., None]:
    """Alembic's on_version_apply: each migration applied, as progress."""
    applied = count(1)

    def report(*, step: Any, **_: Any) -> None:
        progress.report(f"migrating: {step.up_revision_id} applied", next(applied), total)

    return report
