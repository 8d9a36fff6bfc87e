"""GitLab token rotation (`/personal_access_tokens/:id/rotate`, `/self/rotate`) and last_used_at."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from tests.api.gitlab.conftest import NOT_FOUND, UNAUTHORIZED
from tests.api.gitlab.test_tokens import URL, new_token, own_token_id
from tests.conftest import Account


def _rotate(client: Any, who: Account, token: int | str, **params: Any) -> Any:
    return client.post(f"{URL}/{token}/rotate", headers=who.headers, params=params)


def test_rotate_self_returns_a_new_token_and_revokes_the_old(client, factory):
    """`/self/rotate` answers 200 with a new token (same name and scopes, a week's life); the old
    one is 401 from then on, the new one works."""
    user = factory.user("alice")
    old_id = own_token_id(client, user)
    response = _rotate(client, user, "self")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] != old_id and body["token"] and body["active"] and not body["revoked"]
    assert body["name"] == "t" and body["scopes"] == ["api"] and body["user_id"] == user.id
    assert body["expires_at"] == (date.today() + timedelta(days=7)).isoformat()
    assert client.get("/api/v4/user", headers=user.headers).status_code == 401
    fresh = {"PRIVATE-TOKEN": body["token"]}
    assert client.get("/api/v4/user", headers=fresh).json()["id"] == user.id
    old = client.get(f"{URL}/{old_id}", headers=fresh).json()
    assert old["revoked"] is True and old["active"] is False


def test_rotate_by_id_with_expires_at(client, factory):
    """Rotating by id keeps the name and takes the given expires_at."""
    user = factory.user("bob")
    extra = new_token(client, factory, user, "ci", scopes=["read_api"])
    day = (date.today() + timedelta(days=30)).isoformat()
    response = _rotate(client, user, extra["id"], expires_at=day)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["scopes"], response.json()["expires_at"]) == (
        "ci",
        ["read_api"],
        day,
    )


def test_admin_rotates_anyones_token_others_get_404(client, factory):
    """An admin rotates another user's token; a non-admin naming it gets 404, as a missing one."""
    alice, bob = factory.user("alice"), factory.user("bob")
    target = new_token(client, factory, alice, "x")
    assert (_rotate(client, bob, target["id"]).status_code, _rotate(client, bob, target["id"]).json()) == (
        404,
        NOT_FOUND,
    )
    assert _rotate(client, bob, 999_999).json() == NOT_FOUND
    assert _rotate(client, factory.admin, target["id"]).status_code == 200


def test_rotate_refusals(client, factory):
    """Anonymous 401; read_api 403; revoked 400; expires_at in the past or beyond a year 400;
    a non-numeric id 404."""
    user = factory.user("carol")
    assert (client.post(f"{URL}/self/rotate").status_code, client.post(f"{URL}/self/rotate").json()) == (
        401,
        UNAUTHORIZED,
    )
    reader = factory.user("reader", scopes="read_api")
    assert _rotate(client, reader, "self").status_code == 403
    revoked = new_token(client, factory, user, "old")
    assert client.delete(f"{URL}/{revoked['id']}", headers=user.headers).status_code == 204
    assert _rotate(client, user, revoked["id"]).status_code == 400
    live = new_token(client, factory, user, "live")
    assert _rotate(client, user, live["id"], expires_at="2000-01-01").status_code == 400
    far = (date.today() + timedelta(days=400)).isoformat()
    assert _rotate(client, user, live["id"], expires_at=far).status_code == 400
    assert _rotate(client, user, "%C2%B2").status_code == 404
    assert client.get("/api/v4/user", headers={"PRIVATE-TOKEN": live["token"]}).status_code == 200


def test_last_used_at_is_set_then_kept_for_ten_minutes(client, factory, database):
    """The first use sets last_used_at; uses within ten minutes leave it; an older one is renewed."""
    user = factory.user("dave")
    token_id = own_token_id(client, user)  # first use
    first = client.get(f"{URL}/{token_id}", headers=user.headers).json()["last_used_at"]
    assert first is not None
    client.post(f"/api/v4/users/{user.id}/personal_access_tokens", headers=user.headers, json={})  # a write
    assert client.get(f"{URL}/{token_id}", headers=user.headers).json()["last_used_at"] == first
    stale = datetime.now(UTC) - timedelta(minutes=11)
    with database.session() as session:
        session.execute(
            text("UPDATE personal_access_tokens SET last_used_at = :t WHERE id = :id"),
            {"t": stale, "id": token_id},
        )
    client.get("/api/v4/user", headers=user.headers)
    renewed = client.get(f"{URL}/{token_id}", headers=user.headers).json()["last_used_at"]
    assert renewed is not None and renewed > first
