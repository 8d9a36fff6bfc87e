"""DriverQuery runs a Core SELECT straight on asyncpg in requests, and through SQLAlchemy elsewhere:
the rows must be the same either way, literals of the statement included."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.util import greenlet_spawn

from issuegraph.db.engine import Database
from issuegraph.db.models import User
from issuegraph.db.sql import DriverQuery, in_ids
from tests.conftest import recorded_queries

STATEMENT = select(User.id, User.username, User.is_admin, User.created_at, literal_column("'x'")).where(
    in_ids(User.id), User.state == "active", User.username != bindparam("not_named")
)


def test_rows_match_sqlalchemy_on_both_engines(database: Database) -> None:
    query = DriverQuery(STATEMENT)
    params: dict[str, Any] = {"ids": [1, 2, 3], "not_named": "nobody"}

    def both(engine: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
        with recorded_queries(engine) as statements, engine.connect() as conn:
            fast = [tuple(row) for row in query.rows(conn, params)]
            slow = [tuple(row) for row in conn.execute(STATEMENT, params)]
        seen = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
        return fast, slow, seen

    fast, slow, seen = both(database.engine)  # psycopg or SQLite: through SQLAlchemy
    assert fast == slow and fast and len(seen) == 2
    if database.runs_on_loop:  # PostgreSQL requests: asyncpg, in a greenlet

        async def on_loop() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
            try:
                return await greenlet_spawn(both, database.request_engine)
            finally:
                await database.dispose_async()

        fast, slow, seen = asyncio.run(on_loop())
        assert fast == slow and fast
        assert len(seen) == 2  # listeners see the driver's statement too
        assert fast[0][3].tzinfo is not None
