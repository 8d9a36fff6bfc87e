"""Connected components of the acyclic link kinds, for locks per component

A `blocks`, `parent_of` or `duplicates` link creation on PostgreSQL locked its kind for the
whole installation; it now locks the components of its two issues (links.components). This
table holds each linked issue's component per kind; on PostgreSQL it is filled from the links
already there (SQLite does not use it).

Revision ID: 5d2a8c4e7f10
Revises: 3b1e6f0c9a21
Create Date: 2026-12-04 15:30:00
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "5d2a8c4e7f10"
down_revision = "3b1e6f0c9a21"
branch_labels = None
depends_on = None

KINDS = ("blocks", "parent_of", "duplicates")


def upgrade() -> None:
    op.create_table(
        "link_components",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("issue_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("component", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name=op.f("fk_link_components_issue_id_issues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kind", "issue_id", name=op.f("pk_link_components")),
    )
    op.create_index("ix_link_components_kind_component", "link_components", ["kind", "component"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    table = sa.table("link_components", sa.column("kind"), sa.column("issue_id"), sa.column("component"))
    for kind in KINDS:
        edges = bind.execute(
            sa.text("SELECT source_id, target_id FROM issue_links WHERE link_type = :kind"), {"kind": kind}
        )
        rows = [{"kind": kind, "issue_id": i, "component": c} for i, c in _components(edges).items()]
        for start in range(0, len(rows), 10_000):
            bind.execute(table.insert(), rows[start : start + 10_000])


def _components(edges: Iterable[Any]) -> dict[int, int]:
    """Each issue -> the smallest issue id of its weakly connected component (union-find)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for s, t in edges:
        rs, rt = find(s), find(t)
        parent.setdefault(s, s)
        parent.setdefault(t, t)
        if rs != rt:
            parent[max(rs, rt)] = min(rs, rt)
    return {x: find(x) for x in parent}


def downgrade() -> None:
    op.drop_index("ix_link_components_kind_component", table_name="link_components")
    op.drop_table("link_components")
