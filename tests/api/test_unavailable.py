"""While the database is unreachable every face answers 503 with Retry-After in its own error
shape, never 500; after pooled connections die, requests succeed again with no restart."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuegraph.api.app import create_app
from issuegraph.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import free_port
from tests.reliability.faults import terminate_backends

HEADERS = {"PRIVATE-TOKEN": ADMIN_TOKEN}


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    """Settings of a database nobody can reach: a closed port, or a file in a missing folder."""
    if request.param == "postgresql":
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/gone"
    else:
        url = f"sqlite:///{tmp_path / 'missing' / 'gone.db'}"
    return Settings(database_url=url, db_connect_timeout=2, retry_after=3)


@pytest.fixture
def down_client(unreachable: Settings) -> Any:
    app = create_app(unreachable)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_gitlab_face_answers_503_message(down_client):
    """GitLab: 503 `{"message": ...}` with Retry-After."""
    response = down_client.get("/api/v4/projects", headers=HEADERS)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "3"
    assert list(response.json()) == ["message"] and response.json()["message"].startswith("503")


def test_sourcecraft_face_answers_503_in_its_shape(down_client):
    """SourceCraft: 503 `{error_code: Unavailable, message, request_id, details}`, request id = header."""
    response = down_client.get("/repos/acme/api/issues", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert set(body) == {"error_code", "message", "request_id", "details"}
    assert body["error_code"] == "Unavailable"
    assert body["request_id"] == response.headers["x-request-id"]


def test_native_face_answers_503_in_its_shape(down_client):
    """Native graph API: 503 `{"error": {code, message, details}}` with Retry-After."""
    response = down_client.get("/api/graph/v1/projects/1/issues/1/blockers", headers=HEADERS)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == "database_unavailable"


def test_anonymous_request_answers_503_too(down_client):
    """A request without a token also needs the database, and gets the same 503."""
    response = down_client.get("/api/v4/projects")
    assert response.status_code == 503, response.text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server
def test_requests_succeed_after_their_connections_were_terminated(client, database_url):
    """pg_terminate_backend of every pooled connection between requests: the next requests,
    authenticated reads and writes, succeed at once (nothing dead is handed out)."""
    project = client.post("/api/v4/projects", headers=HEADERS, json={"name": "p"})
    assert project.status_code == 201
    for _ in range(3):
        for _ in range(4):  # several pooled connections
            assert client.get("/api/v4/projects", headers=HEADERS).status_code == 200
        assert terminate_backends(database_url) >= 1
        made = client.post(
            f"/api/v4/projects/{project.json()['id']}/issues", headers=HEADERS, json={"title": "t"}
        )
        assert made.status_code == 201, made.text
        assert client.get("/api/v4/projects", headers=HEADERS).status_code == 200
