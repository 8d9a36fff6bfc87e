"""The change feed: events in commit order (`seq`), scoped and filtered by what the caller reads.

A cursor is the last `seq` seen. `seq` is given when delivery picks an event up, in the order
events became visible, so a cursor never skips an event that commits late (ids are handed out
before commit and do not have that property). Events appear once dispatched: `issuegraph serve`
does that in-process within milliseconds, or `issuegraph worker`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.db.models import Event, Issue
from issuegraph.domain.errors import Invalid
from issuegraph.events.payloads import iso
from issuegraph.graph import service as graph
from issuegraph.issues import repository as issues_repo
from issuegraph.issues.service import readable_filter
from issuegraph.projects.service import ProjectAccess

_TYPES = {
    "issue.create": "issue.created",
    "issue.delete": "issue.deleted",
    "issue_comment.create": "note.created",
    "issue_link.create": "issue_link.created",
    "issue_link.delete": "issue_link.deleted",
}


@dataclass(frozen=True)
class FeedScope:
    """The readable projects the feed covers (one project, or a group's readable projects)."""

    accesses: dict[int, ProjectAccess]


def scope_of(session: Session, actor: Actor, project: str | None, group: str | None) -> FeedScope:
    """The feed of one project or of a group (its subgroups too) as this caller reads it now;
    the project's or group's not-found when the caller cannot read it.

    A stream asks again before it sends anything new (see `has_new`): what a caller may read is
    what they may read when an event is sent, not when the stream was opened (a member removed
    since, a revoked token, a project made private)."""
    if (project is None) == (group is None):
        raise Invalid("scope_missing", "give exactly one of project or group", details={"field": "project"})
    if project is not None:
        return FeedScope(graph.project_scope(session, actor, project).accesses)
    assert group is not None
    return FeedScope(graph.group_scope(session, actor, group).accesses)


def has_new(session: Session, scope: FeedScope, after: int) -> bool:
    """Whether any event of the scope's projects follows `after` (one indexed query: what a
    stream asks every poll, before it checks the caller again and reads a page)."""
    if not scope.accesses:
        return False
    found = session.scalar(
        select(Event.seq)
        .where(Event.seq.is_not(None), Event.seq > after, Event.project_id.in_(sorted(scope.accesses)))
        .limit(1)
    )
    return found is not None


def event_type(event: Event) -> str:
    if event.kind == "issue.update":
        changes: Any = dict(event.payload or {}).get("changes") or {}
        state = changes.get("state") if isinstance(changes, dict) else None
        current = state.get("current") if isinstance(state, dict) else None
        return {"closed": "issue.closed", "opened": "issue.reopened"}.get(str(current), "issue.updated")
    return _TYPES.get(event.kind, event.kind)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if cursor.isdigit():  # Last-Event-ID carries the seq itself
        return int(cursor)
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "seq" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("invalid_cursor", "cursor is invalid", details={"field": "cursor"}) from exc


def page(
    session: Session, actor: Actor, scope: FeedScope, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` readable events after `after`; returns them and the cursor to go on from
    (it advances past unreadable events too, so a client never re-reads them)."""
    project_ids = sorted(scope.accesses)
    if not project_ids:
        return [], after
    rows = list(
        session.scalars(
            select(Event)
            .where(Event.seq.is_not(None), Event.seq > after, Event.project_id.in_(project_ids))
            .order_by(Event.seq)
            .limit(limit)
        )
    )
    if not rows:
        return [], after
    readable = _readable_issue_ids(session, actor, scope, rows)
    named = _readable_named_issues(session, actor, rows)
    items = [
        _item(e) for e in rows if (e.issue_id is None or e.issue_id in readable) and _named_issues(e) <= named
    ]
    last = rows[-1].seq
    assert last is not None
    return items, int(last)


def _readable_issue_ids(session: Session, actor: Actor, scope: FeedScope, rows: list[Event]) -> set[int]:
    ids = {e.issue_id for e in rows if e.issue_id is not None}
    issues = {i.id: i for i in session.scalars(select(Issue).where(Issue.id.in_(ids)))} if ids else {}
    assignees = issues_repo.assignee_ids(session, [i.id for i in issues.values() if i.confidential])
    readable: set[int] = set()
    for e in rows:
        if e.issue_id is None or e.project_id is None:
            continue
        access = scope.accesses.get(e.project_id)
        if access is None:
            continue
        issue = issues.get(e.issue_id)
        if issue is None:  # deleted since: shown to those who could read any of its issues
            record = dict(e.payload or {}).get("issue")
            confidential = bool(record.get("confidential")) if isinstance(record, dict) else True
            if not confidential or access.can_read_confidential:
                readable.add(e.issue_id)
            continue
        if access.can_read_issue(issue, assignees.get(issue.id, [])):
            readable.add(e.issue_id)
    return readable


_NAMING_KEYS = ("source_id", "target_id", "blocker_id", "child_id")


def _named_issues(event: Event) -> set[int]:
    """The other issues an event's data names: a link's two ends, the blocker behind
    `issue.blocked` / `issue.unblocked`, the child whose closing made `issue.children_done`. The
    reader must be able to read each of them too, or the event is left out (as a system note
    naming an unreadable issue is hidden)."""
    payload = dict(event.payload or {})
    found: set[int] = set()
    for container in (payload, payload.get("cause")):
        if not isinstance(container, dict):
            continue
        for key in _NAMING_KEYS:
            value = container.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value != event.issue_id:
                found.add(value)
    return found


def _readable_named_issues(session: Session, actor: Actor, rows: list[Event]) -> set[int]:
    ids = set().union(*(_named_issues(e) for e in rows))
    if not ids:
        return set()
    found = list(session.scalars(select(Issue).where(Issue.id.in_(sorted(ids)))))
    return {issue.id for issue in readable_filter(session, actor, found)}


def _item(event: Event) -> dict[str, Any]:
    return {
        "cursor": encode_cursor(int(event.seq or 0)),
        "seq": event.seq,
        "event_id": event.id,
        "type": event_type(event),
        "project_id": event.project_id,
        "issue_id": event.issue_id,
        "link_id": event.link_id,
        "actor_id": event.actor_id,
        "silent": event.silent,
        "created_at": iso(event.created_at),
        "data": dict(event.payload or {}),
    }
