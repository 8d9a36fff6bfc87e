"""GitLab's probes: health and liveness say the process answers; readiness fails (503) while
the database is unreachable or its schema is behind the code's migrations."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from issuegraph.api.app import create_app
from issuegraph.ops.health import code_heads
from tests.api.test_unavailable import down_client, unreachable  # noqa: F401  (fixtures)


def test_health_and_liveness_answer_ok(client):
    """/-/health and /-/liveness: 200 {"status": "ok"}."""
    for path in ("/-/health", "/-/liveness"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_readiness_ok_when_database_answers_at_head(client):
    """/-/readiness: 200 with db_check and migrations_check ok."""
    response = client.get("/-/readiness")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "db_check": [{"status": "ok"}],
        "migrations_check": [{"status": "ok"}],
    }


def test_readiness_fails_when_migrations_are_behind(client, database_url):
    """A database one migration behind the code: 503, migrations_check failed, db_check ok."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '8ee573a4f34b'"))
    engine.dispose()
    response = client.get("/-/readiness")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert body["db_check"] == [{"status": "ok"}]
    assert body["migrations_check"][0]["status"] == "failed"
    assert "8ee573a4f34b" in body["migrations_check"][0]["message"]
    assert sorted(code_heads())[0] in body["migrations_check"][0]["message"]


def test_readiness_fails_while_database_is_unreachable(down_client):  # noqa: F811
    """No database: readiness 503 with db_check failed; liveness still 200."""
    response = down_client.get("/-/readiness")
    assert response.status_code == 503, response.text
    assert response.json()["status"] == "failed"
    assert response.json()["db_check"][0]["status"] == "failed"
    assert down_client.get("/-/liveness").status_code == 200


def test_probes_are_not_in_the_api_schema(settings: Any):
    """The probes are operations' endpoints, not API operations."""
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/-/")]
