"""Users, tokens and who the caller is."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as repo
from issuegraph.accounts import throttle
from issuegraph.db.models import Namespace, PersonalAccessToken, User
from issuegraph.db.pagination import OffsetPage, Page
from issuegraph.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated

SCOPES = ("api", "read_api")
TOKEN_PREFIX = "glpat-"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, or anonymous (user is None)."""

    user: User | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None  # the personal access token the request came with
    last_used_due: bool = False  # the token's last_used_at is older than repo.LAST_USED_EVERY

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def is_admin(self) -> bool:
        return bool(self.user and self.user.is_admin)

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def require_user(self) -> User:
        if self.user is None:
            raise Unauthenticated("unauthenticated", "401 Unauthorized")
        return self.user

    def require_write(self) -> User:
        user = self.require_user()
        if "api" not in self.scopes:
            raise Forbidden("insufficient_scope", "insufficient_scope")
        return user

    def require_admin(self) -> User:
        user = self.require_user()
        if not user.is_admin:
            raise Forbidden("admin_required", "403 Forbidden")
        return user


ANONYMOUS = Actor(user=None)


def authenticate(session: Session, raw_token: str | None, client: str = "") -> Actor:
    """Resolve a raw token. A token that is given but not valid is an error, not anonymity; so is
    any token from a client address refused for failed authentications (accounts.throttle)."""
    if raw_token is None:
        return ANONYMOUS
    found = repo.token_record(session, raw_token, client)
    if found is None:
        raise Unauthenticated("invalid_token", "401 Unauthorized")
    token, user, banned_until = found
    now = datetime.now(UTC)
    if banned_until > now.timestamp():
        raise throttle.refusal(banned_until)
    if token.revoked or user.state != "active":
        raise Unauthenticated("invalid_token", "401 Unauthorized")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("token_expired", "401 Unauthorized")
    due = token.last_used_at is None or token.last_used_at < now - repo.LAST_USED_EVERY
    return Actor(user=user, scopes=frozenset(token.scopes.split(",")), token_id=token.id, last_used_due=due)


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    name: str,
    email: str,
    is_admin: bool = False,
) -> User:
    actor.require_admin()
    actor.require_write()
    return _insert_user(session, username=username, name=name, email=email, is_admin=is_admin)


def _insert_user(session: Session, *, username: str, name: str, email: str, is_admin: bool) -> User:
    if not USERNAME_RE.match(username or ""):
        raise Invalid("invalid_username", "username is invalid", details={"field": "username"})
    if repo.find_user_by_username(session, username) is not None:
        raise Conflict("username_taken", "Username has already been taken")
    user = User(username=username, name=name or username, email=email, is_admin=is_admin, state="active")
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
            session.add(
                Namespace(
                    kind="user",
                    name=user.name,
                    path=username,
                    full_path=username,
                    owner_id=user.id,
                    visibility="public",
                    traversal_ids="",
                )
            )
            session.flush()
    except IntegrityError as exc:
        raise Conflict("user_taken", "Email or username has already been taken") from exc
    ns = session.query(Namespace).filter_by(owner_id=user.id, kind="user").one()
    ns.traversal_ids = str(ns.id)
    session.flush()
    return user


def parse_expiry(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise Invalid("invalid_expires_at", "expires_at is invalid", details={"field": "expires_at"}) from exc
    return datetime.combine(day, time.min, tzinfo=UTC)


def create_token(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> tuple[PersonalAccessToken, str]:
    """Create a token for a user; the raw value is returned once and stored only as a digest."""
    actor.require_admin()
    actor.require_write()
    user = repo.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    return issue_token(session, user, name=name, scopes=scopes, expires_at=expires_at)


def issue_token(
    session: Session, user: User, *, name: str, scopes: list[str], expires_at: datetime | None
) -> tuple[PersonalAccessToken, str]:
    if not scopes or any(s not in SCOPES for s in scopes):
        raise Invalid("invalid_scopes", "scopes does not have a valid value", details={"field": "scopes"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(20)
    token = PersonalAccessToken(
        user_id=user.id,
        name=name,
        token_digest=repo.token_digest(raw),
        scopes=",".join(dict.fromkeys(scopes)),
        expires_at=expires_at,
        revoked=False,
    )
    repo.add(session, token)
    return token, raw


def list_tokens(
    session: Session,
    actor: Actor,
    *,
    user_id: int | None,
    revoked: bool | None = None,
    active: bool | None = None,
    search: str | None = None,
    page: OffsetPage,
) -> Page[PersonalAccessToken]:
    """The caller's tokens; an administrator sees every user's, or one user's with `user_id`.
    Sort field: `id`.

    As GitLab: a non-admin naming another user is 401, an admin naming an unknown user 404.
    """
    user = actor.require_user()
    if not user.is_admin:
        if user_id is not None and user_id != user.id:
            raise Unauthenticated("not_own_tokens", "401 Unauthorized")
        user_id = user.id
    elif user_id is not None and repo.get_user(session, user_id) is None:
        raise NotFound("user_not_found", "404 Not found")
    return repo.list_tokens(
        session,
        user_id=user_id,
        revoked=revoked,
        active=active,
        search=search,
        now=datetime.now(UTC),
        page=page,
    )


def list_users(
    session: Session, actor: Actor, *, username: str | None, search: str | None, page: OffsetPage
) -> Page[User]:
    """Users matching `username` (exactly, any case) and `search` (username, name or e-mail);
    sort field `id`. Administrators only: issuegraph lists users to no one else."""
    actor.require_admin()
    return repo.list_users(session, username=username, search=search, page=page)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """Any user, for a signed-in caller."""
    actor.require_user()
    user = repo.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    return user


def resolve_token(session: Session, actor: Actor, token_id: int | None) -> PersonalAccessToken:
    """A token the caller may see: `None` names the token of this request.

    Someone else's token is 404 for a non-admin, the same answer as a token that does not exist.
    """
    user = actor.require_user()
    if token_id is None:
        token_id = actor.token_id
    token = repo.get_token(session, token_id) if token_id is not None else None
    if token is None or not (user.is_admin or token.user_id == user.id):
        raise NotFound("token_not_found", "404 Not found")
    return token


def revoke_token(session: Session, actor: Actor, token_id: int | None) -> PersonalAccessToken:
    """Revoke a token for good: the next request that carries it is 401. Revoking twice is harmless."""
    token = resolve_token(session, actor, token_id)
    token.revoked = True
    session.flush()
    return token


def ensure_admin_token(session: Session, raw_token: str) -> User:
    """Make sure `root` is an admin and `raw_token` is its api token. Safe to repeat."""
    user = repo.find_user_by_username(session, "root")
    if user is None:
        user = _insert_user(
            session, username="root", name="Administrator", email="root@localhost", is_admin=True
        )
    user.is_admin = True
    user.state = "active"
    found = repo.find_token(session, raw_token)
    if found is None:
        session.add(
            PersonalAccessToken(
                user_id=user.id,
                name="ISSUEGRAPH_ADMIN_TOKEN",
                token_digest=repo.token_digest(raw_token),
                scopes="api",
                expires_at=None,
                revoked=False,
            )
        )
    else:
        token, owner = found
        if owner.id != user.id:
            raise Conflict("admin_token_taken", "ISSUEGRAPH_ADMIN_TOKEN belongs to another user")
        token.revoked = False
        token.expires_at = None
        token.scopes = "api"
    session.flush()
    return user


ROTATED_LIFETIME = timedelta(days=7)  # GitLab: a rotated token without expires_at lives a week
MAX_LIFETIME = timedelta(days=365)  # GitLab: expires_at at most a year after the rotation


def rotate_token(
    session: Session, actor: Actor, token_id: int | None, expires_at: datetime | None
) -> tuple[PersonalAccessToken, str]:
    """GitLab's rotation: revoke the token and issue a new one with its name, scopes and owner.

    `None` names the token of this request (`/self/rotate`). The new token expires at
    `expires_at` (a day between tomorrow and a year from now) or in a week. A revoked or expired
    token cannot be rotated (400); someone else's token is 404 for a non-admin."""
    token = resolve_token(session, actor, token_id)
    actor.require_write()
    now = datetime.now(UTC)
    if token.revoked:
        raise Invalid("token_revoked", "Token already revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Invalid("token_expired", "Token already expired")
    today = datetime.combine(now.date(), time.min, tzinfo=UTC)
    if expires_at is None:
        expires_at = today + ROTATED_LIFETIME
    elif not today < expires_at <= today + MAX_LIFETIME:
        raise Invalid(
            "invalid_expires_at",
            "expires_at must be after today and at most 365 days from now",
            details={"field": "expires_at"},
        )
    owner = repo.get_user(session, token.user_id)
    if owner is None:  # pragma: no cover - tokens are deleted with their user
        raise NotFound("token_not_found", "404 Not found")
    token.revoked = True
    session.flush()
    return issue_token(session, owner, name=token.name, scopes=token.scopes.split(","), expires_at=expires_at)
