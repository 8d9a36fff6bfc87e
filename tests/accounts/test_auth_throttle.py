"""Failed authentication is throttled per client address (429 with Retry-After), on every face."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN

LIMIT = 5


@pytest.fixture
def throttled_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A failure limit of 5 for the settings the app is built with."""
    monkeypatch.setenv("ISSUEGRAPH_AUTH_FAILURE_LIMIT", str(LIMIT))
    monkeypatch.setenv("ISSUEGRAPH_AUTH_BAN_SECONDS", "60")
    yield


@pytest.mark.parametrize(
    ("url", "shape"),
    [("/api/v4/user", "message"), ("/user", "error_code"), ("/api/graph/v1/projects/1/ready", "error")],
)
def test_failures_beyond_the_limit_get_429_even_with_a_valid_token(
    throttled_client, client: TestClient, url, shape
):
    """Five bad tokens are 401; the sixth, and then a valid token from the same address, are 429
    with Retry-After, in the face's error shape; requests without a token are not refused."""
    for _ in range(LIMIT - 1):
        assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    refused = client.get(url, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert shape in refused.json()
    valid = client.get("/api/v4/user", headers={"PRIVATE-TOKEN": ADMIN_TOKEN})
    assert valid.status_code == 429 and "retry-after" in valid.headers
    assert client.get("/api/v4/projects").status_code == 200  # anonymous: not throttled


def test_failures_are_counted_in_the_database(throttled_client, client: TestClient, database):
    """The counter is a row of auth_throttle (shared by every worker process), not process memory."""
    from sqlalchemy import text

    for _ in range(3):
        client.get("/api/v4/user", headers={"PRIVATE-TOKEN": "bad"})
    with database.session() as session:
        rows = session.execute(text("SELECT client, failures FROM auth_throttle")).all()
    assert [tuple(r) for r in rows] == [("testclient", 3)]
