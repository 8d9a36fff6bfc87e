"""The schema changes only through Alembic: models and migrations must agree."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from issuegraph.db import migrate


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
