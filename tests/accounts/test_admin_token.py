"""ISSUEGRAPH_ADMIN_TOKEN makes root an admin with that api token, idempotently."""

from __future__ import annotations

from sqlalchemy import func, select

from issuegraph.accounts.service import authenticate, ensure_admin_token
from issuegraph.db.models import PersonalAccessToken, User


def test_repeated_start_up_keeps_one_root_and_one_token(database):
    """Start-up twice (or two workers) leaves one root and one token row."""
    for _ in range(3):
        with database.session() as session:
            ensure_admin_token(session, "same-token")
    with database.session(write=False) as session:
        roots = session.scalars(select(User).where(User.username == "root")).all()
        assert len(roots) == 1 and roots[0].is_admin
        digests = session.scalar(
            select(func.count())
            .select_from(PersonalAccessToken)
            .where(PersonalAccessToken.name == "ISSUEGRAPH_ADMIN_TOKEN")
        )
        assert digests == 2  # the fixture's token and "same-token"
        actor = authenticate(session, "same-token")
        assert actor.user is not None and actor.user.username == "root" and "api" in actor.scopes


def test_token_is_stored_hashed(database):
    """The raw token never reaches the database."""
    with database.session() as session:
        ensure_admin_token(session, "visible-secret")
    with database.session(write=False) as session:
        stored = session.scalars(select(PersonalAccessToken.token_digest)).all()
    assert "visible-secret" not in stored
    assert all(len(d) == 64 for d in stored)
