"""SQL constructs shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from sqlalchemy import BigInteger, Boolean, ColumnElement, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.util.concurrency import await_

MAX_BIGINT = 2**63 - 1  # the largest id a BIGINT key (or an OFFSET) holds
MAX_INT = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL


class InIds(ColumnElement[bool]):
    """`column IN (...)` for a list of ids given at execution time as the parameter `name`.

    PostgreSQL gets `column = ANY(:name)` with one array parameter, so the statement text,
    psycopg's parsed query and the server's prepared plan are the same whatever the number
    of ids; other databases get an expanding `IN`.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" on databases without booleans
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str = "ids") -> None:
        self.column = column
        self.name = name


def in_ids(column: Any, name: str = "ids") -> InIds:
    return InIds(column, name)


@compiles(InIds)
def _expanding_in(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(InIds, "postgresql")
def _any_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    """`column = ANY ((SELECT :ids)::BIGINT[])`. The array is read by an initplan, so neither a
    custom nor the generic plan knows its length (both assume ten elements): their costs are
    equal, PostgreSQL settles on the generic plan after five executions and stops planning the
    statement. With a bare `= ANY(:ids)` a custom plan, which sees one or two ids, always looked
    cheaper than the generic one, so every execution was planned again (0.4 ms for load_views'
    facts, more than executing it). Index scans take the array at run time all the same."""
    ids = compiler.process(bindparam(element.name, type_=ARRAY(BigInteger())), **kw)
    return f"{compiler.process(element.column, **kw)} = ANY ((SELECT {ids})::BIGINT[])"


class DriverQuery:
    """A Core SELECT that requests on PostgreSQL run straight on asyncpg.

    SQLAlchemy spends about 0.1 ms of CPU per statement on top of the driver (execution context,
    result metadata, rows); the three statements every link list and create runs (the token,
    the links with their issues, the issues' facts) skip that. The statement is compiled once
    for asyncpg's dialect and its rows come back as asyncpg records, which index and slice like
    tuples. Anywhere else (SQLite, psycopg outside requests) it runs through SQLAlchemy.

    Only for statements whose parameters need no bind processing (ids, strings, arrays of ids)
    and whose columns need no result processing (asyncpg's timestamptz is UTC already: see
    models.UTCDateTime); on a write session's connection it runs inside the transaction once
    one is open (asyncpg's connection state), and a read needs none.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: tuple[str, list[str], dict[str, Any]] | None = None

    def rows(self, connection: Any, params: dict[str, Any]) -> Sequence[Any]:
        if connection.dialect.driver != "asyncpg":
            result: Sequence[Any] = connection.execute(self.statement, params).all()
            return result
        if self._compiled is None:
            compiled = self.statement.compile(dialect=connection.dialect)
            # The statement's own literal values ("blocks", "opened", ...) are parameters too.
            binds = compiled.binds.items()
            literals = {name: bind.effective_value for name, bind in binds if not bind.required}
            self._compiled = (str(compiled), list(compiled.positiontup or []), literals)
        sql, names, literals = self._compiled
        args = [params[n] if n in params else literals[n] for n in names]
        if connection._has_events or connection.engine._has_events:
            # Listeners of the engine (statement counters, logging) see this statement too.
            connection.dispatch.before_cursor_execute(connection, None, sql, args, None, False)
        adapted = connection.connection.dbapi_connection
        try:
            rows: Sequence[Any] = await_(adapted.driver_connection.fetch(sql, *args))
        except Exception as error:
            raise_through_sqlalchemy(connection, adapted, error, sql, args)
        if connection._has_events or connection.engine._has_events:
            connection.dispatch.after_cursor_execute(connection, None, sql, args, None, False)
        return rows


def raise_through_sqlalchemy(
    connection: Any, adapted: Any, error: Exception, sql: str, args: Any
) -> NoReturn:
    """Raise asyncpg's error as SQLAlchemy would have: translated to the DBAPI's class and
    through the connection's error handling, so a disconnect invalidates this connection (and
    the pool's older ones) instead of returning a dead connection to the pool."""
    try:
        adapted._handle_exception(error)  # raises the DBAPI error that wraps asyncpg's
    except Exception as translated:
        connection._handle_dbapi_exception(translated, sql, tuple(args), None, None)
    raise error  # pragma: no cover - _handle_exception always raises
