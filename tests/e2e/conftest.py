"""End-to-end fixtures: `issuegraph serve` as a real process on a loopback port, on SQLite or PostgreSQL.

Every wait is bounded; the server is stopped by its pid (terminate, then kill after a timeout).
Under CI=true an unreachable PostgreSQL fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import IN_CI, PG_ADMIN_URL

ADMIN_TOKEN = "e2e-root-token-0123456789"
# The console script of the interpreter running the tests; `python -m issuegraph.cli` otherwise.
_SCRIPT = Path(sys.executable).with_name("issuegraph")
ISSUEGRAPH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "issuegraph.cli"]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass
class Server:
    url: str
    database_url: str
    pid: int
    log_path: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api/v4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_postgres() -> None:
    """Skip (locally) or fail (under CI=true) when PostgreSQL cannot be reached."""
    try:
        engine = create_engine(
            PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any connection problem means "not available"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database of our own, dropped afterwards."""
    require_postgres()
    name = f"ig_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / 'e2e.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group: its workers too
        proc.wait(timeout=STOP_TIMEOUT)


@contextmanager
def running_server(
    database_url: str, log_dir: Path, *, workers: int = 1, **env_vars: str
) -> Iterator[Server]:
    """Start `issuegraph serve`, wait for /-/health, yield it, stop it by its pid.
    `env_vars` are more ISSUEGRAPH_ settings, by lower-case name (log_level="info")."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env.update(
        ISSUEGRAPH_DATABASE_URL=database_url,
        ISSUEGRAPH_ADMIN_TOKEN=ADMIN_TOKEN,
        ISSUEGRAPH_LOG_LEVEL="warning",
    )
    env.update({f"ISSUEGRAPH_{name.upper()}": value for name, value in env_vars.items()})
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*ISSUEGRAPH, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=log_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(
        url=f"http://127.0.0.1:{port}", database_url=database_url, pid=proc.pid, log_path=log_path
    )
    try:
        _wait_healthy(proc, server, log_path)
        yield server
    finally:
        _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], server: Server, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/-/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server not healthy after {START_TIMEOUT}s:\n{log_path.read_text(errors='replace')}")
