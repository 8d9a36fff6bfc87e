"""Faults a test may cause on the shared PostgreSQL server: terminate a database's backends,
stop and start the whole server. Every wait is bounded."""

from __future__ import annotations

import shutil
import subprocess
import time

from sqlalchemy import create_engine, make_url, text

from tests.conftest import PG_ADMIN_URL

CLUSTER = ("15", "main")


def terminate_backends(database_url: str) -> int:
    """pg_terminate_backend every connection to the database of `database_url` and wait (5 s at
    most) until each backend has exited; how many."""
    name = make_url(database_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar()
    finally:
        admin.dispose()
    return int(killed or 0)


def can_control_cluster() -> str | None:
    """None when this process may stop and start the PostgreSQL cluster, else why not."""
    if shutil.which("pg_ctlcluster") is None:
        return "pg_ctlcluster is not installed"
    status = subprocess.run(["pg_ctlcluster", *CLUSTER, "status"], capture_output=True, timeout=30)
    if status.returncode != 0:
        return f"cluster {'/'.join(CLUSTER)} is not running here: {status.stdout.decode()}"
    return None


def stop_cluster() -> None:
    subprocess.run(["pg_ctlcluster", *CLUSTER, "stop", "-m", "fast"], check=True, timeout=60)


def start_cluster() -> None:
    """Start the cluster and wait until it accepts connections (bounded)."""
    subprocess.run(["pg_ctlcluster", *CLUSTER, "start"], check=True, timeout=60)
    deadline = time.monotonic() + 30
    while True:
        try:
            engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
