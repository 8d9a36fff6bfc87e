"""Where request code runs: greenlets on the event loop for PostgreSQL, worker threads for SQLite."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuegraph.api import runner
from tests.conftest import ADMIN_TOKEN


def test_fastapi_runs_sync_code_through_the_runner(app: Any) -> None:
    """The hook into FastAPI is in place (a FastAPI upgrade that moves it must fail here)."""
    assert runner.installed()


def test_requests_use_threads_only_on_sqlite(
    own_app: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = runner.run_in_threadpool

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(runner, "run_in_threadpool", counting)
    loop_thread: list[int] = []

    @own_app.get("/-/test-thread")  # an app of its own: the session's app keeps no test route
    def where() -> dict[str, int]:
        loop_thread.append(threading.get_ident())
        return {}

    headers = {"PRIVATE-TOKEN": ADMIN_TOKEN}
    with TestClient(own_app) as client:
        assert client.get("/api/v4/user", headers=headers).status_code == 200
        created = client.post("/api/v4/projects", headers=headers, json={"name": "runner"})
        assert created.status_code == 201
        assert client.get("/-/test-thread").status_code == 200
    if database_url.startswith("sqlite"):
        assert threads  # SQLite's driver blocks: its requests run in worker threads
    else:
        assert threads == []  # PostgreSQL: every endpoint and dependency ran in a greenlet
        portal_threads = {t.ident for t in threading.enumerate() if t.name.startswith("AnyIO worker")}
        assert loop_thread[0] not in portal_threads
