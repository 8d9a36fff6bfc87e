"""All queries about users, personal access tokens, web sessions and failed sign-ins."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, not_, or_, select, update
from sqlalchemy.orm import Session

from issuegraph.db import pagination, records
from issuegraph.db.models import AuthThrottle, PersonalAccessToken, SignInFailure, User, WebSession
from issuegraph.db.pagination import Columns, OffsetPage, Page
from issuegraph.db.sql import DriverQuery, contains_text, in_ids


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# Statements on every request's path are built once.
_TOKEN = (
    select(PersonalAccessToken, User)
    .join(User, User.id == PersonalAccessToken.user_id)
    .where(PersonalAccessToken.token_digest == bindparam("digest"))
)


# The client's failed-authentication ban (accounts.throttle) is read in the same statement.
_BANNED_UNTIL = (
    select(AuthThrottle.banned_until).where(AuthThrottle.client == bindparam("client")).scalar_subquery()
)
_TOKEN_RECORD = DriverQuery(
    select(*records.TOKEN.columns, *records.USER.columns, _BANNED_UNTIL)
    .join(records.USER.table, records.USER.table.c.id == records.TOKEN.table.c.user_id)
    .where(records.TOKEN.table.c.token_digest == bindparam("digest"))
)


def token_record(session: Session, raw: str, client: str = "") -> tuple[Any, Any, float] | None:
    """The token and its user as read-only records (db.records), and until when `client` is
    refused for failed authentications (0 when it is not): every request reads them."""
    rows = _TOKEN_RECORD.rows(session.connection(), {"digest": token_digest(raw), "client": client})
    if not rows:
        return None
    width = len(records.TOKEN.columns) + len(records.USER.columns)
    return (
        records.TOKEN.cut(rows[0]),
        records.USER.cut(rows[0], len(records.TOKEN.columns)),
        float(rows[0][width] or 0.0),
    )


LAST_USED_EVERY = timedelta(minutes=10)  # GitLab updates last_used_at at most this often


def touch_last_used(session: Session, token_id: int, now: datetime) -> None:
    """Set last_used_at unless another request did within LAST_USED_EVERY (the condition is in
    the statement, so concurrent requests of several workers write it once)."""
    token = PersonalAccessToken
    session.execute(
        update(token)
        .where(
            token.id == token_id,
            or_(token.last_used_at.is_(None), token.last_used_at < now - LAST_USED_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def find_token(session: Session, raw: str) -> tuple[PersonalAccessToken, User] | None:
    row = session.execute(_TOKEN, {"digest": token_digest(raw)}).first()
    return (row[0], row[1]) if row else None


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


_USER_RECORDS = DriverQuery(select(*records.USER.columns).where(in_ids(User.id)))


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Any]:
    """The users of `ids` (None ignored) as read-only records (db.records): every caller only
    shows them (authors, members), and a record costs a tenth of an ORM object."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = _USER_RECORDS.rows(session.connection(), {"ids": list(wanted)})
    return {row[0]: records.USER.make(row) for row in rows}


USER_SORT_COLUMNS: Columns = {"id": User.id}
TOKEN_SORT_COLUMNS: Columns = {"id": PersonalAccessToken.id}


def list_users(session: Session, *, username: str | None, search: str | None, page: OffsetPage) -> Page[User]:
    query = select(User)
    if username:
        query = query.where(func.lower(User.username) == username.lower())
    if search:
        query = query.where(
            or_(
                contains_text(User.username, search),
                contains_text(User.name, search),
                contains_text(User.email, search),
            )
        )
    return pagination.fetch(session, query, page, USER_SORT_COLUMNS)


def get_token(session: Session, token_id: int) -> PersonalAccessToken | None:
    return session.get(PersonalAccessToken, token_id)


def list_tokens(
    session: Session,
    *,
    user_id: int | None,
    revoked: bool | None,
    active: bool | None,
    search: str | None,
    now: datetime,
    page: OffsetPage,
) -> Page[PersonalAccessToken]:
    """Tokens by id; `active` means neither revoked nor expired at `now` (GitLab's state filter)."""
    token = PersonalAccessToken
    query = select(token)
    if user_id is not None:
        query = query.where(token.user_id == user_id)
    if revoked is not None:
        query = query.where(token.revoked == revoked)
    if active is not None:
        is_active = and_(not_(token.revoked), or_(token.expires_at.is_(None), token.expires_at > now))
        query = query.where(is_active if active else not_(is_active))
    if search:
        query = query.where(contains_text(token.name, search))
    return pagination.fetch(session, query, page, TOKEN_SORT_COLUMNS)


_SESSIONS = WebSession.__table__.c
_WEB_SESSION_RECORD = DriverQuery(
    select(_SESSIONS.csrf_token, *records.USER.columns)
    .join(records.USER.table, records.USER.table.c.id == _SESSIONS.user_id)
    .where(_SESSIONS.token_digest == bindparam("digest"))
    .where(_SESSIONS.expires_at > bindparam("now", type_=_SESSIONS.expires_at.type))
    .where(records.USER.table.c.state == "active")
)


def live_web_session(session: Session, digest: str, now: datetime) -> tuple[str, Any] | None:
    """The CSRF token of the web session of this cookie digest, unexpired at `now`, and its user
    (a read-only record, db.records) if active. Every page reads it, as every API request reads
    its token (token_record): one statement straight on the driver."""
    rows = _WEB_SESSION_RECORD.rows(session.connection(), {"digest": digest, "now": now})
    if not rows:
        return None
    return str(rows[0][0]), records.USER.cut(rows[0], 1)


def delete_web_session(session: Session, digest: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_digest == digest))


def delete_sign_in_failures(session: Session, key: str) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.username == key))


def add(session: Session, obj: object) -> None:
    session.add(obj)
    session.flush()
