"""The failed-authentication throttle holds across worker processes of a real server."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, fresh_database, running_server

LIMIT = 30  # ISSUEGRAPH_AUTH_FAILURE_LIMIT's default


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_throttle_is_shared_by_two_workers(kind, tmp_path):
    """30 bad tokens from one address over fresh connections (spread over both workers) bring
    429 with Retry-After, for a valid token too; another address is untouched."""
    with fresh_database(kind, tmp_path) as url, running_server(url, tmp_path, workers=2) as server:
        attacker = {"X-Forwarded-For": "203.0.113.7"}  # uvicorn trusts it from 127.0.0.1
        statuses = []
        for _ in range(LIMIT + 5):
            with httpx.Client(timeout=10) as client:  # a new connection each time
                statuses.append(
                    client.get(f"{server.api}/user", headers={**attacker, "PRIVATE-TOKEN": "bad"}).status_code
                )
        assert statuses[: LIMIT - 1] == [401] * (LIMIT - 1)
        assert set(statuses[LIMIT - 1 :]) == {429}, statuses
        valid = httpx.get(
            f"{server.api}/user", headers={**attacker, "PRIVATE-TOKEN": ADMIN_TOKEN}, timeout=10
        )
        assert valid.status_code == 429 and int(valid.headers["retry-after"]) >= 1
        other = {"X-Forwarded-For": "198.51.100.1", "PRIVATE-TOKEN": ADMIN_TOKEN}
        assert httpx.get(f"{server.api}/user", headers=other, timeout=10).status_code == 200
