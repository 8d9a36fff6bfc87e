"""Request-scoped dependencies shared by every face."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts import throttle
from issuegraph.accounts.service import Actor, authenticate
from issuegraph.api.runner import run_outside_pool
from issuegraph.db.engine import Database
from issuegraph.domain.errors import Unauthenticated

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in a
# worker thread, and each such hop costs more than the work in most of them.


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SESSION_STATE_KEY = "db_session"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request owns the transaction: commit on success, roll back on any error.

    FastAPI ends this dependency only after the response is sent, so the app's
    CommitBeforeResponseMiddleware commits a successful request's session (found in the
    request state) before the response starts; the commit here is then a no-op. The session
    begins its transaction at its first statement, inside the worker thread that runs it, so
    opening it here costs no database round trip on the event loop.
    """
    write = request.method not in READ_METHODS
    database: Database = request.app.state.database  # not a dependency: each one costs FastAPI time
    session = database.request_session(write=write)
    if write:  # a read has nothing to commit before its response
        setattr(request.state, SESSION_STATE_KEY, session)
    try:
        yield session
    except BaseException:
        await run_outside_pool(session.close)  # rolls back what is open
        raise
    if not session.in_transaction():
        session.close()  # no transaction is open: no I/O
    elif write or not database.runs_on_loop or session.new or session.dirty or session.deleted:
        await run_outside_pool(session.commit)
        session.close()
    else:  # a read on PostgreSQL runs in autocommit: nothing to commit, a connection to hand back
        await run_outside_pool(session.close)


def raw_token(request: Request) -> str | None:
    token = request.headers.get("private-token")
    if token:
        return token.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.query_params.get("private_token") or None


def get_actor(request: Request, session: Session = Depends(get_session)) -> Actor:
    client = throttle.client_key(request.client.host if request.client else None)
    try:
        actor = authenticate(session, raw_token(request), client)
    except Unauthenticated:
        # The failure is counted in a transaction of its own, after the request's has ended
        # (it is rolled back; on SQLite it may hold the write lock this needs).
        session.close()
        database: Database = request.app.state.database
        banned_until = throttle.record_failure(database, client, database.settings)
        if banned_until > time.time():
            raise throttle.refusal(banned_until) from None
        raise
    if actor.last_used_due and actor.token_id is not None:
        _touch_last_used(request, session, actor.token_id)
    request.state.actor = actor
    return actor


def _touch_last_used(request: Request, session: Session, token_id: int) -> None:
    """last_used_at, in the request's transaction; a read on SQLite holds no write lock and
    uses a short write transaction of its own instead (PostgreSQL's reads run in autocommit)."""
    database: Database = request.app.state.database
    now = datetime.now(UTC)
    if database.settings.is_sqlite and request.method in READ_METHODS:
        with database.session() as own:
            accounts_repo.touch_last_used(own, token_id, now)
        session.commit()  # end the read snapshot taken before the write: the answer shows it
    else:
        accounts_repo.touch_last_used(session, token_id, now)


async def require_user(actor: Actor = Depends(get_actor)) -> Actor:
    actor.require_user()
    return actor
