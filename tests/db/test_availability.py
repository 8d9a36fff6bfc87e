"""What counts as a database outage, and recovery of the psycopg engine after one."""

from __future__ import annotations

import sqlite3

import asyncpg
import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from issuegraph.db.availability import is_unavailable
from issuegraph.db.engine import Database
from tests.reliability.faults import terminate_backends


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    error = sa_exc.DBAPIError.instance("SELECT 1", {}, orig, Exception, connection_invalidated=invalidated)
    assert isinstance(error, sa_exc.DBAPIError)
    return error


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed"), True),
        (TimeoutError(), True),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (sa_exc.DisconnectionError("closed in the pool"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.InterfaceError("connection is closed"), True),
        (psycopg.OperationalError("connection failed"), True),
        (_wrapped(Exception("server closed the connection"), invalidated=True), True),
        (_wrapped(asyncpg.exceptions.AdminShutdownError("terminating")), True),
        (sqlite3.OperationalError("database is locked"), True),
        # Bugs and bad input stay what they are (500 or the face's 4xx), not a 503.
        (sqlite3.OperationalError("no such column: foo"), False),
        (asyncpg.exceptions.UndefinedColumnError("column foo does not exist"), False),
        (psycopg.errors.UndefinedColumn("column foo does not exist"), False),
        (_wrapped(psycopg.errors.NumericValueOutOfRange("out of range")), False),
        (FileNotFoundError(2, "no such file"), False),
        (ValueError("bad"), False),
    ],
)
def test_outage_errors_are_told_from_bugs(error, outage):
    """Connection, shutdown and pool errors mean "unavailable"; query and code errors do not."""
    assert is_unavailable(error) is outage


def test_cause_chain_is_followed():
    """An error raised from a driver's disconnect counts as an outage too."""
    try:
        try:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation")
        except Exception as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert is_unavailable(outer)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server
def test_psycopg_engine_survives_terminated_backends(database: Database, database_url: str):
    """The engine of the CLI, start-up and exports hands out a live connection after its
    pooled ones were terminated (pre-ping), with no error to its caller."""
    with database.session(write=False) as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
    assert terminate_backends(database_url) >= 1
    with database.session(write=False) as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
