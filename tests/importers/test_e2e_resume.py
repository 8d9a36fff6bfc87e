"""An import killed in the middle finishes when started again, and ends equal to the source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from issuegraph.testing.serverproc import running_server
from tests.importers.support import (
    TOKEN,
    database,
    differences,
    import_command,
    kill_when,
    run_import,
    snapshot,
    start_import,
)

pytestmark = pytest.mark.slow

NOT_IN_GITLAB = frozenset({"updated_by", "started_at", "completed_at", "link_author"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_killed_import_finishes_when_restarted(kind: str, tmp_path: Path) -> None:
    """SIGKILL after the first committed page; the second run completes it, with no duplicate."""
    with database(kind, tmp_path, "source") as source_db, database(kind, tmp_path, "copy") as copy_db:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "issuegraph.cli",
                "dev",
                "seed",
                "--issues",
                "300",
                "--links",
                "400",
                "--projects",
                "2",
                "--database-url",
                source_db,
            ],
            cwd=Path(__file__).resolve().parents[2],  # the checkout
            check=True,
            capture_output=True,
            timeout=300,
        )
        with running_server(source_db, TOKEN) as source_server, running_server(copy_db, TOKEN) as copy_server:
            source, copy = source_server.url, copy_server.url
            command = import_command("gitlab", source, "--group", "seed", "--workers", "2")
            committed = kill_when(start_import(copy_db, command), copy_db, "issue", at_least=100)
            assert 100 <= committed < 300
            summary = run_import(copy_db, command, tmp_path)
            assert summary["failed"] == []
            counts = summary["counts"]
            assert counts["issue.imported"] + counts.get("issue.unchanged", 0) == 300
            assert counts.get("issue.unchanged", 0) >= committed
            paths = sorted({key.split("#")[0] for key in snapshot_keys(source)})
            expected = snapshot(source, paths, ms=True, drop=NOT_IN_GITLAB)
            assert len(expected) == 300
            assert differences(snapshot(copy, paths, ms=True, drop=NOT_IN_GITLAB), expected) == []


def snapshot_keys(base: str) -> list[str]:
    import httpx

    projects = httpx.get(
        f"{base}/api/v4/groups/seed/projects", headers={"PRIVATE-TOKEN": TOKEN}, params={"per_page": 100}
    ).json()
    return [f"{p['path_with_namespace']}#0" for p in projects]
