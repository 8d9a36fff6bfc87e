"""When the database cannot serve: what counts as an outage, and cheap recovery after one.

A PostgreSQL restart or a terminated backend closes the server's connections. Requests must
then get a 503 (the faces render it, with Retry-After) rather than a 500, and must succeed again
as soon as the database is back, without a restart of issuegraph. Two things make that so:

* A connection that failed with a disconnect is invalidated, and with it every connection the
  pool held at that moment (SQLAlchemy's disconnect handling; DriverQuery routes its asyncpg
  errors through it too).
* The asyncpg request pool hands out no connection that asyncpg already knows is closed:
  asyncpg reads the server's "terminating connection" message and the socket's end on the
  event loop while the connection sits in the pool, so a check at checkout costs no round trip
  (a `pool_pre_ping` would cost one per request). The psycopg engine, used outside requests,
  pings at checkout instead: its connections cannot notice a closed socket by themselves.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

try:  # the request driver on PostgreSQL
    import asyncpg.exceptions as _asyncpg
except ImportError:  # pragma: no cover - asyncpg is a dependency
    _asyncpg = None
try:
    import psycopg as _psycopg
except ImportError:  # pragma: no cover - psycopg is a dependency
    _psycopg = None  # type: ignore[assignment]

# SQLite's transient failures: another process holds the write lock, or the file went away.
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "unable to open database", "disk i/o error")


def discard_closed_on_checkout(engine: Engine) -> None:
    """Replace, at checkout, a pooled asyncpg connection whose server side has gone."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and driver.is_closed():
            # The pool retries with a new connection; if that fails too, the request gets a 503.
            raise sa_exc.DisconnectionError("the connection was closed while it was in the pool")


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error it wraps, and their causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend([current.__cause__, orig if isinstance(orig, BaseException) else None])


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True  # the pool found no live connection in time
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True  # refused, reset, timed out, name not resolved
    if isinstance(error, OSError) and error.errno is None:
        return True  # asyncio's "Multiple exceptions: [Errno 111] ..." when every address refused
    if _asyncpg is not None and isinstance(
        error,
        _asyncpg.PostgresConnectionError  # class 08, and "connection was closed"
        | _asyncpg.OperatorInterventionError  # shutting down, starting up, cancelled
        | _asyncpg.InsufficientResourcesError  # too many connections, disk full
        | _asyncpg.InterfaceError,  # "connection is closed"
    ):
        return True
    if _psycopg is not None and isinstance(error, _psycopg.OperationalError):
        return True  # connection failures, shutdowns, serialization failures: all retryable
    if isinstance(error, sqlite3.OperationalError):
        return any(text in str(error).lower() for text in _SQLITE_TRANSIENT)
    return False


def is_unavailable(error: BaseException) -> bool:
    """True when the error means the database cannot serve now (a retry later may succeed),
    not that the request or the code is wrong."""
    return any(_is_outage(e) for e in _chain(error))
