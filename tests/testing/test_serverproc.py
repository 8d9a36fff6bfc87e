"""The one server-process harness: a server that cannot start is a clear error, a healthy one is stopped."""

from __future__ import annotations

import os
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
