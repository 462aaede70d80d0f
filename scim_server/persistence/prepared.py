"""The statements every request runs, compiled once and sent straight to the driver.

SQLAlchemy's execution path (execution context, parameter and result set-up) costs about
30 µs of CPU per statement inside a request, against 1 to 5 µs for sqlite3 or psycopg to run
a simple indexed statement; every request checks its token, and a create runs four more.
A `Prepared` statement is a core statement compiled once per dialect: its SQL, the order
of its parameters with their bind processors, and its result columns' processors. It
runs on the DBAPI connection of the unit of work or read that already holds one, inside
its transaction, and driver errors come back as SQLAlchemy's (IntegrityError, with a
lost connection invalidated), so callers handle them as for any statement.

Only plain statements qualify: no expanding IN, no executemany, no ORM entities, no
parameters rendered into the SQL. Compiling such a statement raises at once.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None
_REQUIRED = object()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # (parameter key, value when not given or _REQUIRED, bind processor), in SQL order.
    parameters: tuple[tuple[str, Any, Processor], ...]
    names: tuple[str, ...]  # names of the parameters for a named paramstyle; () if positional
    row: Any  # a namedtuple class of the result columns, or None
    results: tuple[Processor, ...]


class Prepared:
    """A core statement run on the driver's cursor; see the module's docstring."""

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, on: Session | Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row the statement returns (attribute access by column key), or []."""
        connection = on.connection() if isinstance(on, Session) else on
        compiled = self._for(connection.dialect)
        cursor = self._execute(connection, compiled, params)
        try:
            if compiled.row is None:
                return []
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        processors = compiled.results
        if not any(processors):
            return [compiled.row._make(values) for values in fetched]
        return [
            compiled.row._make(
                [
                    value if p is None else p(value)
                    for p, value in zip(processors, values, strict=True)
                ]
            )
            for values in fetched
        ]

    def first(self, on: Session | Connection, params: Mapping[str, Any]) -> Any:
        found = self.rows(on, params)
        return found[0] if found else None

    def count(self, on: Session | Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns nothing (UPDATE, INSERT): the rows it matched."""
        connection = on.connection() if isinstance(on, Session) else on
        cursor = self._execute(connection, self._for(connection.dialect), params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _execute(
        self, connection: Connection, compiled: _Compiled, params: Mapping[str, Any]
    ) -> Any:
        values = []
        for key, default, processor in compiled.parameters:
            value = params.get(key, default)
            if value is _REQUIRED:
                raise KeyError(f"the statement needs a value for {key!r}")
            values.append(value if processor is None else processor(value))
        bound: Any = dict(zip(compiled.names, values, strict=True)) if compiled.names else values
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, bound)
        except connection.dialect.loaded_dbapi.Error as error:
            cursor.close()
            raise _wrapped(connection, compiled.sql, bound, error) from error
        return cursor

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self, dialect)
        return compiled


def _compile(prepared: Prepared, dialect: Dialect) -> _Compiled:
    compiled: Any = prepared.statement.compile(dialect=dialect, column_keys=prepared.column_keys)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise TypeError(f"{compiled.string!r}: parameters rendered at execution are not supported")
    if dialect.positional:
        names = tuple(compiled.positiontup)
    else:
        names = tuple(dict.fromkeys(compiled.bind_names.values()))
    parameters = []
    for name in names:
        bind = compiled.binds[name]
        default = _REQUIRED if bind.required else bind.effective_value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        parameters.append((bind.key, default, processor))
    columns = list(getattr(prepared.statement, "exported_columns", ()))
    row = namedtuple("Row", [c.key for c in columns]) if columns else None
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return _Compiled(
        compiled.string, tuple(parameters), () if dialect.positional else names, row, results
    )


def _wrapped(connection: Connection, sql: str, params: Any, error: Any) -> Exception:
    """The driver's error as SQLAlchemy raises it; a lost connection leaves the pool."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    lost = dialect.is_disconnect(error, dbapi_connection, None)
    if lost:
        # As SQLAlchemy does for its own statements: the pool's other connections, opened
        # before this one died (a server restart), are replaced at their next checkout.
        connection.engine.pool._invalidate(connection.connection, error, _checkin=False)
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        sql, params, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )
