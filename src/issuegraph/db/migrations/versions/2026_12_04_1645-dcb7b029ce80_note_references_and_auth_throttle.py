"""System notes name the issue they refer to (notes.referenced_issue_id); auth_throttle

auth_throttle counts failed authentications per client address for every worker process
(accounts/throttle.py).


A link's system notes ("marked this issue as blocked by grp/prj#5") are shown only to readers
who may read the issue they name, as GitLab does; the filter runs in the notes query and needs
the issue's id on the note. Existing link notes (system_action relate/unrelate) are backfilled
from their text: `#5` is an issue of the note's project, `prj#5` one of a project in the same
namespace, `grp/prj#5` one of the project with that full path. A reference that names no issue
any more keeps the note hidden: its id is set to -1, which no issue has.

Revision ID: dcb7b029ce80
Revises: 3b9e1f0c2a71
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "dcb7b029ce80"
down_revision = "3b9e1f0c2a71"
branch_labels = None
depends_on = None

_REFERENCE = re.compile(r"(?:^|\s)([A-Za-z0-9_./-]*)#([0-9]+)$")
NO_ISSUE = -1


def upgrade() -> None:
    op.add_column(
        "notes",
        sa.Column("referenced_issue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    )
    _backfill(op.get_bind())
    op.create_table(
        "auth_throttle",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("banned_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_auth_throttle")),
    )


def downgrade() -> None:
    op.drop_table("auth_throttle")
    with op.batch_alter_table("notes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("referenced_issue_id")


def _backfill(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT n.id, n.body, p.id, p.namespace_id FROM notes n"
            " JOIN issues i ON i.id = n.issue_id JOIN projects p ON p.id = i.project_id"
            " WHERE n.system AND n.system_action IN ('relate', 'unrelate')"
        )
    ).fetchall()
    if not rows:
        return
    projects = bind.execute(
        sa.text("SELECT id, namespace_id, path, lower(full_path) FROM projects")
    ).fetchall()
    by_full_path = {full_path: pid for pid, _, _, full_path in projects}
    by_namespace_path = {(ns, path.lower()): pid for pid, ns, path, _ in projects}
    issues = {
        (pid, iid): issue_id
        for issue_id, pid, iid in bind.execute(sa.text("SELECT id, project_id, iid FROM issues"))
    }
    update = sa.text("UPDATE notes SET referenced_issue_id = :ref WHERE id = :id")
    changes = []
    for note_id, body, project_id, namespace_id in rows:
        found = _REFERENCE.search(body or "")
        target = None
        if found:
            path, iid = found.group(1), int(found.group(2))
            if not path:
                pid = project_id
            elif "/" in path:
                pid = by_full_path.get(path.lower())
            else:
                pid = by_namespace_path.get((namespace_id, path.lower()))
            target = issues.get((pid, iid)) if pid is not None else None
        changes.append({"id": note_id, "ref": target if target is not None else NO_ISSUE})
    bind.execute(update, changes)
