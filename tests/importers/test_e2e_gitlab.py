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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_gitlab_follow_links_brings_the_linked_projects_and_their_links(kind: str, tmp_path: Path) -> None:
    """One project alone: its links elsewhere are listed; with --follow-links the linked projects
    (acme/api, and acme/platform/core in a subgroup) come too, with every link; a rerun changes nothing."""
    with source_and_copy(kind, tmp_path) as (source, copy, copy_db):
        seeded = seed(source)
        alone = run_import(copy_db, import_command("gitlab", source, "--project", "beta/web"), tmp_path)
        assert alone["failed"] == []
        assert alone["counts"]["issue.imported"] == 5
        assert alone["counts"].get("link.imported", 0) == 0
        assert sorted((p["ref"], p["reason"]) for p in alone["skipped"]) == [
            (ref, "the other issue is outside the import (see --follow-links)")
            for ref in (
                "beta/web#1 blocks acme/api#3",
                "beta/web#2 subissue_of acme/platform/core#3",
                "beta/web#3 subissue_of acme/api#4",
                "beta/web#4 duplicates acme/platform/core#4",
            )
        ]
        follow = import_command("gitlab", source, "--project", "beta/web", "--follow-links")
        first = run_import(copy_db, follow, tmp_path)
        assert first["failed"] == [] and first["skipped"] == []
        counts = first["counts"]
        assert counts["project.imported"] == 2  # acme/api and acme/platform/core
        assert counts["issue.imported"] == 11 and counts["issue.unchanged"] == 5
        assert counts["link.imported"] == seeded["links"]  # the four of web's and the five among the others
        expected = snapshot(source, seeded["projects"], ms=True, drop=NOT_IN_GITLAB)
        assert differences(snapshot(copy, seeded["projects"], ms=True, drop=NOT_IN_GITLAB), expected) == []
        again = run_import(copy_db, follow, tmp_path)
        assert again["failed"] == [] and again["skipped"] == []
        assert {k: v for k, v in again["counts"].items() if not k.endswith(".unchanged") and v} == {}
        assert differences(snapshot(copy, seeded["projects"], ms=True, drop=NOT_IN_GITLAB), expected) == []
