"""What a run must remember until its links phase, kept on disk instead of in memory.

The links of every imported issue are read while the issues are written, but can only be written
once both their ends exist, oldest first. Held in memory they grow with the source (two readings
per link); here they go to a private, temporary SQLite database (stdlib `sqlite3`, opened with an
empty file name: SQLite keeps up to its page cache in memory and the rest in an anonymous
temporary file that is gone when the connection closes or the process dies) and come back in
creation order, a batch at a time. The same database holds the per-issue "links read" markers
and the issues that had a link left out. Nothing in it needs to survive the run: what was
written is recorded in `imported_objects`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from issuegraph.domain.links import LinkType
from issuegraph.importers.model import SourceLink, SourceUser

# A link's state in the spill: read and not yet written ("new"), waiting for its other issue's
# project ("outside"), or settled this run ("done": written, unchanged, or left out and listed).
NEW, OUTSIDE, DONE = "new", "outside", "done"

_SCHEMA = """
CREATE TABLE links (
    source_id TEXT PRIMARY KEY,
    ord_when TEXT NOT NULL,
    ord_number INTEGER NOT NULL,
    state TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    issue_ref TEXT NOT NULL,
    other_id TEXT NOT NULL,
    other_ref TEXT NOT NULL,
    link_type TEXT NOT NULL,
    created_at TEXT,
    author_username TEXT,
    author_name TEXT,
    author_email TEXT,
    other_project TEXT
);
CREATE INDEX links_order ON links (ord_when, ord_number, source_id);
CREATE TABLE markers (issue_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE incomplete (issue_id TEXT PRIMARY KEY);
"""

_COLUMNS = (
    "source_id, ord_when, ord_number, state, issue_id, issue_ref, other_id, other_ref, link_type,"
    " created_at, author_username, author_name, author_email, other_project"
)
_LINK_COLUMNS = (
    "source_id, issue_id, issue_ref, other_id, other_ref, link_type, created_at,"
    " author_username, author_name, author_email, other_project"
)
# Each link once, as its first reader saw it; a reading of a link that waited for its other issue
# (read from that issue's side, now imported) replaces the waiting one, as the newer reading.
_ADD = f"""
INSERT INTO links ({_COLUMNS}) VALUES ({", ".join("?" * 14)})
ON CONFLICT (source_id) DO UPDATE SET
    state = excluded.state, issue_id = excluded.issue_id, issue_ref = excluded.issue_ref,
    other_id = excluded.other_id, other_ref = excluded.other_ref, link_type = excluded.link_type,
    created_at = excluded.created_at, author_username = excluded.author_username,
    author_name = excluded.author_name, author_email = excluded.author_email,
    other_project = excluded.other_project
WHERE links.state = '{OUTSIDE}'
"""
_MAX_NUMBER = 2**63 - 1


def link_order(link: SourceLink) -> tuple[str, int, str]:
    """Oldest first: creation time, then the source's id (numerically when it is a number)."""
    when = link.created_at.isoformat() if link.created_at else ""
    number = int(link.source_id) if link.source_id.isdigit() else 0
    return when, min(number, _MAX_NUMBER), link.source_id


class Spill:
    """A run's scratch database. Used from one thread (the importer's writing thread)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": private and temporary, deleted with the connection
        # Scratch: no journal, no fsync, a small page cache (the rest goes to the temporary file).
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048;"
            "PRAGMA temp_store = FILE;" + _SCHEMA
        )

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ links

    def add_links(self, links: Iterable[SourceLink]) -> None:
        self._db.executemany(_ADD, (_row(link) for link in links))
        self._db.commit()

    def links(self, states: tuple[str, ...], batch: int) -> Iterator[list[SourceLink]]:
        """The links in these states, oldest first, `batch` at a time. Each batch is read when the
        previous one was handled, after the key where it ended, so changing states between
        batches is safe."""
        marks = ", ".join("?" * len(states))
        after: tuple[str, int, str] = ("", -1, "")
        while True:
            rows = self._db.execute(
                f"SELECT {_LINK_COLUMNS}, ord_when, ord_number FROM links"
                f" WHERE state IN ({marks}) AND (ord_when, ord_number, source_id) > (?, ?, ?)"
                " ORDER BY ord_when, ord_number, source_id LIMIT ?",
                (*states, *after, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1]
            after = (last[-2], last[-1], last[0])
            yield [_link(row) for row in rows]

    def set_state(self, state: str, source_ids: Iterable[str]) -> None:
        self._db.executemany(
            "UPDATE links SET state = ? WHERE source_id = ?", ((state, s) for s in source_ids)
        )
        self._db.commit()

    def count(self, state: str) -> int:
        row = self._db.execute("SELECT count(*) FROM links WHERE state = ?", (state,)).fetchone()
        return int(row[0])

    # ------------------------------------------------------------ per-issue markers

    def mark_links_read(self, issue_id: str, fingerprint: str) -> None:
        """This issue's links were all read (for this fingerprint); written by `settle_markers`."""
        self._db.execute("INSERT OR REPLACE INTO markers VALUES (?, ?)", (issue_id, fingerprint))

    def add_incomplete(self, issue_ids: Iterable[str]) -> None:
        """Issues with a link left out this run: their links are read again next run."""
        self._db.executemany("INSERT OR IGNORE INTO incomplete VALUES (?)", ((i,) for i in issue_ids))

    def complete_markers(self, batch: int) -> Iterator[list[tuple[str, str]]]:
        """(issue id, fingerprint) of the marked issues with no link left out, `batch` at a time;
        the markers are gone afterwards (the next round marks its own)."""
        self._db.commit()
        after = ""
        while True:
            rows = self._db.execute(
                "SELECT m.issue_id, m.fingerprint FROM markers m"
                " WHERE m.issue_id > ? AND m.issue_id NOT IN (SELECT issue_id FROM incomplete)"
                " ORDER BY m.issue_id LIMIT ?",
                (after, batch),
            ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            yield [(str(a), str(b)) for a, b in rows]
        self._db.execute("DELETE FROM markers")
        self._db.commit()


def _row(link: SourceLink) -> tuple[Any, ...]:
    when, number, source_id = link_order(link)
    author = link.author
    return (
        source_id,
        when,
        number,
        NEW,
        link.issue_id,
        link.issue_ref,
        link.other_id,
        link.other_ref,
        link.link_type.value,
        link.created_at.isoformat() if link.created_at else None,
        author.username if author else None,
        author.name if author else None,
        author.email if author else None,
        json.dumps(link.other_project),
    )


def _link(row: tuple[Any, ...]) -> SourceLink:
    source_id, issue_id, issue_ref, other_id, other_ref, link_type, created_at, username, name, email = row[
        :10
    ]
    return SourceLink(
        source_id=source_id,
        issue_id=issue_id,
        issue_ref=issue_ref,
        other_id=other_id,
        other_ref=other_ref,
        link_type=LinkType(link_type),
        created_at=datetime.fromisoformat(created_at) if created_at else None,
        author=SourceUser(username, name, email) if username is not None else None,
        other_project=json.loads(row[10]),
    )
