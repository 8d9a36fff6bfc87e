"""GitLab personal access tokens (api/gitlab/tokens.py): created for a user by an admin; listed,
shown and revoked, by id or as `self`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import gitlab
import pytest

from issuegraph.db.models import PersonalAccessToken
from tests.api.gitlab.conftest import NOT_FOUND, UNAUTHORIZED
from tests.conftest import Account, Factory

URL = "/api/v4/personal_access_tokens"


def new_token(client: Any, factory: Factory, user: Account, name: str, **body: Any) -> dict[str, Any]:
    """A further token for `user`, made by the admin; the raw value is in "token"."""
    response = client.post(
        f"/api/v4/users/{user.id}/personal_access_tokens",
        headers=factory.admin.headers,
        json={"name": name, "scopes": ["api"], **body},
    )
    assert response.status_code == 201, response.text
    return response.json()


def own_token_id(client: Any, account: Account) -> int:
    token_id: int = client.get(f"{URL}/self", headers=account.headers).json()["id"]
    return token_id


# ---------------------------------------------------------------- GET /personal_access_tokens


def test_list_anonymous_gets_401(client):
    """Listing tokens without a token is 401."""
    response = client.get(URL)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_list_other_users_tokens_as_non_admin_gets_401(client, factory):
    """A non-admin naming another user in user_id is 401 (GitLab's documented answer)."""
    alice, bob = factory.user("alice"), factory.user("bob")
    response = client.get(URL, headers=alice.headers, params={"user_id": bob.id})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_list_unknown_user_as_admin_gets_404(client, factory):
    """An admin naming a user that does not exist is 404."""
    response = client.get(URL, headers=factory.admin.headers, params={"user_id": 9999})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_list_invalid_state_gets_400(client, factory):
    """state is active or inactive; anything else is 400."""
    response = client.get(URL, headers=factory.admin.headers, params={"state": "maybe"})
    assert (response.status_code, response.json()) == (400, {"error": "state does not have a valid value"})


def test_list_own_tokens(client, factory):
    """A user sees their own tokens only, with or without their own user_id, never the raw value."""
    alice, bob = factory.user("alice"), factory.user("bob")
    second = new_token(client, factory, alice, "laptop")
    response = client.get(URL, headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert [(t["name"], t["user_id"]) for t in body] == [("t", alice.id), ("laptop", alice.id)]
    assert body[1]["id"] == second["id"] and "token" not in body[1]
    assert response.headers["X-Total"] == "2"
    assert client.get(URL, headers=alice.headers, params={"user_id": alice.id}).json() == body
    assert bob.id not in {t["user_id"] for t in body}


def test_list_as_admin(client, factory):
    """An admin sees every user's tokens, or one user's with user_id."""
    alice, bob = factory.user("alice"), factory.user("bob")
    everyone = client.get(URL, headers=factory.admin.headers).json()
    assert {t["user_id"] for t in everyone} == {factory.admin.id, alice.id, bob.id}
    only_bob = client.get(URL, headers=factory.admin.headers, params={"user_id": bob.id}).json()
    assert [t["user_id"] for t in only_bob] == [bob.id]


def test_list_filters_by_state_and_revoked(client, factory):
    """state=active/inactive and revoked=true/false filter; an expired token is inactive, not revoked."""
    alice = factory.user("alice")
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    new_token(client, factory, alice, "expired", expires_at=yesterday)
    gone = new_token(client, factory, alice, "gone")
    assert client.delete(f"{URL}/{gone['id']}", headers=alice.headers).status_code == 204

    def names(**params: Any) -> list[str]:
        return [t["name"] for t in client.get(URL, headers=alice.headers, params=params).json()]

    assert names(state="active") == ["t"]
    assert names(state="inactive") == ["expired", "gone"]
    assert names(revoked="true") == ["gone"]
    assert names(revoked="false") == ["t", "expired"]
    assert names(search="GON") == ["gone"]
    expired = client.get(URL, headers=alice.headers, params={"search": "expired"}).json()[0]
    assert (expired["active"], expired["revoked"], expired["expires_at"]) == (False, False, yesterday)


# ---------------------------------------------------------------- GET /personal_access_tokens/:id, /self


@pytest.mark.parametrize("path", ["self", "1"])
def test_get_anonymous_gets_401(client, path):
    """Showing a token without a token is 401."""
    response = client.get(f"{URL}/{path}")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_get_other_users_token_as_non_admin_gets_404(client, factory):
    """Someone else's token is 404 for a non-admin, as if it did not exist."""
    alice, bob = factory.user("alice"), factory.user("bob")
    response = client.get(f"{URL}/{own_token_id(client, bob)}", headers=alice.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("path", ["9999", "abc", "-1", "9" * 30])
def test_get_unknown_token_gets_404(client, factory, path):
    """An id that names no token is 404, for an admin too."""
    response = client.get(f"{URL}/{path}", headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_get_token(client, factory):
    """A user may show their own token, an admin anyone's; the raw value is never shown."""
    alice = factory.user("alice")
    token_id = own_token_id(client, alice)
    own = client.get(f"{URL}/{token_id}", headers=alice.headers)
    assert own.status_code == 200
    body = own.json()
    assert (body["id"], body["name"], body["user_id"], body["scopes"]) == (token_id, "t", alice.id, ["api"])
    assert (body["active"], body["revoked"], body["expires_at"]) == (True, False, None)
    assert "token" not in body
    assert client.get(f"{URL}/{token_id}", headers=factory.admin.headers).json() == body


def test_get_self_is_the_requests_token(client, factory):
    """/self is the token the request came with, not another of the same user."""
    alice = factory.user("alice")
    second = new_token(client, factory, alice, "laptop")
    body = client.get(f"{URL}/self", headers={"PRIVATE-TOKEN": second["token"]}).json()
    assert (body["id"], body["name"]) == (second["id"], "laptop")


# ---------------------------------------------------------------- DELETE /personal_access_tokens/:id, /self


@pytest.mark.parametrize("path", ["self", "1"])
def test_revoke_anonymous_gets_401(client, path):
    """Revoking without a token is 401."""
    response = client.delete(f"{URL}/{path}")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_revoke_other_users_token_as_non_admin_gets_404(client, factory):
    """A non-admin cannot revoke someone else's token: 404, and the token still works."""
    alice, bob = factory.user("alice"), factory.user("bob")
    response = client.delete(f"{URL}/{own_token_id(client, bob)}", headers=alice.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert client.get("/api/v4/user", headers=bob.headers).status_code == 200


@pytest.mark.parametrize("path", ["9999", "abc"])
def test_revoke_unknown_token_gets_404(client, factory, path):
    """Revoking an id that names no token is 404."""
    response = client.delete(f"{URL}/{path}", headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_revoke_by_id_with_read_api_token_gets_403(client, factory):
    """Revoking by id is a write: a read_api token is 403 insufficient_scope."""
    reader = factory.user("reader", scopes="read_api")
    response = client.delete(f"{URL}/{own_token_id(client, reader)}", headers=reader.headers)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_revoke_own_token(client, factory):
    """A user revokes one of their tokens: 204, it is 401 on the next request, the other still works."""
    alice = factory.user("alice")
    laptop = new_token(client, factory, alice, "laptop")
    laptop_headers = {"PRIVATE-TOKEN": laptop["token"]}
    assert client.get("/api/v4/user", headers=laptop_headers).status_code == 200
    response = client.delete(f"{URL}/{laptop['id']}", headers=alice.headers)
    assert (response.status_code, response.content) == (204, b"")
    for method, url in [("get", "/api/v4/user"), ("get", "/api/v4/projects"), ("post", "/api/v4/projects")]:
        refused = client.request(method, url, headers=laptop_headers, json={"name": "p"})
        assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED), (method, url)
    shown = client.get(f"{URL}/{laptop['id']}", headers=alice.headers).json()
    assert (shown["revoked"], shown["active"]) == (True, False)
    assert client.get("/api/v4/user", headers=alice.headers).status_code == 200


def test_admin_revokes_any_token(client, factory):
    """An admin revokes another user's token; revoking it again is still 204."""
    alice = factory.user("alice")
    token_id = own_token_id(client, alice)
    assert client.delete(f"{URL}/{token_id}", headers=factory.admin.headers).status_code == 204
    assert client.get("/api/v4/user", headers=alice.headers).status_code == 401
    assert client.delete(f"{URL}/{token_id}", headers=factory.admin.headers).status_code == 204


@pytest.mark.parametrize("scopes", ["api", "read_api"])
def test_revoke_self(client, factory, scopes):
    """Any token, read_api too, may revoke itself; from then on every request with it is 401."""
    alice = factory.user("alice", scopes=scopes)
    response = client.delete(f"{URL}/self", headers=alice.headers)
    assert response.status_code == 204
    for url in ("/api/v4/user", f"{URL}/self", "/api/v4/projects"):
        refused = client.get(url, headers=alice.headers)
        assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED), url
    again = client.delete(f"{URL}/self", headers=alice.headers)
    assert (again.status_code, again.json()) == (401, UNAUTHORIZED)
    token = client.get(URL, headers=factory.admin.headers, params={"user_id": alice.id}).json()[0]
    assert (token["revoked"], token["active"]) == (True, False)


# ---------------------------------------------------------------- python-gitlab


def test_python_gitlab_lists_and_revokes(client, factory, python_gitlab):
    """python-gitlab lists, gets and revokes tokens through gl.personal_access_tokens."""
    alice = factory.user("alice")
    laptop = new_token(client, factory, alice, "laptop")
    gl = python_gitlab(alice)
    assert [t.name for t in gl.personal_access_tokens.list(get_all=True)] == ["t", "laptop"]
    assert gl.personal_access_tokens.get("self").name == "t"
    gl.personal_access_tokens.delete(laptop["id"])
    assert client.get("/api/v4/user", headers={"PRIVATE-TOKEN": laptop["token"]}).status_code == 401
    with pytest.raises(gitlab.GitlabDeleteError) as refused:
        gl.personal_access_tokens.delete(own_token_id(client, factory.admin))
    assert refused.value.response_code == 404


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
