"""Backups of a SQLite database through SQLite's online backup API.

The backup API copies the database page by page under a read transaction, so the copy is one
consistent snapshot, taken while the server keeps running: in WAL mode its writers are not
blocked, and a write committed after the copy began is simply not in it. The copy is written
beside the target and renamed into place only once complete and checked, so a failed backup
never leaves half a file under the target's name.

PostgreSQL is backed up with its own tools (pg_dump, pg_restore): see docs/operations.md.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import make_url


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "issuegraph backup and restore handle SQLite; back up PostgreSQL with pg_dump and"
            " restore it with pg_restore (docs/operations.md)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("the database URL names no SQLite file")
    return Path(url.database)


def _check(path: Path) -> str:
    """The issuegraph schema revision of a sound SQLite file, else BackupError."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from exc
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")
        try:
            revisions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.Error as exc:
            raise BackupError(f"{path} is not an issuegraph database") from exc
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from exc
    finally:
        conn.close()
    return ",".join(revisions)


def _copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one snapshot
    finally:
        dst.close()
        src.close()


def backup(database_url: str, target: Path) -> str:
    """Copy the live database to `target`; returns the copy's schema revision."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        revision = _check(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return revision


def restore(database_url: str, source: Path) -> str:
    """Replace the database's content with the backup `source` (stop the server first);
    returns the restored schema revision (`issuegraph serve` migrates it forward if older)."""
    target = sqlite_path(database_url)
    revision = _check(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)  # page by page into the live file, under its write lock
    finally:
        dst.close()
        src.close()
    return revision
