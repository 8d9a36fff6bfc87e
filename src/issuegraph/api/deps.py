"""Request-scoped dependencies shared by every face."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor, authenticate
from issuegraph.api.runner import run_outside_pool
from issuegraph.db.engine import Database

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
    if session.in_transaction():
        await run_outside_pool(session.commit)
    session.close()  # no transaction is open: no I/O


def raw_token(request: Request) -> str | None:
    token = request.headers.get("private-token")
    if token:
        return token.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.query_params.get("private_token") or None


def get_actor(request: Request, session: Session = Depends(get_session)) -> Actor:
    actor = authenticate(session, raw_token(request))
    request.state.actor = actor
    return actor


async def require_user(actor: Actor = Depends(get_actor)) -> Actor:
    actor.require_user()
    return actor
