"""rate_limits: request counters shared by every worker process

GitLab's per-user limits on hook tests, resends and creation (5 a minute per project or group)
were counted in each process's memory; behind a load balancer each process counted apart. The
counters are now rows (ratelimits/), one per limit and subject, bumped by one upsert.

Revision ID: 5e7a1c3b9d20
Revises: dcb7b029ce80
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e7a1c3b9d20"
down_revision = "dcb7b029ce80"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
