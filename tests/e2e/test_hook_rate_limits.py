"""GitLab's hook rate limits hold across server processes: the count is in the database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, fresh_database, running_server

pytestmark = pytest.mark.slow
PUBLIC_URL = "http://93.184.216.34/hook"  # a global address: valid, never called
TOO_MANY = {"message": {"error": "This endpoint has been requested too many times. Try again later."}}


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_two_servers_share_the_hook_create_limit(kind: str, tmp_path: Path) -> None:
    """Hook creations in one project alternate between two `issuegraph serve` processes on one
    database: the 6th within the minute is refused (429, Retry-After) whichever process takes it."""
    headers = {"PRIVATE-TOKEN": ADMIN_TOKEN}
    with (
        fresh_database(kind, tmp_path) as url,
        running_server(url, tmp_path) as first,
        running_server(url, tmp_path) as second,
    ):
        project = httpx.post(f"{first.api}/projects", headers=headers, json={"name": "p"}, timeout=30)
        assert project.status_code == 201, project.text
        answers = [
            httpx.post(
                f"{server.api}/projects/{project.json()['id']}/hooks",
                headers=headers,
                json={"url": PUBLIC_URL},
                timeout=30,
            )
            for server in (first, second, first, second, first, second)
        ]
    assert [a.status_code for a in answers] == [201] * 5 + [429]
    assert answers[-1].json() == TOO_MANY and int(answers[-1].headers["Retry-After"]) >= 1
