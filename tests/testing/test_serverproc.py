"""The one server-process harness: a server that cannot start is a clear error, a healthy one is stopped."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import pytest

from issuegraph.testing import serverproc

pytestmark = pytest.mark.slow


def test_a_server_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    """A database URL nobody can open: ServerError (not a hang), with the server's own output."""
    with (
        pytest.raises(serverproc.ServerError) as failed,
        serverproc.running_server("nosuchdriver://nowhere/db", "t0ken-0123456789", log_dir=tmp_path),
    ):
        pytest.fail("the server should not have started")
    assert "server exited" in str(failed.value)
    assert "nosuchdriver" in str(failed.value)  # the log says why


def test_a_healthy_server_answers_and_is_stopped(tmp_path: Path) -> None:
    """On SQLite: /-/health answers inside the block; after it the process is gone."""
    database = f"sqlite:///{tmp_path / 'proc.db'}"
    with serverproc.running_server(database, "t0ken-0123456789", log_dir=tmp_path) as server:
        with urllib.request.urlopen(f"{server.url}/-/health", timeout=5) as answer:
            assert answer.status == 200
        pid = server.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_worker_runs_beside_a_no_deliver_server_until_stopped(tmp_path: Path) -> None:
    """`running_process(["worker"])` beside `deliver=False`: both run with their own logs and pids;
    `kill()` ends the worker at once, the server is stopped after the block."""
    database = f"sqlite:///{tmp_path / 'proc.db'}"
    with (
        serverproc.running_server(database, "t0ken-0123456789", deliver=False, log_dir=tmp_path) as server,
        serverproc.running_process(["worker"], database, log_dir=tmp_path) as worker,
    ):
        assert worker.pid != server.pid and worker.log_path != server.log_path
        os.kill(worker.pid, 0)  # running
        worker.kill()
        assert worker.popen.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)


AUTOGROUP_ENABLED = Path("/proc/sys/kernel/sched_autogroup_enabled")


def test_a_worker_started_with_nice_runs_at_that_lower_priority(tmp_path: Path) -> None:
    """`issuegraph worker --nice 7`: the process's niceness is its parent's plus 7 (what the
    kernel reports in /proc/<pid>/stat), and it delivers as usual until stopped."""
    database = f"sqlite:///{tmp_path / 'nice.db'}"
    with (
        serverproc.running_server(database, "t0ken-0123456789", deliver=False, log_dir=tmp_path),
        serverproc.running_process(["worker", "--nice", "7"], database, log_dir=tmp_path) as worker,
    ):
        deadline = time.monotonic() + 20
        niceness = os.getpriority(os.PRIO_PROCESS, worker.pid)
        while niceness != os.nice(0) + 7 and time.monotonic() < deadline:
            time.sleep(0.1)  # the process lowers its priority as it starts
            niceness = os.getpriority(os.PRIO_PROCESS, worker.pid)
        assert niceness == os.nice(0) + 7
        os.kill(worker.pid, 0)  # still running
        if AUTOGROUP_ENABLED.exists() and AUTOGROUP_ENABLED.read_text().strip() == "1":
            # Autogroup on: the worker leads its session (running_process starts one), so its
            # session's group is lowered too, or its niceness would rank it against nothing.
            assert Path(f"/proc/{worker.pid}/autogroup").read_text().split()[-2:] == ["nice", "7"]


def test_worker_refuses_a_niceness_out_of_range(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'nice.db'}"
    with serverproc.running_process(["worker", "--nice", "20"], database, log_dir=tmp_path) as worker:
        assert worker.popen.wait(timeout=30) == 2  # a usage error, before anything runs
    assert "--nice" in worker.log_path.read_text()
