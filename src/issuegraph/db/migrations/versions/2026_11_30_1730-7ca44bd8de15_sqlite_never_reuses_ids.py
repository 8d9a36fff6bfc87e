"""SQLite never reuses ids: AUTOINCREMENT on every table with an integer id

Without AUTOINCREMENT SQLite hands out max(id) + 1, so deleting the newest issue, link or
note gives its id to the next one; GitLab never reuses an id. SQLite cannot add AUTOINCREMENT
to a table, so each such table is recreated (batch mode copies its rows, constraints, foreign
keys and indexes, the partial unique indexes included). PostgreSQL's sequences never hand out
an id twice: there this migration does nothing. An id deleted before this upgrade above the
then largest id is unknown to SQLite and may still be handed out once; later ones never.
SQLite cannot name an AUTOINCREMENT primary key, so pk_<table> names are gone there.

Revision ID: 7ca44bd8de15
Revises: 8ee573a4f34b
Create Date: 2026-11-30 17:30:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.engine import Connection

revision = "7ca44bd8de15"
down_revision = "8ee573a4f34b"
branch_labels = None
depends_on = None

# Every table whose primary key is one integer id. The association tables (group_members,
# project_members, issue_assignees, issue_labels) have composite keys and no id to reuse.
TABLES = (
    "users",
    "personal_access_tokens",
    "namespaces",
    "projects",
    "milestones",
    "labels",
    "issues",
    "issue_links",
    "notes",
    "events",
)


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)


def _recreate(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _require_foreign_keys_off(bind)
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the table copies: {broken[:5]}")


def _require_foreign_keys_off(bind: Connection) -> None:
    """Dropping a parent table with foreign keys enforced would cascade into its children."""
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("run this migration on a connection without PRAGMA foreign_keys=ON")
