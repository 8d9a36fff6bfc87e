"""The schema changes only through Alembic: models and migrations must agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from issuegraph.db import migrate
from issuegraph.db.models import Base


def test_models_match_migrations(database_url):
    """`alembic check` finds nothing to generate on a freshly migrated database."""
    migrate.check(database_url)


def test_one_head_and_dated_file_names():
    """Migrations form one line of history and their file names start with a date."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:4].isdigit() and name[4] == "_", name


def test_upgrade_is_idempotent(database_url):
    """Running the upgrade again on an up-to-date database changes nothing."""
    migrate.upgrade(database_url)
    migrate.check(database_url)


# ---------------------------------------------------------------- 7ca44bd8de15: SQLite AUTOINCREMENT

BEFORE_AUTOINCREMENT = "8ee573a4f34b"
AUTOINCREMENT = "7ca44bd8de15"  # these tests go up to it, not to the head: later migrations add tables
_NOW = "'2026-01-01 00:00:00.000000'"
_OLD_ROWS = [
    "INSERT INTO users (id, username, name, email, state, is_admin, created_at) VALUES "
    f"(1, 'root', 'Root', 'root@x', 'active', 1, {_NOW}), "
    f"(2, 'alice', 'Alice', 'alice@x', 'active', 0, {_NOW})",
    "INSERT INTO personal_access_tokens (id, user_id, name, token_digest, scopes, revoked, created_at) "
    f"VALUES (1, 2, 't', 'digest', 'api', 0, {_NOW})",
    "INSERT INTO namespaces (id, kind, name, path, full_path, traversal_ids, owner_id, visibility, "
    f"description, created_at) VALUES (1, 'user', 'Root', 'root', 'root', '1', 1, 'public', '', {_NOW})",
    "INSERT INTO projects (id, namespace_id, name, path, full_path, description, visibility, creator_id, "
    "last_issue_iid, close_policy, close_duplicates, created_at, updated_at) VALUES "
    f"(1, 1, 'p', 'p', 'root/p', '', 'public', 1, 4, 'allow', 0, {_NOW}, {_NOW})",
    "INSERT INTO issues (id, project_id, iid, title, description, state, status, priority, confidential, "
    "discussion_locked, author_id, created_at, updated_at) VALUES "
    + ", ".join(
        f"({n}, 1, {n}, 'i{n}', '', 'opened', 'open', 'normal', 0, 0, 1, {_NOW}, {_NOW})"
        for n in (1, 2, 3, 4)
    ),
    "INSERT INTO issue_links (id, source_id, target_id, link_type, pair_lo, pair_hi, author_id, created_at, "
    f"updated_at) VALUES (1, 1, 2, 'parent_of', 1, 2, 2, {_NOW}, {_NOW}), "
    f"(2, 3, 1, 'duplicates', 1, 3, 2, {_NOW}, {_NOW}), (3, 4, 1, 'blocks', 1, 4, NULL, {_NOW}, {_NOW})",
    f"INSERT INTO notes (id, issue_id, author_id, body, system, created_at, updated_at) VALUES "
    f"(1, 1, 2, 'hello', 0, {_NOW}, {_NOW})",
    "INSERT INTO issue_assignees (issue_id, user_id, position) VALUES (1, 2, 0)",
]


def _database_before_autoincrement(tmp_path: Path) -> tuple[str, Engine]:
    """A SQLite database at the migration before AUTOINCREMENT, holding _OLD_ROWS."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, BEFORE_AUTOINCREMENT)
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in _OLD_ROWS:
            conn.execute(text(statement))
    return url, engine


def _schema(engine: Engine) -> dict[str, dict[str, Any]]:
    """What reflection sees of every table: columns, keys, constraints and indexes (partial ones too)."""
    inspector = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"], str(fk["options"]))
                for fk in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
            "indexes": sorted(
                (
                    i["name"],
                    tuple(i["column_names"]),
                    bool(i["unique"]),
                    str(i["dialect_options"].get("sqlite_where")),
                )
                for i in inspector.get_indexes(table)
            ),
        }
        for table in inspector.get_table_names()
        if table not in ("alembic_version", "sqlite_sequence")
    }


def _rows(engine: Engine) -> dict[str, list[Any]]:
    """Every row of every table as the database has them (reflected: the models may be newer)."""
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(t).order_by(*t.primary_key)).all()
            for t in tables.sorted_tables
            if t.name in Base.metadata.tables and t.name != "sqlite_sequence"
        }


def _table_sql(engine: Engine, table: str) -> str:
    with engine.connect() as conn:
        sql: str = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
        ).scalar_one()
    return sql


def test_sqlite_autoincrement_upgrade_keeps_rows_constraints_and_indexes(tmp_path):
    """Recreating the SQLite tables with AUTOINCREMENT keeps every row, foreign key, check and index."""
    url, engine = _database_before_autoincrement(tmp_path)
    schema, rows = _schema(engine), _rows(engine)
    assert "AUTOINCREMENT" not in _table_sql(engine, "issue_links")

    migrate.upgrade(url, AUTOINCREMENT)
    engine.dispose()
    assert _schema(engine) == schema
    assert _rows(engine) == rows
    assert all("AUTOINCREMENT" in _table_sql(engine, t) for t in ("issues", "issue_links", "users", "events"))
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("issue_links")}
    assert (
        str(indexes["uq_issue_links_one_parent"]["dialect_options"]["sqlite_where"])
        == "link_type = 'parent_of'"
    )
    assert str(indexes["uq_issue_links_one_canonical"]["dialect_options"]["sqlite_where"]) == (
        "link_type = 'duplicates'"
    )
    migrate.upgrade(url)
    migrate.check(url)
    engine.dispose()


def test_sqlite_partial_unique_indexes_still_hold_after_upgrade(tmp_path):
    """After the upgrade a second parent is refused while other links to the same issue are not."""
    url, engine = _database_before_autoincrement(tmp_path)
    migrate.upgrade(url)
    link = (
        "INSERT INTO issue_links (source_id, target_id, link_type, pair_lo, pair_hi, created_at, updated_at) "
        f"VALUES (:s, :t, :type, :lo, :hi, {_NOW}, {_NOW})"
    )
    with engine.begin() as conn:  # a plain link between issues 3 and 4: fine
        conn.execute(text(link), {"s": 4, "t": 3, "type": "related_to", "lo": 3, "hi": 4})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # issue 2 already has a parent
        conn.execute(text(link), {"s": 4, "t": 2, "type": "parent_of", "lo": 2, "hi": 4})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # issue 3 already duplicates issue 1
        conn.execute(text(link), {"s": 3, "t": 2, "type": "duplicates", "lo": 2, "hi": 3})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM issue_links WHERE id = 4"))  # the newest
        conn.execute(text(link), {"s": 4, "t": 3, "type": "related_to", "lo": 3, "hi": 4})
        assert conn.execute(text("SELECT max(id) FROM issue_links")).scalar_one() == 5
    engine.dispose()


def test_sqlite_autoincrement_downgrade_restores_the_old_tables(tmp_path):
    """Downgrading recreates the tables without AUTOINCREMENT, rows and schema as before."""
    url, engine = _database_before_autoincrement(tmp_path)
    schema, rows = _schema(engine), _rows(engine)
    migrate.upgrade(url, AUTOINCREMENT)
    command.downgrade(migrate.alembic_config(url), BEFORE_AUTOINCREMENT)
    engine.dispose()
    assert _schema(engine) == schema
    assert _rows(engine) == rows
    assert "AUTOINCREMENT" not in _table_sql(engine, "issue_links")
    engine.dispose()


def test_autoincrement_migration_is_a_no_op_on_postgresql(pg_url):
    """On PostgreSQL the migration changes nothing, either way."""
    engine = create_engine(pg_url)
    try:
        command.downgrade(migrate.alembic_config(pg_url), AUTOINCREMENT)
        schema = _schema(engine)
        command.downgrade(migrate.alembic_config(pg_url), BEFORE_AUTOINCREMENT)
        assert _schema(engine) == schema
        migrate.upgrade(pg_url, AUTOINCREMENT)
        assert _schema(engine) == schema
    finally:
        migrate.upgrade(pg_url)  # the session's database is shared by the tests after this one
        engine.dispose()
