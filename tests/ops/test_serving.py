"""`issuegraph serve --workers 2` as operators run it: metrics summed over the workers, JSON
access logs whose request id is the response's X-Request-Id, and no token or password in them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ADMIN_TOKEN, Server, fresh_database, running_server

pytestmark = pytest.mark.slow

REQUESTS = 40
PASSWORD = "Very-Secret-Password-0451"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"serving-{request.param}")
    with (
        fresh_database(request.param, tmp) as database_url,
        running_server(database_url, tmp, workers=2, log_level="info", log_format="auto") as running,
    ):
        yield running


@pytest.fixture(scope="module")
def traffic(server: Server) -> list[httpx.Response]:
    """REQUESTS reads, each on a new connection (so both workers serve), with the token sent
    three ways, one failed login with a wrong token, one user created with a password."""
    responses = []
    ways = [
        {"headers": {"PRIVATE-TOKEN": ADMIN_TOKEN}},
        {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}},
        {"params": {"private_token": ADMIN_TOKEN}},
    ]
    for n in range(REQUESTS):
        responses.append(httpx.get(f"{server.api}/projects", timeout=10, **ways[n % 3]))  # type: ignore[arg-type]
    bad = httpx.get(f"{server.api}/projects", headers={"PRIVATE-TOKEN": "wrong-" + ADMIN_TOKEN}, timeout=10)
    user = httpx.post(
        f"{server.api}/users",
        headers={"PRIVATE-TOKEN": ADMIN_TOKEN},
        json={"username": "pw", "name": "Pw", "email": "pw@example.test", "password": PASSWORD},
        timeout=10,
    )
    return [*responses, bad, user]


def _access_lines(log_path: Path) -> list[dict]:
    lines = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "issuegraph.access":
                lines.append(entry)
    return lines


def test_metrics_sum_all_workers(server, traffic):
    """Every scrape, whichever worker answers it, counts all REQUESTS reads (multiprocess mode),
    and the reads were served by both workers."""
    route = {"method": "GET", "route": "/api/v4/projects", "status": "200"}
    counts = set()
    for _ in range(6):
        text = httpx.get(f"{server.url}/-/metrics", timeout=10).text
        samples = [
            s
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "issuegraph_http_requests_total" and s.labels == route
        ]
        counts.add(sum(s.value for s in samples))
    assert counts == {float(REQUESTS)}, counts
    workers = {e["pid"] for e in _access_lines(server.log_path) if e["route"] == "/api/v4/projects"}
    assert len(workers) == 2, workers


def test_access_log_is_json_with_the_response_request_id(server, traffic):
    """Stdout is not a terminal: one JSON line per request, its request_id the X-Request-Id,
    with method, route, status, duration and user id."""
    by_id = {e["request_id"]: e for e in _access_lines(server.log_path)}
    for response in traffic:
        entry = by_id[response.headers["x-request-id"]]
        assert entry["method"] == response.request.method
        assert entry["status"] == response.status_code
        assert entry["duration_ms"] > 0
        assert entry["route"] in ("/api/v4/projects", "/api/v4/users")
    assert by_id[traffic[0].headers["x-request-id"]]["user_id"] == 1
    assert "user_id" not in by_id[traffic[REQUESTS].headers["x-request-id"]]  # the wrong token


def test_logs_hold_no_token_or_password(server, traffic):
    """Neither the token (sent as header, bearer and query parameter), nor a wrong token, nor
    a password appears anywhere in the server's output."""
    log = server.log_path.read_text(errors="replace")
    assert len(_access_lines(server.log_path)) >= REQUESTS
    assert ADMIN_TOKEN not in log
    assert PASSWORD not in log
    assert "private_token" not in log
