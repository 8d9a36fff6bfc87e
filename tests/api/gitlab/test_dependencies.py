"""What every GitLab route shares (api/gitlab/dependencies.py and the actor): how tokens are sent,
expired, revoked and scoped; the write-scope check comes before the request is read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from issuegraph.db.models import PersonalAccessToken
from tests.api.gitlab.conftest import UNAUTHORIZED

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
    response = client.post(
        "/api/v4/users",
        headers=admin.headers,
        json={"username": "alice", "name": "Alice", "email": "alice@example.test"},
    )
    assert response.status_code == 403


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
