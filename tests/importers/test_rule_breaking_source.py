"""A source whose graph breaks issuegraph's rules: imported without exactly the offending links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.importers.support import client, import_command, run_import, source_and_copy

pytestmark = pytest.mark.slow


def _force_link(database_url: str, source_id: int, target_id: int, link_type: str) -> None:
    """Write a link straight into the source's database, past every rule (as a foreign tracker may)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS uq_issue_links_one_parent"))
        conn.execute(
            text(
                "INSERT INTO issue_links (source_id, target_id, link_type, pair_lo, pair_hi, author_id,"
                " created_at, updated_at) VALUES (:s, :t, :k, :lo, :hi, 1, :now, :now)"
            ),
            {
                "s": source_id,
                "t": target_id,
                "k": link_type,
                "lo": min(source_id, target_id),
                "hi": max(source_id, target_id),
                "now": now,
            },
        )
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_cycle_second_parent_and_limit_are_left_out_and_listed(kind: str, tmp_path: Path) -> None:
    """A blocking cycle, a double parent, a link over the limit: each listed with its rule; the rest in."""
    with source_and_copy(kind, tmp_path, with_source_db=True) as (source, _copy, copy_db, source_db):
        gl = client(source)
        group = gl.groups.create({"name": "g", "path": "g"})
        project = gl.projects.create({"name": "p", "path": "p", "namespace_id": group.id})
        a, b, c, parent1, parent2, child, hub, *spokes = [
            project.issues.create({"title": f"issue {n}"}) for n in range(1, 12)
        ]

        def link(x: object, y: object, kind: str) -> None:
            x.links.create({"target_project_id": project.id, "target_issue_iid": y.iid, "link_type": kind})  # type: ignore[attr-defined]

        link(a, b, "blocks")
        link(b, c, "blocks")
        _force_link(source_db, c.id, a.id, "blocks")  # c blocks a: closes the cycle
        link(parent1, child, "parent_of")
        _force_link(source_db, parent2.id, child.id, "parent_of")  # a second parent
        for spoke in spokes:  # four links on the hub, one over a limit of three
            link(hub, spoke, "relates_to")
        gl.session.close()
        summary = run_import(
            copy_db,
            import_command("gitlab", source, "--project", "g/p"),
            tmp_path,
            {"ISSUEGRAPH_MAX_LINKS_PER_ISSUE": "3"},
        )
        reported = sorted((p["ref"], p["reason"].split(":")[0]) for p in summary["skipped"])
        assert reported == [
            ("g/p#1 blocked_by g/p#3", "blocks_cycle"),
            ("g/p#5 parent_of g/p#6", "already_has_parent"),
            ("g/p#7 related_to g/p#11", "link_limit"),
        ]
        assert summary["failed"] == []
        assert summary["counts"]["link.imported"] == 2 + 1 + 3
        assert summary["counts"]["issue.imported"] == 11
