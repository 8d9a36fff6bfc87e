"""Backups: `issuegraph backup` / `restore` for SQLite (online backup API, consistent while the
server writes), pg_dump / pg_restore for PostgreSQL; a restored database answers the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import ADMIN_TOKEN, ISSUEGRAPH, fresh_pg_database, running_server
from tests.reliability.load import Load, World, build_world, missing_links

pytestmark = pytest.mark.slow

HEADERS = {"PRIVATE-TOKEN": ADMIN_TOKEN}


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env["ISSUEGRAPH_DATABASE_URL"] = database_url
    return subprocess.run([*ISSUEGRAPH, *args], env=env, capture_output=True, text=True, timeout=120)


def link_ids(database_url: str) -> set[int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT id FROM issue_links"))}
    finally:
        engine.dispose()


def answers(base: str, world: World) -> str:
    """What a reader sees (the server's own address left out): the projects, and for ten
    issues their links and notes (GitLab) and their blockers (graph API)."""
    seen: list[Any] = []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        seen.append(client.get("/api/v4/projects", params={"order_by": "id", "sort": "asc"}).json())
        for issue in world.issues[0][:10]:
            where = f"projects/{issue['project_id']}/issues/{issue['iid']}"
            seen.append(client.get(f"/api/v4/{where}/links").json())
            seen.append(client.get(f"/api/v4/{where}/notes", params={"sort": "asc"}).json())
            seen.append(client.get(f"/api/graph/v1/{where}/blockers").json())
    return json.dumps(seen).replace(base, "http://server")


def test_sqlite_backup_while_the_server_writes_is_consistent_and_restores(tmp_path):
    """A backup taken under link-creating load is sound and one snapshot (each link in it has
    its event and both notes; it holds every link acknowledged before it began); restored into
    a new file, the server answers exactly as the original did."""
    database_url = f"sqlite:///{tmp_path / 'live.db'}"
    copy = tmp_path / "copy.db"
    with running_server(database_url, tmp_path) as server:
        world = build_world(server.url, ADMIN_TOKEN, issues_per_project=30)
        with Load(world, writers=3, readers=1) as load:
            time.sleep(1.5)
            acked_before = len(load.acked)
            done = cli(database_url, "backup", str(copy))
            time.sleep(1.0)
            acked_all = len(load.acked)
        assert done.returncode == 0, done.stderr
        snapshot = missing_links(f"sqlite:///{copy}", load.acked[:acked_before])
        assert snapshot["absent"] == [] and snapshot["events_off"] == [] and snapshot["notes_off"] == {}, (
            snapshot
        )
        assert link_ids(f"sqlite:///{copy}") <= link_ids(database_url)
        assert acked_before <= snapshot["links"] <= acked_all + 3, snapshot  # + the writers' in flight
        quiet = tmp_path / "quiet.db"
        assert cli(database_url, "backup", str(quiet)).returncode == 0
        original = answers(server.url, world)
    restored_url = f"sqlite:///{tmp_path / 'restored' / 'issuegraph.db'}"
    put_back = cli(restored_url, "restore", str(quiet), "--yes")
    assert put_back.returncode == 0, put_back.stderr
    with running_server(restored_url, tmp_path) as server:
        assert answers(server.url, world) == original
    print(
        f"backup under load: {snapshot['links']} links in the copy,"
        f" {acked_before} acknowledged before it began"
    )


def test_backup_refuses_postgresql_and_restore_refuses_a_non_database(tmp_path):
    """backup on PostgreSQL points to pg_dump; restore of a file that is no issuegraph database
    fails with a message and leaves the target untouched."""
    refused = cli("postgresql://postgres@127.0.0.1:5432/test", "backup", str(tmp_path / "x.db"))
    assert refused.returncode == 2 and "pg_dump" in refused.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    target = tmp_path / "target.db"
    failed = cli(f"sqlite:///{target}", "restore", str(junk), "--yes")
    assert failed.returncode == 2 and "error:" in failed.stderr
    assert not target.exists()


def test_postgresql_dump_and_restore_answer_the_same(tmp_path):
    """pg_dump -Fc of a database the server wrote, pg_restore into a new database: the server
    on the restored database answers exactly as on the original (docs/operations.md's steps)."""
    for tool in ("pg_dump", "pg_restore"):
        assert shutil.which(tool), f"{tool} is needed (postgresql-client)"
    dump = tmp_path / "issuegraph.dump"
    with fresh_pg_database() as database_url:
        with running_server(database_url, tmp_path) as server:
            world = build_world(server.url, ADMIN_TOKEN, issues_per_project=12)
            with Load(world, writers=2, readers=0) as load:
                time.sleep(1.0)
            assert load.acked
            original = answers(server.url, world)
        libpq = database_url.replace("postgresql+psycopg://", "postgresql://")
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq], check=True, timeout=120)
        with fresh_pg_database() as restored_url:
            target = restored_url.replace("postgresql+psycopg://", "postgresql://")
            subprocess.run(["pg_restore", "--no-owner", "-d", target, str(dump)], check=True, timeout=120)
            with running_server(restored_url, tmp_path) as server:
                assert answers(server.url, world) == original
