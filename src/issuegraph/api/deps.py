"""Request-scoped dependencies shared by every face."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor, authenticate
from issuegraph.db.engine import Database

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SESSION_STATE_KEY = "db_session"


def get_session(request: Request, database: Database = Depends(get_database)) -> Iterator[Session]:
    """The request owns the transaction: commit on success, roll back on any error.

    FastAPI ends this dependency only after the response is sent, so the app's
    CommitBeforeResponseMiddleware commits a successful request's session (found in the
    request state) before the response starts; the commit here is then a no-op.
    """
    with database.session(write=request.method not in READ_METHODS) as session:
        setattr(request.state, SESSION_STATE_KEY, session)
        yield session


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


def require_user(actor: Actor = Depends(get_actor)) -> Actor:
    actor.require_user()
    return actor
