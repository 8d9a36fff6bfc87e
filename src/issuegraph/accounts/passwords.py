"""Passwords: argon2id hashes, the rules a new password must meet, root's initial password."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as repo
from issuegraph.accounts.service import Actor, _insert_user
from issuegraph.db.models import User
from issuegraph.domain.errors import Invalid, NotFound

log = logging.getLogger("issuegraph")

MIN_LENGTH = 8  # GitLab's minimum
MAX_LENGTH = 128  # GitLab's maximum
INITIAL_PASSWORD_FILE = "initial_root_password"

# argon2-cffi's defaults are RFC 9106's low-memory argon2id profile (t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Verifying against this when the user does not exist takes as long as a real check, so the
# answer time does not tell which usernames exist.
_DUMMY_DIGEST = _hasher.hash(secrets.token_urlsafe(16))


def check_rules(password: str) -> None:
    """A password GitLab would accept (length only), else Invalid with GitLab's wording."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "password_too_short",
            f"password is too short (minimum is {MIN_LENGTH} characters)",
            details={"field": "password"},
        )
    if len(password) > MAX_LENGTH:
        raise Invalid(
            "password_too_long",
            f"password is too long (maximum is {MAX_LENGTH} characters)",
            details={"field": "password"},
        )


def hash_password(password: str) -> str:
    check_rules(password)
    return _hasher.hash(password)


def set_password(session: Session, user: User, password: str) -> None:
    user.password_digest = hash_password(password)
    session.flush()


def change_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    """An administrator sets a user's password (PUT /users/:id, as GitLab)."""
    actor.require_admin()
    actor.require_write()
    user = repo.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    set_password(session, user, password)
    return user


def verify(user: User | None, password: str) -> bool:
    """True when `password` is the user's; as slow for an unknown user as for a known one."""
    digest = user.password_digest if user is not None else None
    try:
        ok = _hasher.verify(digest or _DUMMY_DIGEST, password)
    except (VerificationError, InvalidHashError):
        return False
    return bool(ok and digest and user is not None and user.state == "active")


def ensure_root(session: Session, given_password: str | None) -> str | None:
    """First start on an empty database: create the administrator `root` with a password.

    The password is `given_password` (ISSUEGRAPH_ADMIN_PASSWORD) or a random one, which is
    returned so that the caller writes it down once after the commit (write_initial_password)
    and prints it, as GitLab does. None when `root` exists already or the password was given.
    """
    if repo.find_user_by_username(session, "root") is not None:
        return None
    root = _insert_user(session, username="root", name="Administrator", email="root@localhost", is_admin=True)
    password = given_password or secrets.token_urlsafe(18)
    set_password(session, root, password)
    return None if given_password else password


def write_initial_password(workdir: Path, password: str) -> Path:
    """GitLab's initial_root_password: the file is readable by its owner only."""
    path = workdir / INITIAL_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            "# The initial password of the administrator `root`, written once on the first start.\n"
            "# Sign in at /-/sign_in, change it, then delete this file.\n"
            f"Password: {password}\n"
        )
    return path
