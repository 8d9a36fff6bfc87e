"""webhook_deliveries: partial indexes on pending rows for the claim

A claim sorted every pending delivery (and probed all delivered ones of an issue) to find the
next few to send: 45 ms with 50,000 queued, on every round, so a burst of events made each
round slower. It now walks each active hook's pending deliveries in commit order
(hook_id, event_seq) and asks for an earlier pending one of the same issue with
(hook_id, order_key, event_seq), both over pending rows only. The old full index on
(hook_id, order_key, event_seq) served only that question and is replaced; the one on pending
rows' next_attempt_at served only the old claim and is dropped (each index is written for every
one of the twenty deliveries a link makes with ten hooks).

Revision ID: 9c4d2e7f1a86
Revises: 5e7a1c3b9d20
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9c4d2e7f1a86"
down_revision = "5e7a1c3b9d20"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.drop_index("ix_webhook_deliveries_hook_id_order_key_event_seq", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_pending_hook_seq",
        "webhook_deliveries",
        ["hook_id", "event_seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index(
        "ix_webhook_deliveries_pending_hook_order_seq",
        "webhook_deliveries",
        ["hook_id", "order_key", "event_seq"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_pending_hook_order_seq", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_pending_hook_seq", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_hook_id_order_key_event_seq",
        "webhook_deliveries",
        ["hook_id", "order_key", "event_seq"],
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
