"""End-to-end fixtures: `issuegraph serve` as a real process on a loopback port, on SQLite or PostgreSQL.

The process itself is started and stopped by issuegraph.testing.serverproc (the one harness of
tests and benchmarks); here it only becomes pytest-shaped: a server that will not start fails the
test with its log, and under CI=true an unreachable PostgreSQL fails the test instead of skipping it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from issuegraph.testing import serverproc
from issuegraph.testing.serverproc import Server
from tests.conftest import IN_CI, PG_ADMIN_URL

__all__ = [
    "ADMIN_TOKEN",
    "ISSUEGRAPH",
    "Server",
    "free_port",
    "fresh_database",
    "fresh_pg_database",
    "running_server",
]

ADMIN_TOKEN = "e2e-root-token-0123456789"
ISSUEGRAPH = serverproc.command()  # the console script beside this interpreter, or python -m
free_port = serverproc.free_port


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
    with serverproc.fresh_pg_database(PG_ADMIN_URL, "ig_e2e") as url:
        yield url


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / 'e2e.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


@contextmanager
def running_server(
    database_url: str, log_dir: Path, *, workers: int = 1, **env_vars: str
) -> Iterator[Server]:
    """Start `issuegraph serve`, wait for /-/health, yield it, stop it by its pid.
    `env_vars` are more ISSUEGRAPH_ settings, by lower-case name (log_level="info")."""
    env = {f"ISSUEGRAPH_{name.upper()}": value for name, value in env_vars.items()}
    try:
        with serverproc.running_server(
            database_url, ADMIN_TOKEN, workers=workers, log_dir=log_dir, env=env
        ) as server:
            yield server
    except serverproc.ServerError as exc:  # the server did not start: its log says why
        pytest.fail(str(exc))
