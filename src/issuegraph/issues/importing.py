"""Trusted import of issues, comments, labels and milestones (used by `issuegraph import`).

An import keeps what the source says: the issue's number (iid), author, times and state. Only
an administrator may do that, and every other rule (title, description, weight, one iid per
project, labels and milestones of the issue's own project) is the one `service.py` applies.
Imports are silent: their outbox rows say so, so nobody is notified of history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuegraph.activity import service as activity
from issuegraph.db.models import Issue, Label, Milestone, Note, Project
from issuegraph.domain.errors import Conflict, Invalid
from issuegraph.domain.statuses import BY_SLUG, PRIORITIES
from issuegraph.issues import repository as repo
from issuegraph.issues.service import IssueFields, _set_assignees, _set_labels, _validate
from issuegraph.projects.service import ProjectAccess


@dataclass
class ImportedIssue:
    """An issue as the source has it, users, labels and milestone already resolved to local ids."""

    iid: int
    title: str
    description: str
    state: str  # opened / closed
    author_id: int
    created_at: datetime
    updated_at: datetime
    status: str | None = None  # a SourceCraft status slug; None: derived from `state`
    priority: str | None = None
    confidential: bool = False
    discussion_locked: bool = False
    weight: int | None = None
    deadline: datetime | None = None
    updated_by_id: int | None = None
    closed_by_id: int | None = None
    closed_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    milestone_id: int | None = None
    assignee_ids: list[int] = field(default_factory=list)
    label_ids: list[int] = field(default_factory=list)


def _status(data: ImportedIssue) -> str:
    if data.status in BY_SLUG and BY_SLUG[data.status].gitlab_state == data.state:
        return data.status
    return "closed" if data.state == "closed" else "open"


def import_issue(
    session: Session, access: ProjectAccess, data: ImportedIssue, existing: Issue | None
) -> Issue:
    """Create the issue with the source's iid (or bring `existing` up to date)."""
    user = access.actor.require_admin()
    access.actor.require_write()
    _validate(IssueFields(title=data.title, description=data.description, weight=data.weight), creating=True)
    if data.state not in ("opened", "closed"):
        raise Invalid("invalid_state", f"unknown state {data.state!r}", details={"field": "state"})
    if data.iid < 1:
        raise Invalid("invalid_iid", "iid must be positive", details={"field": "iid"})
    project_id = access.project.id
    issue = existing
    if issue is None:
        if repo.by_iid(session, project_id, data.iid) is not None:
            raise Conflict("iid_taken", f"{access.project.full_path}#{data.iid} exists and was not imported")
        issue = Issue(project_id=project_id, iid=data.iid)
        session.add(issue)
    elif issue.project_id != project_id or issue.iid != data.iid:
        raise Conflict("iid_taken", "the imported issue moved to another project or number")
    _check_own(session, project_id, data)
    status = _status(data)
    issue.title = data.title.strip()
    issue.description = data.description
    issue.state = data.state
    issue.status = status
    issue.priority = data.priority if data.priority in PRIORITIES else (issue.priority or "normal")
    issue.confidential = data.confidential
    issue.discussion_locked = data.discussion_locked
    issue.weight = data.weight
    issue.deadline = data.deadline
    issue.author_id = data.author_id
    issue.updated_by_id = data.updated_by_id or data.author_id
    issue.closed_by_id = data.closed_by_id if data.state == "closed" else None
    issue.closed_at = (
        (data.closed_at or data.completed_at or data.updated_at) if data.state == "closed" else None
    )
    issue.started_at = data.started_at
    issue.completed_at = data.completed_at or (issue.closed_at if data.state == "closed" else None)
    issue.milestone_id = data.milestone_id
    issue.created_at = data.created_at
    issue.updated_at = data.updated_at
    session.flush()
    session.execute(
        update(Project)
        .where(Project.id == project_id, Project.last_issue_iid < data.iid)
        .values(last_issue_iid=data.iid)
    )
    _set_assignees(session, access, issue, data.assignee_ids)
    _set_labels(session, project_id, issue, data.label_ids)
    kind = "issue.create" if existing is None else "issue.update"
    activity.record_event(session, kind, project_id, issue.id, None, user.id, True)
    session.flush()
    return issue


def _check_own(session: Session, project_id: int, data: ImportedIssue) -> None:
    if data.milestone_id is not None:
        milestone = session.get(Milestone, data.milestone_id)
        if milestone is None or milestone.project_id != project_id:
            raise Invalid("milestone_not_found", "the milestone is not the project's")
    if data.label_ids:
        found = set(
            session.scalars(
                select(Label.id).where(Label.project_id == project_id, Label.id.in_(data.label_ids))
            )
        )
        if found != set(data.label_ids):
            raise Invalid("label_not_found", "a label is not the project's")


def restore_updated_at(session: Session, issue_id: int, updated_at: datetime) -> None:
    """Put back the source's updated_at after writes (comments, links) that touch the issue."""
    session.execute(update(Issue).where(Issue.id == issue_id).values(updated_at=updated_at))


def import_note(
    session: Session,
    issue: Issue,
    *,
    author_id: int,
    body: str,
    created_at: datetime,
    updated_at: datetime,
    existing: Note | None,
) -> Note:
    """A user comment with the source's author and times (the issue's updated_at is left alone)."""
    if not body or not body.strip():
        raise Invalid("body_missing", "body is missing", details={"field": "body"})
    note = existing
    if note is None:
        note = Note(issue_id=issue.id, system=False)
        session.add(note)
    note.author_id = author_id
    note.body = body
    note.created_at = created_at
    note.updated_at = updated_at
    session.flush()
    return note


def import_label(
    session: Session, project_id: int, *, name: str, color: str | None, description: str | None
) -> Label:
    """The project's label of that name, created or brought up to date."""
    name = name.strip()
    if not name:
        raise Invalid("name_missing", "name is missing", details={"field": "name"})
    label = repo.labels_by_names(session, project_id, [name]).get(name)
    if label is None:
        label = Label(project_id=project_id, name=name)
        session.add(label)
    label.color = color or label.color or "#6699cc"
    if description is not None or label.description is None:
        label.description = description or ""
    session.flush()
    return label


def import_milestone(
    session: Session,
    project_id: int,
    *,
    title: str,
    description: str | None,
    state: str,
    start_date: datetime | None,
    due_date: datetime | None,
    created_at: datetime | None,
    updated_at: datetime | None,
) -> Milestone:
    """The project's milestone of that title, created or brought up to date."""
    title = title.strip()
    if not title:
        raise Invalid("title_missing", "title is missing", details={"field": "title"})
    milestone = session.scalar(
        select(Milestone).where(Milestone.project_id == project_id, Milestone.title == title)
    )
    if milestone is None:
        top = session.scalar(
            select(Milestone.iid)
            .where(Milestone.project_id == project_id)
            .order_by(Milestone.iid.desc())
            .limit(1)
        )
        milestone = Milestone(project_id=project_id, iid=(top or 0) + 1, title=title)
        session.add(milestone)
    milestone.description = description or ""
    milestone.state = "closed" if state == "closed" else "active"
    milestone.start_date = start_date
    milestone.due_date = due_date
    if created_at is not None:
        milestone.created_at = created_at
    if updated_at is not None:
        milestone.updated_at = updated_at
    session.flush()
    return milestone
