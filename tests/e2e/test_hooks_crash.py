"""Delivery survives `kill -9`: two servers write 1,000 events, the worker is killed mid-way and
restarted; every event arrives, and the only duplicates are attempts the kill cut off.

PostgreSQL: `issuegraph serve --no-deliver` twice, `issuegraph worker` apart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from issuegraph.events.delivery import CLAIM_BATCH
from issuegraph.testing.serverproc import Process, running_process, running_server
from tests.e2e.conftest import fresh_pg_database
from tests.events.fastreceiver import fast_receiver

pytestmark = pytest.mark.slow
TOKEN = "e2e-crash-token-0123456789"
EVENTS = 1000
ENV = {"ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL": "true", "ISSUEGRAPH_WEBHOOKS_TIMEOUT": "1"}


@contextmanager
def server(url: str, log_dir: Path, migrate: bool) -> Iterator[str]:
    """`issuegraph serve --no-deliver`, healthy; `migrate=False` adds `--no-migrate`."""
    with running_server(url, TOKEN, migrate=migrate, deliver=False, log_dir=log_dir, env=ENV) as started:
        yield started.url


def worker(url: str, log_dir: Path) -> AbstractContextManager[Process]:
    return running_process(["worker"], url, log_dir=log_dir, env=ENV)


def _create_issues(bases: list[str], project_id: int, errors: list[str]) -> None:
    lock = threading.Lock()
    todo = list(range(EVENTS))

    def work(base: str) -> None:
        with httpx.Client(base_url=base, headers={"PRIVATE-TOKEN": TOKEN}, timeout=30) as client:
            while True:
                with lock:
                    if not todo:
                        return
                    n = todo.pop()
                response = client.post(f"/api/v4/projects/{project_id}/issues", json={"title": f"e{n}"})
                if response.status_code != 201:
                    errors.append(response.text)

    threads = [threading.Thread(target=work, args=(bases[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _states(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT state, count(*) FROM webhook_deliveries GROUP BY state")).all()
    return dict(rows)


def test_kill_9_of_the_worker_loses_nothing(tmp_path: Path) -> None:
    """1,000 events, worker killed with SIGKILL mid-way, restarted: all delivered; duplicates only
    for attempts in flight at the kill (re-sent with the same Idempotency-Key, attempt 2)."""
    with (
        fresh_pg_database() as url,
        fast_receiver() as receiver,
        server(url, tmp_path, migrate=True) as first,
        server(url, tmp_path, migrate=False) as second,
    ):
        with httpx.Client(base_url=first, headers={"PRIVATE-TOKEN": TOKEN}, timeout=30) as api:
            project = api.post("/api/v4/projects", json={"name": "crash", "path": "crash"}).json()
            hook = api.post(
                f"/api/v4/projects/{project['id']}/hooks", json={"url": receiver.url, "issues_events": True}
            )
        assert hook.status_code == 201, hook.text
        errors: list[str] = []
        writer = threading.Thread(target=_create_issues, args=([first, second], project["id"], errors))
        with worker(url, tmp_path) as killed:
            writer.start()
            deadline = time.monotonic() + 120
            while receiver.count() < 300:
                assert time.monotonic() < deadline, f"only {receiver.count()} delivered before the kill"
                time.sleep(0.01)
            killed.kill()  # SIGKILL mid-round: claims leased, some sent, none recorded
            at_kill = receiver.count()
        writer.join(timeout=180)
        assert not errors and not writer.is_alive()
        engine = create_engine(url)
        try:
            with worker(url, tmp_path):
                # Done when the outbox says so: a delivery the killed worker sent but never
                # recorded stays leased until its lease runs out, then goes again (attempt 2).
                deadline = time.monotonic() + 150
                while (states := _states(engine)) != {"delivered": EVENTS}:
                    assert time.monotonic() < deadline, f"not every event was delivered: {states}"
                    time.sleep(0.2)
                time.sleep(0.5)  # a late copy still on the wire lands before counting
            hits = receiver.snapshot()
        finally:
            engine.dispose()
    keys = Counter(h.headers["idempotency-key"] for h in hits)
    attempts: dict[str, list[str]] = defaultdict(list)
    for h in hits:
        attempts[h.headers["idempotency-key"]].append(h.headers.get("x-issuegraph-attempt", "?"))
    duplicated = {k: attempts[k] for k, n in keys.items() if n > 1}
    print(
        f"\n{EVENTS} events, {len(hits)} requests, {len(keys)} distinct, {len(duplicated)} duplicated; "
        f"{at_kill} received before the kill"
    )
    assert len(keys) == EVENTS and states == {"delivered": EVENTS}
    # A duplicate is an attempt the kill cut off after the receiver had it but before the
    # worker recorded it: at most one claimed round, and its copy is a later attempt.
    assert len(duplicated) <= CLAIM_BATCH
    assert all(sorted(a) == [str(n) for n in range(1, len(a) + 1)] for a in duplicated.values()), duplicated
