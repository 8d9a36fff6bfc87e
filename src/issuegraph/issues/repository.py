"""All queries about issues, and the batched loads that serialising a page needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from issuegraph.db import records
from issuegraph.db.models import (
    Issue,
    IssueAssignee,
    IssueLabel,
    IssueLink,
    Label,
    Milestone,
    Namespace,
    Note,
    Project,
)
from issuegraph.db.sql import MAX_INT, DriverQuery, in_ids


def next_iid(session: Session, project_id: int) -> int:
    """Hand out the project's next issue number; the row lock serialises concurrent creators."""
    iid = session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(last_issue_iid=Project.last_issue_iid + 1)
        .returning(Project.last_issue_iid)
    ).scalar_one()
    return int(iid)


# Statements on every request's path are built once.
_BY_IID = select(Issue).where(Issue.project_id == bindparam("project_id"), Issue.iid == bindparam("iid"))
_BY_IDS = select(Issue).where(in_ids(Issue.id))
_LOCK = select(Issue.id).where(in_ids(Issue.id)).order_by(Issue.id).with_for_update()


def by_iid(session: Session, project_id: int, iid: int) -> Issue | None:
    if abs(iid) > MAX_INT:  # no issue has an iid its INTEGER column cannot hold
        return None
    return session.scalar(_BY_IID, {"project_id": project_id, "iid": iid})


def by_ids(session: Session, ids: Iterable[int]) -> dict[int, Issue]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {i.id: i for i in session.scalars(_BY_IDS, {"ids": list(wanted)})}


def assignee_ids(session: Session, issue_ids: Iterable[int]) -> dict[int, list[int]]:
    wanted = set(issue_ids)
    result: dict[int, list[int]] = defaultdict(list)
    if not wanted:
        return result
    rows = session.execute(
        select(IssueAssignee.issue_id, IssueAssignee.user_id)
        .where(IssueAssignee.issue_id.in_(wanted))
        .order_by(IssueAssignee.issue_id, IssueAssignee.position, IssueAssignee.user_id)
    )
    for issue_id, user_id in rows:
        result[issue_id].append(user_id)
    return result


def lock_issues(session: Session, ids: Iterable[int]) -> None:
    """Row-lock issues in id order (PostgreSQL; SQLite's write transaction already serialises)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return
    conn.execute(_LOCK, {"ids": sorted(set(ids))})


@dataclass
class IssueView:
    """An issue with everything its representations need, loaded in a fixed number of queries."""

    issue: Issue
    project: Project
    namespace: Namespace
    # Users and labels are read-only records (db.records) with the ORM attribute names.
    author: Any
    assignees: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    milestone: Milestone | None = None
    closed_by: Any = None
    updated_by: Any = None
    user_notes_count: int = 0
    blocking_issues_count: int = 0


_BLOCKED = Issue.__table__.alias("blocked")
_NOTES, _BLOCKING, _ASSIGNEE, _LABEL, _USER = 0, 1, 2, 3, 4
_USERS_T, _LABELS_T = records.USER.table, records.LABEL.table


def _text(value: Any = None) -> Any:
    return cast(null() if value is None else value, String)


# What a page of issues needs besides the issues, in one round trip, one row shape:
# (issue, _NOTES, user notes, 0, -, -, -), (issue, _BLOCKING, open issues it blocks, 0, -, -, -),
# (issue, _ASSIGNEE, user id, position, -, -, -), (issue, _LABEL, label id, 0, name, color, -),
# and (0, _USER, user id, 0, username, name, state) for every user the issues name (authors,
# closers, editors, assignees). Users and labels come back as brief records (db.records).
_FACTS = DriverQuery(
    union_all(
        select(
            Note.issue_id,
            literal_column(str(_NOTES)),
            func.count(),
            literal_column("0"),
            _text(),
            _text(),
            _text(),
        )
        # "= false", not "IS false": only the former lets PostgreSQL use ix_notes_issue_id_user.
        .where(in_ids(Note.issue_id), Note.system == false())
        .group_by(Note.issue_id),
        select(
            IssueLink.source_id,
            literal_column(str(_BLOCKING)),
            func.count(),
            literal_column("0"),
            _text(),
            _text(),
            _text(),
        )
        .where(
            in_ids(IssueLink.source_id),
            IssueLink.link_type == literal_column("'blocks'"),
            # A lookup per blocks link of these issues, whatever the statistics say: a join let a
            # generic plan start from every open issue.
            select(_BLOCKED.c.state).where(_BLOCKED.c.id == IssueLink.target_id).scalar_subquery()
            == literal_column("'opened'"),
        )
        .group_by(IssueLink.source_id),
        select(
            IssueAssignee.issue_id,
            literal_column(str(_ASSIGNEE)),
            IssueAssignee.user_id,
            IssueAssignee.position,
            _text(),
            _text(),
            _text(),
        ).where(in_ids(IssueAssignee.issue_id)),
        select(
            IssueLabel.issue_id,
            literal_column(str(_LABEL)),
            _LABELS_T.c.id,
            literal_column("0"),
            _text(_LABELS_T.c.name),
            _text(_LABELS_T.c.color),
            _text(),
        )
        .join(_LABELS_T, _LABELS_T.c.id == IssueLabel.label_id)
        .where(in_ids(IssueLabel.issue_id)),
        select(
            literal_column("0"),
            literal_column(str(_USER)),
            _USERS_T.c.id,
            literal_column("0"),
            _text(_USERS_T.c.username),
            _text(_USERS_T.c.name),
            _text(_USERS_T.c.state),
        ).where(in_ids(_USERS_T.c.id, "user_ids")),
        # Assignees by their key, not "id IN (...) OR ...", which read the whole users table.
        # A user assigned to several of the issues comes once per issue; the reader keeps one.
        select(
            literal_column("0"),
            literal_column(str(_USER)),
            _USERS_T.c.id,
            literal_column("0"),
            _text(_USERS_T.c.username),
            _text(_USERS_T.c.name),
            _text(_USERS_T.c.state),
        )
        .join(IssueAssignee, IssueAssignee.user_id == _USERS_T.c.id)
        .where(in_ids(IssueAssignee.issue_id)),
    )
)


def _projects(session: Session, project_ids: set[int]) -> dict[int, tuple[Project, Namespace]]:
    """Projects with namespaces; those this session already holds cost no query."""
    known: dict[int, tuple[Project, Namespace]] = {}
    for pid in project_ids:
        project = session.identity_map.get(identity_key(Project, pid))
        if project is not None:
            namespace = session.identity_map.get(identity_key(Namespace, project.namespace_id))
            if namespace is not None:
                known[pid] = (project, namespace)
    missing = project_ids - known.keys()
    if missing:
        rows = session.execute(
            select(Project, Namespace)
            .join(Namespace, Namespace.id == Project.namespace_id)
            .where(Project.id.in_(missing))
        )
        known.update((p.id, (p, n)) for p, n in rows)
    return known


def load_views(session: Session, issues: Sequence[Issue]) -> list[IssueView]:
    """One query whatever the number of issues (two with milestones)."""
    if not issues:
        return []
    ids = [i.id for i in issues]
    projects = _projects(session, {i.project_id for i in issues})
    notes: dict[int, int] = {}
    blocking: dict[int, int] = {}
    assigned: dict[int, list[tuple[int, int]]] = defaultdict(list)
    labels: dict[int, list[Any]] = defaultdict(list)
    users: dict[int, Any] = {}
    user_ids = list({x for i in issues for x in (i.author_id, i.closed_by_id, i.updated_by_id) if x})
    conn = session.connection()  # a Core statement: rows, not ORM objects (see db.records)
    for issue_id, kind, number, position, a, b, c in _FACTS.rows(conn, {"ids": ids, "user_ids": user_ids}):
        if kind == _NOTES:
            notes[issue_id] = number
        elif kind == _BLOCKING:
            blocking[issue_id] = number
        elif kind == _ASSIGNEE:
            assigned[issue_id].append((position, number))
        elif kind == _LABEL:
            labels[issue_id].append(records.LabelBrief(number, a, b))
        else:
            users[number] = records.UserBrief(number, a, b, c)
    milestone_ids = {i.milestone_id for i in issues if i.milestone_id}
    milestones = (
        {m.id: m for m in session.scalars(select(Milestone).where(Milestone.id.in_(milestone_ids)))}
        if milestone_ids
        else {}
    )
    views = []
    for issue in issues:
        project, namespace = projects[issue.project_id]
        views.append(
            IssueView(
                issue=issue,
                project=project,
                namespace=namespace,
                author=users.get(issue.author_id),
                assignees=[users[u] for _, u in sorted(assigned.get(issue.id, [])) if u in users],
                labels=sorted(labels.get(issue.id, []), key=lambda label: label.name),
                milestone=milestones.get(issue.milestone_id) if issue.milestone_id else None,
                closed_by=users.get(issue.closed_by_id) if issue.closed_by_id else None,
                updated_by=users.get(issue.updated_by_id) if issue.updated_by_id else None,
                user_notes_count=int(notes.get(issue.id, 0)),
                blocking_issues_count=int(blocking.get(issue.id, 0)),
            )
        )
    return views


def labels_by_names(session: Session, project_id: int, names: Iterable[str]) -> dict[str, Label]:
    wanted = [n for n in names if n]
    if not wanted:
        return {}
    return {
        label.name: label
        for label in session.scalars(
            select(Label).where(Label.project_id == project_id, Label.name.in_(wanted))
        )
    }


def visible_in_project_clause(user_id: int | None, can_read_confidential: bool) -> object:
    if can_read_confidential:
        return and_(True)
    conditions: list[ColumnElement[bool]] = [Issue.confidential.is_(False)]
    if user_id is not None:
        conditions.append(Issue.author_id == user_id)
        conditions.append(
            select(IssueAssignee.issue_id)
            .where(IssueAssignee.issue_id == Issue.id, IssueAssignee.user_id == user_id)
            .exists()
        )
    return or_(*conditions)
