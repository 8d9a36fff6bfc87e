"""Users for an import: matched by username, else created (active, without a password)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as repo
from issuegraph.accounts.service import USERNAME_RE, Actor, _insert_user
from issuegraph.db.models import User
from issuegraph.domain.errors import Invalid

# Where a source does not show a user's e-mail: a reserved domain (RFC 2606), never delivered.
PLACEHOLDER_DOMAIN = "imported.invalid"


def user_for_import(
    session: Session, actor: Actor, *, username: str, name: str | None, email: str | None
) -> tuple[User, bool]:
    """The local user with this username, or a new one; (user, created)."""
    actor.require_admin()
    actor.require_write()
    user = repo.find_user_by_username(session, username)
    if user is not None:
        return user, False
    if not USERNAME_RE.match(username or ""):
        raise Invalid("invalid_username", f"username {username!r} is invalid", details={"field": "username"})
    address = email or ""
    if not address or session.scalar(select(User.id).where(User.email == address)) is not None:
        address = f"{username}@{PLACEHOLDER_DOMAIN}"
    return _insert_user(
        session, username=username, name=name or username, email=address, is_admin=False
    ), True
