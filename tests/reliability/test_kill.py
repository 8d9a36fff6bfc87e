"""kill -9 under link-creating load, on SQLite and PostgreSQL: a killed worker is replaced and
the whole server, killed, restarts on its database; every link the server acknowledged (201)
is there afterwards with its one event and its two system notes, and no 500 was answered."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, fresh_database, running_server
from tests.reliability.load import Load, build_world, missing_links

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

ISSUES_PER_PROJECT = 60  # 3,600 distinct pairs: more than a few seconds of load can link


def workers_of(parent: int) -> set[int]:
    """The uvicorn worker processes (spawned children) of the server process `parent`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X") and b"spawn_main" in cmdline:
            found.add(int(stat.parent.name))
    return found


def wait_for(condition, timeout: float) -> float | None:
    """Seconds until `condition()` held, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def assert_all_acknowledged_present(database_url: str, load: Load) -> dict:
    found = missing_links(database_url, load.acked)
    assert load.acked, "the load made no link"
    assert found["absent"] == [], f"{len(found['absent'])} of {len(load.acked)} acknowledged links lost"
    assert found["events_off"] == [] and found["notes_off"] == {}, found
    return found


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kill_9_of_a_worker_loses_no_acknowledged_link(kind, tmp_path):
    """One of two workers killed with SIGKILL mid-load: it is replaced, the other keeps serving,
    nothing acknowledged is lost, no 500 (only the killed worker's open requests see no answer)."""
    with (
        fresh_database(kind, tmp_path) as database_url,
        running_server(database_url, tmp_path, workers=2) as server,
    ):
        world = build_world(server.url, ADMIN_TOKEN, ISSUES_PER_PROJECT)
        assert wait_for(lambda: len(workers_of(server.pid)) == 2, 30) is not None
        with Load(world, writers=4, readers=1) as load:
            time.sleep(1.5)
            victim = min(workers_of(server.pid))
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            replaced = wait_for(
                lambda: len(workers_of(server.pid) - {victim}) == 2 and victim not in workers_of(server.pid),
                30,
            )
            time.sleep(2.0)
        assert replaced is not None, "the killed worker was not replaced"
        statuses = load.statuses()
        assert statuses[500] == 0, statuses
        assert load.statuses(killed_at + replaced + 1.0)[201] > 0  # links are made after the kill
        found = assert_all_acknowledged_present(database_url, load)
    print(
        f"{kind}: worker replaced in {replaced:.2f}s; {len(load.acked)} of {len(load.acked)} acknowledged"
        f" links present ({found['links']} in the database); answers {dict(statuses)}"
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kill_9_of_the_whole_server_loses_no_acknowledged_link(kind, tmp_path):
    """The server and its workers killed with SIGKILL mid-load, then started again on the same
    database: every acknowledged link is there with one event and two notes, and it serves."""
    with fresh_database(kind, tmp_path) as database_url:
        with running_server(database_url, tmp_path, workers=2) as server:
            world = build_world(server.url, ADMIN_TOKEN, ISSUES_PER_PROJECT)
            load = Load(world, writers=4, readers=1).start()
            try:
                time.sleep(2.5)
                os.killpg(server.pid, signal.SIGKILL)  # the server's process group: every worker
                time.sleep(0.5)
            finally:
                load.stop()
        statuses = load.statuses()
        assert statuses[500] == 0, statuses
        with running_server(database_url, tmp_path, workers=2) as again:
            found = assert_all_acknowledged_present(database_url, load)
            world.base = again.url
            with Load(world, writers=2, readers=1) as after:
                time.sleep(1.0)
            assert after.statuses()[201] > 0 and set(after.statuses()) <= {200, 201}, after.statuses()
    print(
        f"{kind}: {len(load.acked)} of {len(load.acked)} acknowledged links present after kill -9 of the"
        f" server ({found['links']} in the database); answers before the kill {dict(statuses)}"
    )
