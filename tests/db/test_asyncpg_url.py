"""A PostgreSQL URL written for libpq also works for the request engine (asyncpg)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.util import greenlet_spawn

from issuegraph.config import Settings
from issuegraph.db.engine import Database, _asyncpg_url


def test_plain_url_only_changes_driver() -> None:
    url, connect = _asyncpg_url("postgresql+psycopg://app:secret@db.example:6432/issues")
    assert (
        url.render_as_string(hide_password=False) == "postgresql+asyncpg://app:secret@db.example:6432/issues"
    )
    assert connect == {"server_settings": {}}


def test_libpq_parameters_are_translated() -> None:
    url, connect = _asyncpg_url(
        "postgresql+psycopg://app@db/issues?sslmode=verify-full&connect_timeout=5"
        "&application_name=issuegraph&options=-c%20statement_timeout%3D5000%20-csynchronous_commit%3Doff"
    )
    assert dict(url.query) == {"ssl": "verify-full"}
    assert connect == {
        "server_settings": {
            "statement_timeout": "5000",
            "synchronous_commit": "off",
            "application_name": "issuegraph",
        },
        "timeout": 5.0,
    }


def test_request_engine_connects_with_libpq_parameters(pg_url: str) -> None:
    """Against the real server: the translated parameters are accepted and take effect."""
    database = Database(
        Settings(database_url=f"{pg_url}?sslmode=disable&connect_timeout=5&application_name=ig-url-test")
    )

    def name() -> str:
        with database.request_engine.connect() as conn:
            return str(conn.execute(text("SELECT current_setting('application_name')")).scalar_one())

    async def on_loop() -> str:
        try:
            return await greenlet_spawn(name)
        finally:
            await database.dispose_async()

    assert asyncio.run(on_loop()) == "ig-url-test"
