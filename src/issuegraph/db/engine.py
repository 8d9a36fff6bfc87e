"""Engine and session factory.

SQLite: WAL, foreign keys on, and write transactions start with ``BEGIN IMMEDIATE``
so that two writers never deadlock on a read-to-write upgrade; a write transaction
therefore sees a stable database for all its checks (SQLite has one writer).
PostgreSQL: READ COMMITTED; graph rules take explicit locks (see links.repository).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from issuegraph.config import Settings
from issuegraph.db import availability
from issuegraph.ops import metrics

WRITE_OPTION = "issuegraph_writes"
SQLITE_BUSY_SECONDS = 30


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if settings.is_sqlite:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
            pool_size=settings.db_pool_size,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    # The CLI, start-up and exports hold a connection for long and run few statements: a
    # ping at checkout costs little there and hands out no connection a restart killed.
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=20,
        pool_pre_ping=True,
        hide_parameters=True,  # errors (and so logs) never show values: token digests, passwords
        connect_args={"prepare_threshold": 5, "connect_timeout": settings.db_connect_timeout},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN is always DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # Writers of this process queue on a lock instead of polling SQLite's busy handler, whose
    # growing sleeps (up to 100 ms a try) left a write waiting long after the lock was free:
    # create p99 was about a second at concurrency 8. Other processes still meet the handler.
    writer = threading.Lock()
    holds_writer = "issuegraph_holds_writer"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise TimeoutError("no write transaction within the busy timeout")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        conn.info[holds_writer] = True

    def end(conn: Any, statement: str) -> None:
        if conn.info.pop(holds_writer, False):
            # End the transaction here, then let the next writer in; the DBAPI's own commit
            # or rollback that follows finds no transaction open and does nothing.
            dbapi_conn = conn.connection.dbapi_connection
            try:
                if dbapi_conn.in_transaction:
                    dbapi_conn.execute(statement)
            finally:
                writer.release()

    event.listen(engine, "commit", lambda conn: end(conn, "COMMIT"))
    event.listen(engine, "rollback", lambda conn: end(conn, "ROLLBACK"))

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # A connection back in the pool never keeps the lock, however its transaction ended.
        if record is not None and record.info.pop(holds_writer, False):
            writer.release()


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _asyncpg_url(database_url: str) -> tuple[URL, dict[str, Any]]:
    """The same database for asyncpg, from a URL written for libpq (psycopg).

    libpq's `options=-c name=value ...` and `application_name` become asyncpg server settings,
    `sslmode` becomes asyncpg's `ssl` (it takes the same words: disable, prefer, require,
    verify-ca, verify-full) and `connect_timeout` its `timeout`. Host, port, user, password and
    database are read alike; any other parameter is passed on, and asyncpg refuses what it does
    not know, at start-up. Returns the URL and asyncpg's connect arguments."""
    url = make_url(database_url).set(drivername="postgresql+asyncpg")
    settings: dict[str, str] = {}
    query = {k: (" ".join(v) if isinstance(v, tuple) else v) for k, v in url.query.items()}
    for word in query.pop("options", "").replace("-c ", "-c").split():
        name, _, value = word.removeprefix("-c").partition("=")
        if name and value:
            settings[name] = value
    if "application_name" in query:
        settings["application_name"] = query.pop("application_name")
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    connect: dict[str, Any] = {"server_settings": settings}
    if "connect_timeout" in query:
        connect["timeout"] = float(query.pop("connect_timeout"))
    return url.set(query=query), connect


class Database:
    """Holds the engines and hands out sessions.

    `engine` serves code that runs outside requests (the CLI, start-up, seeding, tests' setup,
    streamed exports). Requests use `request_engine`: on SQLite the same engine; on PostgreSQL
    an engine on asyncpg whose sessions are driven by synchronous code in
    greenlets on the event loop (see api.runner), so `runs_on_loop` is true.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.runs_on_loop = not settings.is_sqlite
        self._async_engine: AsyncEngine | None = None
        self.request_engine = self.engine
        if self.runs_on_loop:
            url, connect_args = _asyncpg_url(settings.database_url)
            connect_args.setdefault("timeout", settings.db_connect_timeout)
            self._async_engine = create_async_engine(
                url,
                pool_size=settings.db_pool_size,
                max_overflow=20,
                hide_parameters=True,
                connect_args=connect_args,
            )
            self.request_engine = self._async_engine.sync_engine
            availability.discard_closed_on_checkout(self.request_engine)
        metrics.instrument_engine(self.request_engine, "requests")
        if self.request_engine is not self.engine:
            metrics.instrument_engine(self.engine, "background")
        self._factory = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write_factory = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False, autoflush=False
        )
        # Request reads on PostgreSQL run in autocommit: under READ COMMITTED every statement
        # takes its own snapshot anyway, so a transaction around a read adds nothing but a BEGIN
        # and a ROLLBACK round trip. SQLite keeps its read transaction (one snapshot).
        reads = self.request_engine
        if not settings.is_sqlite:
            reads = reads.execution_options(isolation_level="AUTOCOMMIT")
        self._request_read_factory = sessionmaker(reads, expire_on_commit=False, autoflush=False)
        self._request_write_factory = sessionmaker(
            self.request_engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    def new_session(self, *, write: bool = True) -> Session:
        """A session that has not touched the database yet: its transaction begins with its
        first statement (BEGIN IMMEDIATE on SQLite when `write`). The caller commits or rolls
        back, then closes it."""
        return (self._write_factory if write else self._factory)()

    def request_session(self, *, write: bool) -> Session:
        """A request's session, on `request_engine`. On PostgreSQL it must be used from
        api.runner's greenlets, and a read runs in autocommit (no server-side cursors: a
        streaming read opens its own session with `session()`)."""
        return (self._request_write_factory if write else self._request_read_factory)()

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        session = self.new_session(write=write)
        try:
            if write:
                session.connection()  # the write transaction starts now (BEGIN IMMEDIATE on SQLite)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def dispose_async(self) -> None:
        """Close every pooled connection; the asyncio engine's need the event loop they ran on."""
        if self._async_engine is not None:
            await self._async_engine.dispose()
        self.engine.dispose()

    def dispose(self) -> None:
        """Close pooled connections from synchronous code (outside any running event loop)."""
        if self._async_engine is not None:
            asyncio.run(self._async_engine.dispose())
        self.engine.dispose()
