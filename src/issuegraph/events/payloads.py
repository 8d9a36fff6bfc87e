"""Webhook bodies: GitLab's Issue Hook and Note Hook, and the native envelope.

GitLab shapes follow shared/spec/gitlab-webhooks.md §3. Values issuegraph has no notion of
(time tracking, repository URLs) are given GitLab's empty values so receivers parse them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from issuegraph import __version__
from issuegraph.db.models import Note
from issuegraph.domain.roles import Visibility
from issuegraph.issues.repository import IssueView

GITLAB_USER_AGENT = f"GitLab/18.0.0 (issuegraph {__version__})"
NATIVE_USER_AGENT = f"issuegraph/{__version__}"
_STATE_ID = {"opened": 1, "closed": 2}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(value: datetime | None) -> str | None:
    """The form GitLab uses inside `changes`: "2017-09-15 16:50:55 UTC"."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hook_user(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatar_url": None,
        "email": "[REDACTED]",  # issuegraph users have no public e-mail
    }


def hook_project(view: IssueView, base: str) -> dict[str, Any]:
    p, ns = view.project, view.namespace
    web = f"{base}/{p.full_path}"
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "web_url": web,
        "avatar_url": None,
        "git_ssh_url": None,
        "git_http_url": f"{web}.git",
        "namespace": ns.name,
        "visibility_level": Visibility.LEVEL.get(p.visibility, 0),
        "path_with_namespace": p.full_path,
        "default_branch": None,
        "ci_config_path": None,
        "homepage": web,
        "url": f"{web}.git",
        "ssh_url": None,
        "http_url": f"{web}.git",
    }


def hook_repository(view: IssueView, base: str) -> dict[str, Any]:
    web = f"{base}/{view.project.full_path}"
    return {
        "name": view.project.name,
        "url": f"{web}.git",
        "description": view.project.description,
        "homepage": web,
    }


def hook_labels(view: IssueView) -> list[dict[str, Any]]:
    return [
        {
            "id": label.id,
            "title": label.name,
            "color": label.color,
            "project_id": view.project.id,
            "created_at": None,
            "updated_at": None,
            "template": False,
            "description": None,
            "type": "ProjectLabel",
            "group_id": None,
        }
        for label in view.labels
    ]


def issue_attributes(view: IssueView, base: str, action: str | None) -> dict[str, Any]:
    i = view.issue
    assignee_ids = [u.id for u in view.assignees]
    data: dict[str, Any] = {
        "author_id": i.author_id,
        "closed_at": iso(i.closed_at),
        "confidential": i.confidential,
        "created_at": iso(i.created_at),
        "description": i.description,
        "discussion_locked": i.discussion_locked,
        "due_date": i.deadline.date().isoformat() if i.deadline else None,
        "id": i.id,
        "iid": i.iid,
        "last_edited_at": iso(i.updated_at),
        "last_edited_by_id": i.updated_by_id,
        "milestone_id": i.milestone_id,
        "moved_to_id": None,
        "duplicated_to_id": None,
        "project_id": i.project_id,
        "relative_position": None,
        "state_id": _STATE_ID.get(i.state, 1),
        "time_estimate": 0,
        "title": i.title,
        "updated_at": iso(i.updated_at),
        "updated_by_id": i.updated_by_id,
        "weight": i.weight,
        "type": "Issue",
        "url": f"{base}/{view.project.full_path}/-/issues/{i.iid}",
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": None,
        "human_time_change": None,
        "human_time_estimate": None,
        "assignee_ids": assignee_ids,
        "assignee_id": assignee_ids[0] if assignee_ids else None,
        "labels": hook_labels(view),
        "state": i.state,
        "severity": "unknown",
        "customer_relations_contacts": [],
        "status": i.status,  # issuegraph: the SourceCraft status behind state
    }
    if action is not None:
        data["action"] = action
    return data


def gitlab_issue(
    view: IssueView,
    actor: Any,
    action: str,
    changes: dict[str, Any],
    base: str,
    *,
    silent: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object_kind": "issue",
        "event_type": "confidential_issue" if view.issue.confidential else "issue",
        "user": hook_user(actor),
        "project": hook_project(view, base),
        "object_attributes": issue_attributes(view, base, action),
        "labels": hook_labels(view),
        "changes": changes,
        "repository": hook_repository(view, base),
    }
    if view.assignees:
        body["assignees"] = [hook_user(u) for u in view.assignees]
    if silent:
        body["silent"] = True
    return body


def gitlab_note(
    note: Note, view: IssueView, actor: Any, base: str, *, silent: bool = False
) -> dict[str, Any]:
    url = f"{base}/{view.project.full_path}/-/issues/{view.issue.iid}#note_{note.id}"
    body: dict[str, Any] = {
        "object_kind": "note",
        "event_type": "confidential_note" if view.issue.confidential else "note",
        "user": hook_user(actor),
        "project_id": view.project.id,
        "project": hook_project(view, base),
        "repository": hook_repository(view, base),
        "object_attributes": {
            "id": note.id,
            "note": note.body,
            "noteable_type": "Issue",
            "author_id": note.author_id,
            "created_at": utc_text(note.created_at),
            "updated_at": utc_text(note.updated_at),
            "project_id": view.project.id,
            "attachment": None,
            "line_code": None,
            "commit_id": "",
            "noteable_id": view.issue.id,
            "system": note.system,
            "st_diff": None,
            "internal": False,
            "action": "create",
            "url": url,
        },
        "issue": issue_attributes(view, base, None),
    }
    if silent:
        body["silent"] = True
    return body


def native_issue(view: IssueView, base: str) -> dict[str, Any]:
    i = view.issue
    return {
        "id": i.id,
        "iid": i.iid,
        "project_id": i.project_id,
        "reference": f"{view.project.full_path}#{i.iid}",
        "title": i.title,
        "state": i.state,
        "status": i.status,
        "confidential": i.confidential,
        "weight": i.weight,
        "labels": [label.name for label in view.labels],
        "assignee_ids": [u.id for u in view.assignees],
        "author_id": i.author_id,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "closed_at": iso(i.closed_at),
        "web_url": f"{base}/{view.project.full_path}/-/issues/{i.iid}",
    }


def native_envelope(
    event_type: str, event_id: int, created_at: datetime, actor: Any, silent: bool, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": event_type,
        "timestamp": iso(created_at),
        "event_id": event_id,
        "silent": silent,
        "actor": hook_user(actor),
        "data": data,
    }
