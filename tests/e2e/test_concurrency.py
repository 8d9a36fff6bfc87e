"""Concurrent link creation on PostgreSQL against `issuegraph serve --workers 2`.

20 simultaneous POSTs that link the same pair, half A->B and half B->A, must give exactly one
201 and nineteen 409s (never a 500), and leave exactly one row: the unordered-pair unique
constraint decides the race. Under CI=true an unreachable PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import ADMIN_TOKEN, Server, fresh_pg_database, running_server

pytestmark = pytest.mark.slow

REQUESTS = 20
HEADERS = {"PRIVATE-TOKEN": ADMIN_TOKEN}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e-concurrency")
    with fresh_pg_database() as database_url, running_server(database_url, tmp, workers=2) as running:
        yield running


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def pairs(server: Server) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Three pairs of issues, each pair across two projects."""
    with httpx.Client(base_url=server.api, headers=HEADERS, timeout=30) as client:
        first = _post(client, "/projects", {"name": "first"})
        second = _post(client, "/projects", {"name": "second"})
        return [
            (
                _post(client, f"/projects/{first['id']}/issues", {"title": f"a{n}"}),
                _post(client, f"/projects/{second['id']}/issues", {"title": f"b{n}"}),
            )
            for n in range(3)
        ]


def _race(server: Server, a: dict[str, Any], b: dict[str, Any], link_types: list[str]) -> list[int]:
    """Fire REQUESTS link requests at once, alternating A->B and B->A; return their status codes."""
    barrier = threading.Barrier(REQUESTS, timeout=30)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        source, target = (a, b) if n % 2 == 0 else (b, a)
        body = {
            "target_project_id": target["project_id"],
            "target_issue_iid": target["iid"],
            "link_type": link_types[n % len(link_types)],
        }
        url = f"{server.api}/projects/{source['project_id']}/issues/{source['iid']}/links"
        try:
            with httpx.Client(headers=HEADERS, timeout=30) as client:
                client.get(f"{server.url}/-/health")  # connect before the barrier
                barrier.wait()
                response = client.post(url, json=body)
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request did not finish in time"
    assert not errors, errors
    return statuses


def _rows(server: Server, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, ...]]:
    engine = create_engine(server.database_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT source_id, target_id, link_type FROM issue_links"
                    " WHERE (source_id = :a AND target_id = :b) OR (source_id = :b AND target_id = :a)"
                ),
                {"a": a["id"], "b": b["id"]},
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("index", "link_types"),
    [(0, ["relates_to"]), (1, ["blocks", "is_blocked_by"]), (2, ["relates_to", "blocks", "is_blocked_by"])],
)
def test_same_pair_both_directions_one_wins(server, pairs, index, link_types):
    """20 concurrent links of one pair in both directions: exactly one 201, nineteen 409, one row."""
    a, b = pairs[index]
    statuses = _race(server, a, b, link_types)
    assert Counter(statuses) == {201: 1, 409: REQUESTS - 1}, Counter(statuses)
    assert len(_rows(server, a, b)) == 1
    with httpx.Client(headers=HEADERS, timeout=30) as client:
        for issue in (a, b):
            listed = client.get(
                f"{server.api}/projects/{issue['project_id']}/issues/{issue['iid']}/links"
            ).json()
            assert len(listed) == 1
            notes = client.get(
                f"{server.api}/projects/{issue['project_id']}/issues/{issue['iid']}/notes"
            ).json()
            assert len([n for n in notes if n["system"]]) == 1  # the losers wrote no notes


def test_a_write_is_visible_once_answered(server):
    """The transaction commits before the response is sent: a read right after a 201 sees the write."""
    with (
        httpx.Client(base_url=server.api, headers=HEADERS, timeout=30) as writer,
        httpx.Client(base_url=server.api, headers=HEADERS, timeout=30) as reader,
    ):
        project = _post(writer, "/projects", {"name": "read-your-writes"})
        misses = []
        for n in range(60):
            issue = _post(writer, f"/projects/{project['id']}/issues", {"title": f"r{n}"})
            response = reader.get(f"/projects/{project['id']}/issues/{issue['iid']}")
            if response.status_code != 200:
                misses.append((issue["iid"], response.status_code))
    assert misses == []


def test_concurrent_issue_creation_hands_out_each_iid_once(server):
    """20 issues created at once in one project get iids 1..20, each exactly once."""
    with httpx.Client(base_url=server.api, headers=HEADERS, timeout=30) as client:
        project = _post(client, "/projects", {"name": "busy"})
    barrier = threading.Barrier(REQUESTS, timeout=30)
    iids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        try:
            with httpx.Client(base_url=server.api, headers=HEADERS, timeout=30) as client:
                client.get(f"{server.url}/-/health")
                barrier.wait()
                body = _post(client, f"/projects/{project['id']}/issues", {"title": f"c{n}"})
            with lock:
                iids.append(body["iid"])
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(iids) == list(range(1, REQUESTS + 1))


def test_server_log_has_no_errors(server):
    """No request of the races ended in an unhandled error."""
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log
