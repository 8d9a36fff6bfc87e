"""Graceful shutdown: on SIGTERM the request in flight finishes (and is committed), no new
connection is taken, and the server exits cleanly."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import ADMIN_TOKEN, fresh_database, running_server

pytestmark = pytest.mark.slow

HEADERS = {"PRIVATE-TOKEN": ADMIN_TOKEN}


@contextmanager
def project_row_locked(database_url: str, project_id: int) -> Iterator[None]:
    """Hold a lock that an issue creation in the project must wait for (bounded by the test)."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the one writer's lock
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT id FROM projects WHERE id = :id FOR UPDATE"), {"id": project_id})
            yield
    finally:
        engine.dispose()


def _exited(pid: int, timeout: float) -> bool:
    """The process has ended (a zombie until the harness reaps it counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigterm_lets_the_request_in_flight_finish(kind, tmp_path):
    """A write waits on a lock; SIGTERM arrives; new connections are refused at once, the write
    completes with 201 once the lock is released, is in the database, and the server exits."""
    with fresh_database(kind, tmp_path) as database_url, running_server(database_url, tmp_path) as server:
        project = httpx.post(f"{server.api}/projects", headers=HEADERS, json={"name": "slow"}, timeout=10)
        assert project.status_code == 201
        project_id = project.json()["id"]
        outcome: dict[str, Any] = {}

        def slow_write() -> None:
            try:
                outcome["response"] = httpx.post(
                    f"{server.api}/projects/{project_id}/issues",
                    headers=HEADERS,
                    json={"title": "late"},
                    timeout=30,
                )
            except httpx.HTTPError as exc:  # reported below
                outcome["error"] = exc

        with project_row_locked(database_url, project_id):
            writer = threading.Thread(target=slow_write)
            writer.start()
            time.sleep(1.0)  # the request is in flight, waiting on the lock
            assert writer.is_alive()
            os.kill(server.pid, signal.SIGTERM)
            time.sleep(0.5)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.url}/-/health", timeout=2)
            assert writer.is_alive()  # still waiting: the server did not cut it off
            time.sleep(0.5)
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert "error" not in outcome, outcome.get("error")
        assert outcome["response"].status_code == 201, outcome["response"].text
        assert _exited(server.pid, 15), "the server did not exit after its last request"
        engine = create_engine(database_url)
        with engine.connect() as conn:
            titles = conn.execute(text("SELECT title FROM issues WHERE project_id = :p"), {"p": project_id})
            assert [row[0] for row in titles] == ["late"]
        engine.dispose()
