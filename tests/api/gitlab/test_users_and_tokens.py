"""GitLab users and personal access tokens: /user, /users (admin only), tokens and how they are sent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from issuegraph.db.models import PersonalAccessToken
from tests.api.gitlab.conftest import UNAUTHORIZED

USER_BODY = {"username": "alice", "name": "Alice", "email": "alice@example.test"}


# ---------------------------------------------------------------- GET /user


def test_current_user_anonymous_gets_401(client):
    """GET /user without a token is 401."""
    response = client.get("/api/v4/user")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_current_user(client, factory):
    """GET /user returns the token's owner, with the private email."""
    alice = factory.user("alice")
    body = client.get("/api/v4/user", headers=alice.headers).json()
    assert (body["id"], body["username"], body["email"], body["is_admin"]) == (
        alice.id,
        "alice",
        "alice@example.test",
        False,
    )
    assert body["state"] == "active"
    assert body["web_url"] == "http://issuegraph.test/alice"


# ---------------------------------------------------------------- token transport and validity


@pytest.mark.parametrize("transport", ["PRIVATE-TOKEN", "Bearer", "private_token"])
def test_token_transports(client, factory, transport):
    """A token is accepted as PRIVATE-TOKEN, as Authorization: Bearer and as ?private_token=."""
    alice = factory.user("alice")
    if transport == "PRIVATE-TOKEN":
        response = client.get("/api/v4/user", headers={"PRIVATE-TOKEN": alice.token})
    elif transport == "Bearer":
        response = client.get("/api/v4/user", headers={"Authorization": f"Bearer {alice.token}"})
    else:
        response = client.get("/api/v4/user", params={"private_token": alice.token})
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


@pytest.mark.parametrize(
    "headers",
    [{"PRIVATE-TOKEN": "glpat-wrong"}, {"Authorization": "Bearer glpat-wrong"}],
)
def test_bad_token_gets_401(client, headers):
    """A token that does not exist is 401, not anonymous access."""
    response = client.get("/api/v4/projects", headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_bad_private_token_param_gets_401(client):
    """A wrong ?private_token= is 401 too."""
    response = client.get("/api/v4/user", params={"private_token": "glpat-wrong"})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_expired_token_gets_401(client, factory):
    """A token whose expiry date has passed is 401."""
    alice = factory.user("alice")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    token = client.post(
        f"/api/v4/users/{alice.id}/personal_access_tokens",
        headers=factory.admin.headers,
        json={"name": "old", "scopes": ["api"], "expires_at": yesterday},
    ).json()
    response = client.get("/api/v4/user", headers={"PRIVATE-TOKEN": token["token"]})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_token_with_future_expiry_works(client, factory):
    """A token that expires tomorrow still works."""
    alice = factory.user("alice")
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    token = client.post(
        f"/api/v4/users/{alice.id}/personal_access_tokens",
        headers=factory.admin.headers,
        json={"name": "soon", "scopes": ["api"], "expires_at": tomorrow},
    ).json()
    assert token["expires_at"] == tomorrow
    assert client.get("/api/v4/user", headers={"PRIVATE-TOKEN": token["token"]}).status_code == 200


def test_revoked_token_gets_401(client, factory, database):
    """A revoked token is 401."""
    alice = factory.user("alice")
    with database.session() as session:
        session.execute(
            update(PersonalAccessToken).where(PersonalAccessToken.user_id == alice.id).values(revoked=True)
        )
    response = client.get("/api/v4/user", headers=alice.headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_read_api_token_reads_but_cannot_write(client, factory):
    """A read_api token may read; every write is 403 insufficient_scope."""
    reader = factory.user("reader", scopes="read_api")
    project = factory.project("p", visibility="public")
    factory.member(project, reader, 40)
    assert client.get(f"/api/v4/projects/{project['id']}/issues", headers=reader.headers).status_code == 200
    for method, url, body in [
        ("post", f"/api/v4/projects/{project['id']}/issues", {"title": "t"}),
        ("post", "/api/v4/projects", {"name": "mine"}),
        ("post", "/api/v4/groups", {"name": "g", "path": "g"}),
        ("put", f"/api/v4/projects/{project['id']}", {"description": "d"}),
    ]:
        response = client.request(method, url, headers=reader.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["error"] == "insufficient_scope"


def test_read_api_admin_token_cannot_create_users(client, factory):
    """An admin's read_api token cannot create users."""
    admin = factory.user("boss", admin=True, scopes="read_api")
    response = client.post("/api/v4/users", headers=admin.headers, json=USER_BODY)
    assert response.status_code == 403


# ---------------------------------------------------------------- POST /users


def test_create_user_anonymous_gets_401(client):
    """POST /users without a token is 401."""
    assert client.post("/api/v4/users", json=USER_BODY).status_code == 401


def test_create_user_non_admin_gets_403(client, factory):
    """POST /users by a non-admin is 403."""
    bob = factory.user("bob")
    response = client.post("/api/v4/users", headers=bob.headers, json=USER_BODY)
    assert (response.status_code, response.json()) == (403, {"message": "403 Forbidden"})


def test_create_user_missing_parameters_gets_400(client, factory):
    """POST /users without email, username and name names all three."""
    response = client.post("/api/v4/users", headers=factory.admin.headers, json={})
    assert response.status_code == 400
    assert response.json() == {"error": "email is missing, username is missing, name is missing"}


def test_create_user_invalid_username_gets_400(client, factory):
    """A username with a space is 400."""
    response = client.post(
        "/api/v4/users", headers=factory.admin.headers, json={**USER_BODY, "username": "a b"}
    )
    assert response.status_code == 400


def test_create_user_taken_username_gets_409(client, factory):
    """A second user with the same username is 409."""
    factory.user("alice")
    response = client.post("/api/v4/users", headers=factory.admin.headers, json=USER_BODY)
    assert response.status_code == 409


def test_create_user(client, factory):
    """POST /users by an admin is 201 with the new user."""
    response = client.post("/api/v4/users", headers=factory.admin.headers, json={**USER_BODY, "admin": True})
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["name"], body["email"], body["is_admin"]) == (
        "alice",
        "Alice",
        "alice@example.test",
        True,
    )


# ---------------------------------------------------------------- GET /users, /users/:id


def test_list_users_anonymous_gets_401(client):
    """GET /users without a token is 401."""
    assert client.get("/api/v4/users").status_code == 401


def test_list_users_non_admin_gets_403(client, factory):
    """GET /users is for administrators only."""
    bob = factory.user("bob")
    response = client.get("/api/v4/users", headers=bob.headers)
    assert (response.status_code, response.json()) == (403, {"message": "403 Forbidden"})


def test_list_users(client, factory):
    """GET /users lists every user, filters by username and search, and paginates."""
    for name in ("alice", "bob", "carol"):
        factory.user(name)
    response = client.get("/api/v4/users", headers=factory.admin.headers, params={"per_page": 2})
    assert [u["username"] for u in response.json()] == ["root", "alice"]
    assert (response.headers["X-Total"], response.headers["X-Total-Pages"]) == ("4", "2")
    by_name = client.get("/api/v4/users", headers=factory.admin.headers, params={"username": "bob"}).json()
    assert [u["username"] for u in by_name] == ["bob"]
    searched = client.get("/api/v4/users", headers=factory.admin.headers, params={"search": "CAR"}).json()
    assert [u["username"] for u in searched] == ["carol"]


def test_get_user(client, factory):
    """GET /users/:id is 200 for a user without the private email, 404 for an unknown id."""
    alice, bob = factory.user("alice"), factory.user("bob")
    body = client.get(f"/api/v4/users/{alice.id}", headers=bob.headers).json()
    assert body["username"] == "alice" and "email" not in body
    response = client.get("/api/v4/users/9999", headers=bob.headers)
    assert (response.status_code, response.json()) == (404, {"message": "404 User Not Found"})


# ---------------------------------------------------------------- POST /users/:id/personal_access_tokens


def test_create_token_anonymous_gets_401(client, factory):
    """Creating a token without a token is 401."""
    assert (
        client.post(
            "/api/v4/users/1/personal_access_tokens", json={"name": "t", "scopes": ["api"]}
        ).status_code
        == 401
    )


def test_create_token_non_admin_gets_403(client, factory):
    """A user cannot create tokens through the admin endpoint, not even their own."""
    bob = factory.user("bob")
    response = client.post(
        f"/api/v4/users/{bob.id}/personal_access_tokens",
        headers=bob.headers,
        json={"name": "t", "scopes": ["api"]},
    )
    assert response.status_code == 403


def test_create_token_unknown_user_gets_404(client, factory):
    """A token for an unknown user is 404 User Not Found."""
    response = client.post(
        "/api/v4/users/9999/personal_access_tokens",
        headers=factory.admin.headers,
        json={"name": "t", "scopes": ["api"]},
    )
    assert (response.status_code, response.json()) == (404, {"message": "404 User Not Found"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "name is missing, scopes is missing"),
        ({"name": "t", "scopes": ["sudo"]}, "scopes does not have a valid value"),
        ({"name": "t", "scopes": ["api"], "expires_at": "soon"}, "expires_at is invalid"),
    ],
)
def test_create_token_invalid_gets_400(client, factory, body, error):
    """Missing name/scopes, an unknown scope and a bad expiry date are 400."""
    alice = factory.user("alice")
    response = client.post(
        f"/api/v4/users/{alice.id}/personal_access_tokens", headers=factory.admin.headers, json=body
    )
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_create_token(client, factory, database):
    """A new token is shown once, works, and is stored only as a digest."""
    alice = factory.user("alice")
    response = client.post(
        f"/api/v4/users/{alice.id}/personal_access_tokens",
        headers=factory.admin.headers,
        json={"name": "laptop", "scopes": ["api", "read_api"]},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["scopes"], body["user_id"], body["revoked"], body["active"]) == (
        "laptop",
        ["api", "read_api"],
        alice.id,
        False,
        True,
    )
    assert body["token"].startswith("glpat-")
    assert client.get("/api/v4/user", headers={"PRIVATE-TOKEN": body["token"]}).json()["id"] == alice.id
    with database.session(write=False) as session:
        digests = [t.token_digest for t in session.query(PersonalAccessToken).all()]
    assert body["token"] not in digests


def test_read_api_token_refused_before_request_is_examined(client, factory):
    """A read_api token on a write is 403 insufficient_scope before parameters or lookups (GitLab's order)."""
    reader = factory.user("reader", scopes="read_api")
    for url, body in (("/api/v4/projects/999/issues/1/links", {}), ("/api/v4/projects/999/issues", {})):
        response = client.post(url, headers=reader.headers, json=body)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "insufficient_scope"


def test_anonymous_write_with_broken_body_gets_401(client):
    """Without a token a write is 401 even when its body is not valid JSON."""
    response = client.post(
        "/api/v4/projects/1/issues", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
