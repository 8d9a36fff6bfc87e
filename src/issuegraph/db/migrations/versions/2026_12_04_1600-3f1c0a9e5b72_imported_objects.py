"""Imported objects: what `issuegraph import` brought, by source instance, kind and id

Revision ID: 3f1c0a9e5b72
Revises: 7ca44bd8de15
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3f1c0a9e5b72"
down_revision = "7ca44bd8de15"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "imported_objects",
        sa.Column("id", BigId, nullable=False),
        sa.Column("instance_url", sa.String(length=512), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("object_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("local_id", BigId, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_objects")),
        sa.UniqueConstraint(
            "instance_url",
            "source_kind",
            "object_kind",
            "source_id",
            name=op.f("uq_imported_objects_instance_url_source_kind_object_kind_source_id"),
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("imported_objects")
