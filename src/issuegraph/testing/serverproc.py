"""Start `issuegraph serve` as a real process on a loopback port, for end-to-end tests and benchmarks.

The one harness (tests/e2e, tests/web, tests/links and bench/ use it): a free port on 127.0.0.1,
a clean environment (no ISSUEGRAPH_* variable leaks in from the caller's), the server's output in
a log file, a bounded wait for /-/health, and a stop by pid (terminate, then kill its process
group after a timeout). `running_process` runs another subcommand (`issuegraph worker`) the same
way, without the health wait. It lives in the package rather than under tests/ so a benchmark script can
import it without touching sys.path; it needs nothing beyond the server's own dependencies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ServerError(RuntimeError):
    """The server exited or did not answer /-/health in time; the message carries its log."""


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    pid: int
    log_path: Path

    @property
    def api(self) -> str:
        """The GitLab face's base URL."""
        return f"{self.url}/api/v4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command() -> list[str]:
    """The console script beside the running interpreter; `python -m issuegraph.cli` otherwise."""
    script = Path(sys.executable).with_name("issuegraph")
    return [str(script)] if script.exists() else [sys.executable, "-m", "issuegraph.cli"]


@contextmanager
def fresh_pg_database(admin_url: str, prefix: str = "ig_proc") -> Iterator[str]:
    """A new, empty PostgreSQL database of our own (created through `admin_url`), dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # pre_ping: the server may have restarted since CREATE (the outage tests restart it)
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str, attempts: int = 10) -> None:
    """Drop the database, waiting (bounded) while the shared server restarts."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)


@dataclass(frozen=True)
class Process:
    """Another `issuegraph` subcommand running beside a server (`issuegraph worker`, say)."""

    pid: int
    log_path: Path
    popen: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL, no clean-up in the process: what a crash looks like. Waits until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)


@contextmanager
def running_server(
    database_url: str,
    admin_token: str,
    *,
    workers: int = 1,
    migrate: bool = True,
    deliver: bool = True,
    log_dir: Path | None = None,
    log_level: str = "warning",
    env: Mapping[str, str] | None = None,
    program: Sequence[str] | None = None,
) -> Iterator[Server]:
    """Start the server on `database_url`, wait until it is healthy, yield it, stop it by its pid.
    `migrate=False` and `deliver=False` pass `--no-migrate` and `--no-deliver` (a second server on a
    migrated database; webhooks left to an `issuegraph worker` from `running_process`). `env` adds
    ISSUEGRAPH_* settings; the log goes to `log_dir` (a temporary directory when none is given),
    which is also the server's working directory (where a first start writes initial_root_password).
    `program` runs another build's `issuegraph` instead of this one's (a benchmark's "before")."""
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if not migrate:
        args.append("--no-migrate")
    if not deliver:
        args.append("--no-deliver")
    with _started(args, database_url, admin_token, log_dir, log_level, env, f"server-{port}", program) as (
        proc,
        log,
    ):
        server = Server(f"http://127.0.0.1:{port}", database_url, proc.pid, log)
        _wait_healthy(proc, server)
        yield server


@contextmanager
def running_process(
    args: Sequence[str],
    database_url: str,
    *,
    admin_token: str = "",
    log_dir: Path | None = None,
    log_level: str = "warning",
    env: Mapping[str, str] | None = None,
) -> Iterator[Process]:
    """Run `issuegraph *args` (`["worker"]`) with the same clean environment and log handling as
    `running_server`, yield it without waiting for anything, stop it by its pid."""
    name = f"{args[0]}-{time.monotonic_ns()}"
    with _started(list(args), database_url, admin_token, log_dir, log_level, env, name) as (proc, log):
        yield Process(proc.pid, log, proc)


@contextmanager
def _started(
    args: list[str],
    database_url: str,
    admin_token: str,
    log_dir: Path | None,
    log_level: str,
    env: Mapping[str, str] | None,
    name: str,
    program: Sequence[str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    with ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="issuegraph-server-")))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
        environment.update(ISSUEGRAPH_DATABASE_URL=database_url, ISSUEGRAPH_LOG_LEVEL=log_level)
        if admin_token:
            environment["ISSUEGRAPH_ADMIN_TOKEN"] = admin_token
        environment.update(env or {})  # the caller's settings win (a log level, say)
        log_path = log_dir / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*(program or command()), *args],
                env=environment,
                cwd=log_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers stop with it
            )
        try:
            yield proc, log_path
        finally:
            _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"server exited with {proc.returncode}:\n{_log(server)}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ServerError(f"server not healthy after {START_TIMEOUT:.0f} s:\n{_log(server)}")


def _log(server: Server) -> str:
    return server.log_path.read_text(errors="replace")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)
