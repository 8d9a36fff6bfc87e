"""Migration dcb7b029ce80 backfills the issue each existing link note names."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from issuegraph.db import migrate

BEFORE = "3f1c0a9e5b72"


def test_backfill_names_the_referenced_issue(database_url):
    """`#2`, `other#1` (same namespace) and `grp/far#1` resolve to their issues; a reference to no
    issue gets -1 (hidden from everyone but admins); other notes keep NULL."""
    command.downgrade(migrate.alembic_config(database_url), BEFORE)
    try:
        _old_rows_then_upgrade(database_url)
    finally:
        migrate.upgrade(database_url)  # the session's PostgreSQL database stays at head
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, referenced_issue_id FROM notes ORDER BY id")).all())
    engine.dispose()
    assert found == {1: 2, 2: 3, 3: 4, 4: -1, 5: None}


def _old_rows_then_upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    now = "2026-01-01 00:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, name, email, state, is_admin, created_at)"
                " VALUES (1, 'u', 'U', 'u@x', 'active', false, :now)"
            ),
            {"now": now},
        )
        for ns_id, path, kind in ((1, "u", "user"), (2, "grp", "group")):
            conn.execute(
                text(
                    "INSERT INTO namespaces (id, kind, name, path, full_path, traversal_ids, visibility,"
                    " description, created_at)"
                    " VALUES (:id, :kind, :path, :path, :path, :tid, 'public', '', :now)"
                ),
                {"id": ns_id, "kind": kind, "path": path, "tid": str(ns_id), "now": now},
            )
        for pid, ns, path, full in (
            (1, 1, "here", "u/here"),
            (2, 1, "other", "u/other"),
            (3, 2, "far", "grp/far"),
        ):
            conn.execute(
                text(
                    "INSERT INTO projects (id, namespace_id, name, path, full_path, description, visibility,"
                    " last_issue_iid, close_policy, close_duplicates, created_at, updated_at)"
                    " VALUES (:id, :ns, :path, :path, :full, '', 'public', 2, 'allow', false, :now, :now)"
                ),
                {"id": pid, "ns": ns, "path": path, "full": full, "now": now},
            )
        issues = [(1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 3, 1)]
        for issue_id, pid, iid in issues:
            conn.execute(
                text(
                    "INSERT INTO issues (id, project_id, iid, title, description, state, status, priority,"
                    " confidential, discussion_locked, author_id, created_at, updated_at)"
                    " VALUES (:id, :pid, :iid, 't', '', 'opened', 'open', 'normal', false, false, 1,"
                    " :now, :now)"
                ),
                {"id": issue_id, "pid": pid, "iid": iid, "now": now},
            )
        notes = [
            (1, "marked this issue as blocked by #2", "relate"),
            (2, "marked this issue as related to other#1", "relate"),
            (3, "removed the relation with grp/far#1", "unrelate"),
            (4, "marked this issue as related to gone#9", "relate"),
            (5, "closed", "closed"),
        ]
        for note_id, body, action in notes:
            conn.execute(
                text(
                    "INSERT INTO notes (id, issue_id, author_id, body, system, system_action, created_at,"
                    " updated_at) VALUES (:id, 1, 1, :body, true, :action, :now, :now)"
                ),
                {"id": note_id, "body": body, "action": action, "now": now},
            )
    engine.dispose()
    migrate.upgrade(database_url)
