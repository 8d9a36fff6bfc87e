"""`issuegraph import gitlab` against a second, real `issuegraph serve` as the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.support import differences, import_command, run_import, seed, snapshot, source_and_copy

pytestmark = pytest.mark.slow

# What the GitLab API does not carry: the last editor, when work started (SourceCraft fields),
# who made a link.
NOT_IN_GITLAB = frozenset({"updated_by", "started_at", "link_author"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_gitlab_import_copies_issues_notes_links_and_second_run_changes_nothing(
    kind: str, tmp_path: Path
) -> None:
    """After the import the copy answers as the source on both faces; a second run changes nothing."""
    with source_and_copy(kind, tmp_path) as (source, copy, copy_db):
        seeded = seed(source)
        command = import_command("gitlab", source, "--group", "acme", "--group", "beta")
        first = run_import(copy_db, command, tmp_path)
        counts = first["counts"]
        assert counts["issue.imported"] == 16
        assert counts["link.imported"] == seeded["links"]
        assert counts["note.imported"] == 3
        assert counts["project.imported"] == 3
        assert first["failed"] == [] and first["skipped"] == []
        expected = snapshot(source, seeded["projects"], ms=True, drop=NOT_IN_GITLAB)
        assert differences(snapshot(copy, seeded["projects"], ms=True, drop=NOT_IN_GITLAB), expected) == []
        full = snapshot(copy, seeded["projects"], ms=False)
        second = run_import(copy_db, command, tmp_path)
        assert second["failed"] == [] and second["skipped"] == []
        changed = {k: v for k, v in second["counts"].items() if not k.endswith(".unchanged") and v}
        assert changed == {}
        assert second["counts"]["issue.unchanged"] == 16
        assert differences(snapshot(copy, seeded["projects"], ms=False), full) == []
