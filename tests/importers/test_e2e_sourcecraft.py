"""`issuegraph import sourcecraft` against a second, real `issuegraph serve` as the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importers.support import differences, import_command, run_import, seed, snapshot, source_and_copy

pytestmark = pytest.mark.slow

# What the SourceCraft API does not carry: weight, who closed, locked discussions (GitLab's
# closed_at is SourceCraft's completed_at, brought as both).
NOT_IN_SOURCECRAFT = frozenset({"weight", "closed_by", "discussion_locked"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sourcecraft_import_copies_all_seven_link_types_and_second_run_changes_nothing(
    kind: str, tmp_path: Path
) -> None:
    """Both orgs imported through SourceCraft answer as the source; a second run changes nothing."""
    with source_and_copy(kind, tmp_path) as (source, copy, copy_db):
        seeded = seed(source)
        paths = seeded["projects"]
        beta = run_import(copy_db, import_command("sourcecraft", source, "--org", "beta"), tmp_path)
        assert beta["failed"] == []
        assert sorted(p["ref"] for p in beta["skipped"]) == [
            "beta/web#1 blocks acme/api#3",
            "beta/web#2 subissue_of acme/platform/core#3",
            "beta/web#3 subissue_of acme/api#4",
            "beta/web#4 duplicates acme/platform/core#4",
        ]
        # acme/platform/core is a subgroup's repository: reached by following links.
        acme = import_command("sourcecraft", source, "--org", "acme", "--follow-links")
        first = run_import(copy_db, acme, tmp_path)
        assert first["failed"] == [] and first["skipped"] == []
        assert first["counts"]["link.imported"] == seeded["links"]
        expected = snapshot(source, paths, ms=False, drop=NOT_IN_SOURCECRAFT)
        assert differences(snapshot(copy, paths, ms=False, drop=NOT_IN_SOURCECRAFT), expected) == []
        for again in (acme, import_command("sourcecraft", source, "--org", "beta")):
            rerun = run_import(copy_db, again, tmp_path)
            changed = {k: v for k, v in rerun["counts"].items() if k.split(".")[1] != "unchanged" and v}
            assert changed == {}
        assert differences(snapshot(copy, paths, ms=False, drop=NOT_IN_SOURCECRAFT), expected) == []
        assert seeded["links"] == 9
