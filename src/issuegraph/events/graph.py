"""The graph's own events, written in the transaction of the change that causes them.

- `issue.blocked`: an open issue's first open blocker appears (a `blocks` link from an open
  issue, or a blocker reopened);
- `issue.unblocked`: its last open blocker is closed, deleted or unlinked: it is ready to work on;
- `issue.children_done`: the last open sub-issue of a parent closes.

Only `blocks` links and state changes cost a query here; other changes none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from issuegraph.activity import service as activity
from issuegraph.db.models import Issue, IssueLink

_SOURCE = aliased(Issue)


def _open_blockers(session: Session, issue_ids: list[int]) -> dict[int, int]:
    if not issue_ids:
        return {}
    rows = session.execute(
        select(IssueLink.target_id, func.count())
        .join(_SOURCE, _SOURCE.id == IssueLink.source_id)
        .where(
            IssueLink.target_id.in_(issue_ids),
            IssueLink.link_type == "blocks",
            _SOURCE.state == "opened",
        )
        .group_by(IssueLink.target_id)
    )
    return {int(t): int(n) for t, n in rows}


def _record(
    session: Session, kind: str, issue: Any, actor_id: int | None, silent: bool, cause: dict[str, Any]
) -> None:
    activity.record_event(session, kind, issue.project_id, issue.id, None, actor_id, silent, {"cause": cause})


def _targets_of(session: Session, blocker_id: int) -> list[Any]:
    return list(
        session.execute(
            select(Issue.id, Issue.project_id)
            .join(IssueLink, IssueLink.target_id == Issue.id)
            .where(
                IssueLink.source_id == blocker_id, IssueLink.link_type == "blocks", Issue.state == "opened"
            )
            .order_by(Issue.id)
        )
    )


def after_blocks_link(
    session: Session, source: Issue, target: Issue, *, created: bool, actor_id: int | None, silent: bool
) -> None:
    """A `blocks` link from `source` to `target` was created or removed."""
    if source.state != "opened" or target.state != "opened":
        return
    count = _open_blockers(session, [target.id]).get(target.id, 0)
    cause = {"kind": "issue_link.created" if created else "issue_link.deleted", "blocker_id": source.id}
    if created and count == 1:
        _record(session, "issue.blocked", target, actor_id, silent, cause)
    elif not created and count == 0:
        _record(session, "issue.unblocked", target, actor_id, silent, cause)


def after_state_change(
    session: Session, issue: Issue, *, closed: bool, actor_id: int | None, silent: bool
) -> None:
    """`issue` was closed (or reopened): its targets may be unblocked (blocked), its parent done."""
    targets = _targets_of(session, issue.id)
    counts = _open_blockers(session, [t.id for t in targets])
    cause = {"kind": "issue.closed" if closed else "issue.reopened", "blocker_id": issue.id}
    for target in targets:
        count = counts.get(target.id, 0)
        if closed and count == 0:
            _record(session, "issue.unblocked", target, actor_id, silent, cause)
        elif not closed and count == 1:
            _record(session, "issue.blocked", target, actor_id, silent, cause)
    if closed:
        _children_done(session, issue, actor_id, silent)


def _children_done(session: Session, child: Issue, actor_id: int | None, silent: bool) -> None:
    parent = session.execute(
        select(Issue.id, Issue.project_id)
        .join(IssueLink, IssueLink.source_id == Issue.id)
        .where(IssueLink.target_id == child.id, IssueLink.link_type == "parent_of")
    ).first()
    if parent is None:
        return
    child_row = aliased(Issue)
    still_open = session.scalar(
        select(func.count())
        .select_from(IssueLink)
        .join(child_row, child_row.id == IssueLink.target_id)
        .where(
            IssueLink.source_id == parent.id, IssueLink.link_type == "parent_of", child_row.state == "opened"
        )
    )
    if not still_open:
        _record(
            session,
            "issue.children_done",
            parent,
            actor_id,
            silent,
            {"kind": "issue.closed", "child_id": child.id},
        )


def before_delete(session: Session, issue: Issue, *, actor_id: int | None, silent: bool) -> None:
    """`issue` is about to be deleted: the issues it alone blocked become ready."""
    if issue.state != "opened":
        return
    targets = _targets_of(session, issue.id)
    counts = _open_blockers(session, [t.id for t in targets])
    for target in targets:
        if counts.get(target.id, 0) == 1:
            _record(
                session,
                "issue.unblocked",
                target,
                actor_id,
                silent,
                {"kind": "issue.deleted", "blocker_id": issue.id},
            )
