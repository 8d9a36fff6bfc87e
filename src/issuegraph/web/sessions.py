"""Web sessions and failed sign-ins, stored in the database so that every worker shares them
(their queries are in accounts/repository.py)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.db.models import SignInFailure, User, WebSession, utcnow

COOKIE = "issuegraph_session"
LIFETIME = timedelta(days=14)
# Failed sign-ins of one username allowed before each further one waits, doubling each time.
FREE_FAILURES = 3
MAX_WAIT_SECONDS = 300


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start(session: Session, user: User) -> tuple[str, WebSession]:
    """A new session for `user`; the raw cookie value is returned once and stored as a digest."""
    raw = secrets.token_urlsafe(32)
    row = WebSession(
        token_digest=digest(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=utcnow(),
        expires_at=utcnow() + LIFETIME,
    )
    session.add(row)
    session.flush()
    return raw, row


def lookup(session: Session, raw: str | None) -> tuple[str, Any] | None:
    """The CSRF token of this cookie's live session and its active user (a record), or None."""
    if not raw or len(raw) > 128:
        return None
    return accounts_repo.live_web_session(session, digest(raw), utcnow())


def end(session: Session, raw: str | None) -> None:
    """Sign-out: the session row is deleted, so the cookie is worthless on every worker."""
    if raw:
        accounts_repo.delete_web_session(session, digest(raw))


def wait_seconds(session: Session, username: str, now: datetime | None = None) -> int:
    """Seconds before `username` may try to sign in again (0: now)."""
    row = session.get(SignInFailure, username.lower()[:255])
    now = now or datetime.now(UTC)
    if row is None or row.blocked_until <= now:
        return 0
    return max(1, int((row.blocked_until - now).total_seconds() + 0.999))


def record_failure(session: Session, username: str) -> None:
    """Count a failed sign-in; past FREE_FAILURES each one blocks the next 2, 4, 8, ... seconds."""
    key = username.lower()[:255]
    row = session.get(SignInFailure, key)
    if row is None:
        try:
            with session.begin_nested():
                row = SignInFailure(username=key, failures=0, blocked_until=utcnow())
                session.add(row)
                session.flush()
        except IntegrityError:  # another worker counted this username's first failure
            row = session.get(SignInFailure, key, populate_existing=True)
            if row is None:  # pragma: no cover - it was deleted again meanwhile
                return
    row.failures += 1
    if row.failures >= FREE_FAILURES:
        wait = min(2 ** (row.failures - FREE_FAILURES + 1), MAX_WAIT_SECONDS)
        row.blocked_until = utcnow() + timedelta(seconds=wait)
    session.flush()


def clear_failures(session: Session, username: str) -> None:
    accounts_repo.delete_sign_in_failures(session, username.lower()[:255])
