"""Partial indexes for an issue's counts: its user notes, the issues it blocks

The representation of an issue carries its user-note count and the number of open issues it
blocks. With only the (issue_id, id) index, counting read every note of the issues, the system
notes too (two per link), and so cost more as links were added; the partial index holds only
user notes: the count reads what it counts. Likewise the blocks links by their source.

Revision ID: 3b1e6f0c9a21
Revises: 7ca44bd8de15
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3b1e6f0c9a21"
down_revision = "7ca44bd8de15"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_notes_issue_id_user",
        "notes",
        ["issue_id"],
        postgresql_where=sa.text("system = false"),
        sqlite_where=sa.text("system = 0"),
    )
    op.create_index(
        "ix_issue_links_blocks_source_id",
        "issue_links",
        ["source_id", "target_id"],
        postgresql_where=sa.text("link_type = 'blocks'"),
        sqlite_where=sa.text("link_type = 'blocks'"),
    )


def downgrade() -> None:
    op.drop_index("ix_issue_links_blocks_source_id", table_name="issue_links")
    op.drop_index("ix_notes_issue_id_user", table_name="notes")
