"""What an issue change changed, recorded in its event (GitLab's `changes`: previous/current)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.db.models import Issue, IssueAssignee, IssueLabel, Label, User
from issuegraph.events.payloads import utc_text

# Issue attributes under GitLab's names.
_FIELDS = {
    "title": "title",
    "description": "description",
    "state": "state",
    "status": "status",
    "priority": "priority",
    "confidential": "confidential",
    "discussion_locked": "discussion_locked",
    "weight": "weight",
    "deadline": "due_date",
    "milestone_id": "milestone_id",
    "closed_at": "closed_at",
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(session: Session, issue: Issue, *, labels: bool, assignees: bool) -> dict[str, Any]:
    """The issue's tracked values now; labels and assignees only when the change may touch them."""
    values = {name: _plain(getattr(issue, attr)) for attr, name in _FIELDS.items()}
    if labels:
        values["labels"] = [
            {"id": lid, "title": name, "color": color}
            for lid, name, color in session.execute(
                select(Label.id, Label.name, Label.color)
                .join(IssueLabel, IssueLabel.label_id == Label.id)
                .where(IssueLabel.issue_id == issue.id)
                .order_by(Label.name, Label.id)
            )
        ]
    if assignees:
        values["assignees"] = [
            {"id": uid, "name": name, "username": username}
            for uid, name, username in session.execute(
                select(User.id, User.name, User.username)
                .join(IssueAssignee, IssueAssignee.user_id == User.id)
                .where(IssueAssignee.issue_id == issue.id)
                .order_by(IssueAssignee.position)
            )
        ]
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"previous": before[name], "current": after[name]}
        for name in before
        if name in after and before[name] != after[name]
    }


def issue_record(issue: Issue) -> dict[str, Any]:
    """What a deleted issue's event keeps of it, so its hooks can still describe it."""
    return {
        "id": issue.id,
        "iid": issue.iid,
        "project_id": issue.project_id,
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "status": issue.status,
        "confidential": issue.confidential,
        "author_id": issue.author_id,
        "weight": issue.weight,
    }
