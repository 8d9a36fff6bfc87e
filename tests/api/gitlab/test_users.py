"""GitLab users (api/gitlab/users.py): /user, /users (admin only)."""

from __future__ import annotations

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
