"""webhook_deliveries.head: the earliest pending delivery of each hook and issue, kept

A claim walked each hook's pending deliveries in commit order and asked, for each, whether an
earlier one of the same issue was still pending. That costs what the claim hands out only while
a hook's queue holds many issues: when its pending deliveries belong to few issues, every claim
read the hook's whole queue to find those few heads (and without statistics the planner read
it once per candidate: 2.6 s a claim with 59,000 pending). `head` marks the one delivery of
each (hook, issue) that may be sent next; the dispatcher sets it on a new delivery of an issue
with nothing pending, and recording a success moves it to the next pending one. A claim walks
the heads only, in commit order (a partial index on them), and stops at its limit; a unique
partial index keeps one head per hook and issue and serves the dispatcher's lookup.

Revision ID: b7e3d9a4c512
Revises: 4f8a2c6d1e37
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b7e3d9a4c512"
down_revision = "4f8a2c6d1e37"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")
HEAD = sa.text("head")


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("head", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        """
        UPDATE webhook_deliveries SET head = true
        WHERE state = 'pending' AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries AS earlier
            WHERE earlier.hook_id = webhook_deliveries.hook_id
              AND earlier.order_key = webhook_deliveries.order_key
              AND earlier.state = 'pending'
              AND earlier.event_seq < webhook_deliveries.event_seq
        )
        """
    )
    op.drop_index("ix_webhook_deliveries_pending_hook_seq", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_heads",
        "webhook_deliveries",
        ["hook_id", "event_seq"],
        postgresql_where=HEAD,
        sqlite_where=HEAD,
    )
    op.create_index(
        "uq_webhook_deliveries_head",
        "webhook_deliveries",
        ["hook_id", "order_key"],
        unique=True,
        postgresql_where=HEAD,
        sqlite_where=HEAD,
    )


def downgrade() -> None:
    op.drop_index("uq_webhook_deliveries_head", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_heads", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_pending_hook_seq",
        "webhook_deliveries",
        ["hook_id", "event_seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    with op.batch_alter_table("webhook_deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("head")
