"""webhook_payloads: each body stored once, not once per hook

With ten hooks a link made twenty `webhook_deliveries` rows, each carrying its own copy of the
JSON body, although the ten hooks of one flavor are sent the very same body about one issue.
The bodies move to `webhook_payloads`, one row per (event, issue, flavor); a delivery finds its
body by (event_id, order_key) and its hook's flavor. The unique constraint of the deliveries
is the same three columns in another order, event first, so it also answers whether a payload
still has deliveries (pruning).

Revision ID: 4f8a2c6d1e37
Revises: 9c4d2e7f1a86
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "4f8a2c6d1e37"
down_revision = "9c4d2e7f1a86"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_UNIQUE = "uq_webhook_deliveries_hook_id_event_id_order_key"
NEW_UNIQUE = "uq_webhook_deliveries_event_id_order_key_hook_id"


def upgrade() -> None:
    op.create_table(
        "webhook_payloads",
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("order_key", BIG_ID, nullable=False),
        sa.Column("flavor", sa.String(length=8), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "order_key", "flavor", name=op.f("pk_webhook_payloads")),
    )
    op.create_index("ix_webhook_payloads_created_at", "webhook_payloads", ["created_at"])
    # One body per (event, issue, flavor): every delivery of it carried the same one.
    op.execute(
        """
        INSERT INTO webhook_payloads (event_id, order_key, flavor, body, created_at)
        SELECT d.event_id, d.order_key, w.flavor, d.payload, d.created_at
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.hook_id
        WHERE d.id IN (
            SELECT min(d2.id) FROM webhook_deliveries d2 JOIN webhooks w2 ON w2.id = d2.hook_id
            GROUP BY d2.event_id, d2.order_key, w2.flavor
        )
        """
    )
    with op.batch_alter_table("webhook_deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(OLD_UNIQUE, type_="unique")
        batch.create_unique_constraint(NEW_UNIQUE, ["event_id", "order_key", "hook_id"])
        batch.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    op.execute(
        """
        UPDATE webhook_deliveries SET payload = (
            SELECT p.body FROM webhook_payloads p JOIN webhooks w ON w.flavor = p.flavor
            WHERE p.event_id = webhook_deliveries.event_id
              AND p.order_key = webhook_deliveries.order_key
              AND w.id = webhook_deliveries.hook_id
        )
        """
    )
    op.execute("UPDATE webhook_deliveries SET payload = '{}' WHERE payload IS NULL")
    with op.batch_alter_table("webhook_deliveries", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_constraint(NEW_UNIQUE, type_="unique")
        batch.create_unique_constraint(OLD_UNIQUE, ["hook_id", "event_id", "order_key"])
    op.drop_index("ix_webhook_payloads_created_at", table_name="webhook_payloads")
    op.drop_table("webhook_payloads")
