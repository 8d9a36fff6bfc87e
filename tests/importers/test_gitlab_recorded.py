"""The GitLab importer on responses written from GitLab's documented JSON, replayed by a loopback
server: fields issuegraph's own server never sends (epic, iteration, time stats, health status,
award emoji...) are ignored, 429 with Retry-After is waited out, system notes are left behind."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from issuegraph.db.engine import Database
from issuegraph.db.models import GroupMember, Issue, IssueLink, Label, Milestone, Note, ProjectMember, User
from issuegraph.importers.core import Importer, Options
from issuegraph.importers.gitlab import GitLabSource

RECORDED = json.loads((Path(__file__).parent / "recorded" / "gitlab.json").read_text())
THROTTLED = "/api/v4/projects/3/issues/6/notes"


class Replay(BaseHTTPRequestHandler):
    hits: dict[str, list[float]]
    broken: set[str]  # paths whose connection drops without an answer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.hits.setdefault(path, []).append(time.monotonic())
        if path in self.broken:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif path == THROTTLED and len(self.hits[path]) == 1:
            self._send(429, {"message": "429 Too Many Requests"}, {"Retry-After": "1"})
        elif path in RECORDED:
            self._send(200, RECORDED[path])
        else:
            self._send(404, {"message": "404 Not found"})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


BROKEN: set[str] = set()


@pytest.fixture
def replay() -> Iterator[tuple[str, dict[str, list[float]]]]:
    hits: dict[str, list[float]] = {}
    BROKEN.clear()
    handler = type("Handler", (Replay,), {"hits": hits, "broken": BROKEN})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_documented_gitlab_json_imports_and_extra_fields_are_ignored(
    database: Database, replay: tuple[str, dict[str, list[float]]]
) -> None:
    """Every mapped field lands; epics, iterations, time stats and system notes do not break or leak."""
    url, hits = replay
    source = GitLabSource(url, "t0ken", projects=["acme/api"])
    summary = Importer(database, source, Options(workers=2)).run()
    source.gl.session.close()
    assert summary.failures == []
    assert [(p.ref, p.reason) for p in summary.skipped] == [
        ("acme/api#6 related_to other/place#12", "the other issue is outside the import (see --follow-links)")
    ]
    counts = {f"{k}.{o}": n for (k, o), n in summary.counts.items()}
    assert counts["issue.imported"] == 2 and counts["note.imported"] == 1 and counts["link.imported"] == 1
    with database.session() as session:
        issue = session.scalar(select(Issue).where(Issue.iid == 6))
        assert issue is not None
        users = {u.id: u.username for u in session.scalars(select(User))}
        assert (issue.title, issue.state, issue.status, issue.confidential, issue.weight) == (
            "Consequatur vero maxime deserunt laboriosam est voluptas dolorem.",
            "closed",
            "closed",
            True,
            3,
        )
        assert users[issue.author_id] == "raymond_smith" and users[issue.closed_by_id or 0] == "root"
        assert issue.created_at == datetime(2016, 1, 4, 15, 31, 51, 81000, tzinfo=UTC)
        assert issue.closed_at == datetime(2016, 1, 5, 15, 31, 46, 176000, tzinfo=UTC)
        assert issue.deadline == datetime(2016, 1, 31, tzinfo=UTC)
        milestone = session.get(Milestone, issue.milestone_id)
        assert milestone is not None and (milestone.title, milestone.description) == ("10.0", "Version")
        label = session.scalar(select(Label).where(Label.name == "bug"))
        assert label is not None and (label.color, label.description) == ("#d9534f", "Bug reported by user")
        notes = session.scalars(select(Note).where(Note.issue_id == issue.id, Note.system.is_(False))).all()
        assert [(n.body, users[n.author_id or 0]) for n in notes] == [("Text of the comment\r\n", "john_doe")]
        link = session.scalar(select(IssueLink))
        assert link is not None and (link.link_type, link.source_id) == ("blocks", issue.id)
        assert link.created_at == datetime(2016, 1, 6, 10, tzinfo=UTC)
        members = {(users[m.user_id], m.access_level) for m in session.scalars(select(ProjectMember))}
        assert ("john_doe", 30) in members
        group_members = {(users[m.user_id], m.access_level) for m in session.scalars(select(GroupMember))}
        assert ("raymond_smith", 50) in group_members
    first, second = hits[THROTTLED]
    assert second - first >= 1.0  # Retry-After: 1 was waited out


def test_dropped_connection_on_one_item_is_reported_and_the_run_goes_on(
    database: Database, replay: tuple[str, dict[str, list[float]]]
) -> None:
    """A request that keeps failing is retried, then reported with its reason; the rest is imported."""
    url, hits = replay
    BROKEN.add("/api/v4/projects/3/issues/7/links")
    source = GitLabSource(url, "t0ken", projects=["acme/api"], attempts=2, client_retries=1)
    summary = Importer(database, source, Options(workers=2)).run()
    source.gl.session.close()
    assert [(p.kind, p.ref) for p in summary.failures] == [("link", "links of acme/api#7")]
    assert len(hits["/api/v4/projects/3/issues/7/links"]) == 4  # 2 attempts x (1 + 1 client retry)
    counts = {f"{k}.{o}": n for (k, o), n in summary.counts.items()}
    assert counts["issue.imported"] == 2 and counts["link.imported"] == 1


def test_dry_run_writes_nothing(database: Database, replay: tuple[str, dict[str, list[float]]]) -> None:
    """--dry-run counts what would be imported and leaves the database as it was."""
    url, _ = replay
    source = GitLabSource(url, "t0ken", projects=["acme/api"])
    summary = Importer(database, source, Options(dry_run=True)).run()
    source.gl.session.close()
    counts = {f"{k}.{o}": n for (k, o), n in summary.counts.items()}
    assert counts["issue.imported"] == 2 and counts["link.imported"] == 1
    with database.session() as session:
        assert session.scalars(select(Issue)).all() == []
        assert session.scalars(select(User).where(User.username == "john_doe")).all() == []


def test_user_map_renames_source_users(
    database: Database, replay: tuple[str, dict[str, list[float]]]
) -> None:
    """--user-map sends a source username to an existing local user; nobody else is created for it."""
    url, _ = replay
    source = GitLabSource(url, "t0ken", projects=["acme/api"])
    Importer(database, source, Options(user_map={"raymond_smith": "root"})).run()
    source.gl.session.close()
    with database.session() as session:
        issue = session.scalar(select(Issue).where(Issue.iid == 6))
        assert issue is not None and session.get(User, issue.author_id).username == "root"  # type: ignore[union-attr]
        assert session.scalars(select(User).where(User.username == "raymond_smith")).all() == []
