"""Issue use cases: create, read, update (status, close policy), delete, list, comments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.activity import service as activity
from issuegraph.db import pagination
from issuegraph.db.models import (
    GroupMember,
    Issue,
    IssueAssignee,
    IssueLabel,
    IssueLink,
    Label,
    Milestone,
    Namespace,
    Note,
    Project,
    ProjectMember,
    User,
    utcnow,
)
from issuegraph.db.pagination import Columns, Page, PageRequest
from issuegraph.db.sql import MAX_INT, contains_text
from issuegraph.domain.errors import Conflict, Forbidden, Invalid, NotFound
from issuegraph.domain.roles import AccessLevel
from issuegraph.domain.statuses import BY_SLUG, PRIORITIES
from issuegraph.events import changes
from issuegraph.events import graph as graph_events
from issuegraph.graph import repository as graph_repo
from issuegraph.issues import repository as repo
from issuegraph.projects import repository as projects_repo
from issuegraph.projects.service import (
    ProjectAccess,
    access_by_project_ids,
    issue_by_iid,
    resolve_project_and_issue,
)

MAX_TITLE = 1024
MAX_DESCRIPTION = 1_048_576  # one domain-wide limit, above SourceCraft's 64 KB
MAX_NOTE = 1_000_000  # GitLab's limit on a note's body, in characters


# ---------------------------------------------------------------- lookup


def resolve_issue(session: Session, access: ProjectAccess, iid: int) -> Issue:
    """An issue the caller can read, or NotFound('issue_not_found')."""
    issue = issue_by_iid(session, access.project.id, iid)
    if issue is None or not _readable(session, access, issue):
        raise NotFound("issue_not_found", "404 Not found")
    return issue


def resolve_issue_in(
    session: Session, actor: Actor, project_ref: str | int, iid: int, *, also: int | None = None
) -> tuple[Issue, ProjectAccess]:
    """The project (404 Project Not Found) and its issue (404 Not found) an issue URL names,
    read in one query (with the project's issue `also`, for a later call: see
    resolve_project_and_issue)."""
    access, issue = resolve_project_and_issue(session, actor, project_ref, iid, also=also)
    if issue is None or not _readable(session, access, issue):
        raise NotFound("issue_not_found", "404 Not found")
    return issue, access


def resolve_issue_by_id(session: Session, actor: Actor, issue_id: int) -> tuple[Issue, ProjectAccess]:
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise NotFound("issue_not_found", "404 Not found")
    access = access_by_project_ids(session, actor, [issue.project_id])[issue.project_id]
    if not _readable(session, access, issue):
        raise NotFound("issue_not_found", "404 Not found")
    return issue, access


def _readable(session: Session, access: ProjectAccess, issue: Issue) -> bool:
    if not access.can_read:
        return False
    if not issue.confidential or access.can_read_confidential:
        return True
    return access.can_read_issue(issue, repo.assignee_ids(session, [issue.id]).get(issue.id, []))


def readable_filter(session: Session, actor: Actor, issues: list[Issue]) -> list[Issue]:
    """Keep the issues the caller may read (batched: a fixed number of queries)."""
    if not issues:
        return []
    accesses = access_by_project_ids(session, actor, {i.project_id for i in issues})
    confidential = [i.id for i in issues if i.confidential]
    assignees = repo.assignee_ids(session, confidential) if confidential else {}
    return [i for i in issues if accesses[i.project_id].can_read_issue(i, assignees.get(i.id, []))]


# ---------------------------------------------------------------- create / update


@dataclass
class IssueFields:
    """Face-neutral issue attributes; None means 'not given'."""

    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    confidential: bool | None = None
    discussion_locked: bool | None = None
    weight: int | None = None
    deadline: datetime | None = None
    clear_deadline: bool = False
    assignee_ids: list[int] | None = None
    milestone_id: int | None = None
    clear_milestone: bool = False
    labels: list[str] | None = None
    add_labels: list[str] | None = None
    remove_labels: list[str] | None = None
    label_ids: list[int] | None = None
    created_at: datetime | None = None


@dataclass
class UpdateResult:
    issue: Issue
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _validate(fields: IssueFields, *, creating: bool) -> None:
    if creating and not (fields.title or "").strip():
        raise Invalid("title_missing", "title is missing", details={"field": "title"})
    if fields.title is not None and (not fields.title.strip() or len(fields.title) > MAX_TITLE):
        raise Invalid(
            "title_invalid",
            f"title is too long (maximum is {MAX_TITLE} characters)"
            if fields.title.strip()
            else "title can't be blank",
            details={"field": "title"},
        )
    if fields.description is not None and len(fields.description) > MAX_DESCRIPTION:
        raise Invalid("description_too_long", "description is too long", details={"field": "description"})
    if fields.status is not None and fields.status not in BY_SLUG:
        raise Invalid("invalid_status", f"unknown status {fields.status!r}", details={"field": "status_slug"})
    if fields.priority is not None and fields.priority not in PRIORITIES:
        raise Invalid(
            "invalid_priority", f"unknown priority {fields.priority!r}", details={"field": "priority"}
        )
    if fields.weight is not None and fields.weight > MAX_INT:
        raise Invalid("invalid_weight", f"weight must be at most {MAX_INT}", details={"field": "weight"})
    if fields.weight is not None and fields.weight < 0:
        raise Invalid(
            "invalid_weight", "weight must be greater than or equal to 0", details={"field": "weight"}
        )


def create_issue(
    session: Session, access: ProjectAccess, fields: IssueFields, *, silent: bool = False
) -> Issue:
    user = access.actor.require_write()
    if not access.can_create_issue:
        raise Forbidden("forbidden", "403 Forbidden")
    _validate(fields, creating=True)
    planner = access.can_update_issue(Issue(author_id=-1))  # may set privileged fields
    now = utcnow()
    issue = Issue(
        project_id=access.project.id,
        iid=repo.next_iid(session, access.project.id),
        title=(fields.title or "").strip(),
        description=fields.description or "",
        status="open",
        state="opened",
        priority=fields.priority or "normal",
        confidential=bool(fields.confidential),
        discussion_locked=bool(fields.discussion_locked),
        weight=fields.weight,
        deadline=fields.deadline,
        author_id=user.id,
        updated_by_id=user.id,
        created_at=fields.created_at if (fields.created_at and access.actor.is_admin) else now,
        updated_at=now,
    )
    session.add(issue)
    session.flush()
    if fields.status and fields.status != "open":
        _apply_status(issue, fields.status, user)
    if planner:
        _apply_relations(session, access, issue, fields)
    activity.record_event(session, "issue.create", access.project.id, issue.id, None, user.id, silent)
    session.flush()
    return issue


def _apply_relations(session: Session, access: ProjectAccess, issue: Issue, fields: IssueFields) -> None:
    if fields.assignee_ids is not None:
        _set_assignees(session, access, issue, fields.assignee_ids)
    if fields.clear_milestone:
        issue.milestone_id = None
    elif fields.milestone_id is not None:
        milestone = session.get(Milestone, fields.milestone_id)
        if milestone is None or milestone.project_id != access.project.id:
            raise NotFound("milestone_not_found", "404 Milestone Not Found")
        issue.milestone_id = milestone.id
    if fields.labels is not None:
        _set_labels(session, access.project.id, issue, _label_ids(session, access.project.id, fields.labels))
    if fields.label_ids is not None:
        valid = set(
            session.scalars(
                select(Label.id).where(Label.project_id == access.project.id, Label.id.in_(fields.label_ids))
            )
        )
        if len(valid) != len(set(fields.label_ids)):
            raise NotFound("label_not_found", "404 Label Not Found")
        _set_labels(session, access.project.id, issue, list(valid))
    if fields.add_labels or fields.remove_labels:
        current = set(session.scalars(select(IssueLabel.label_id).where(IssueLabel.issue_id == issue.id)))
        current |= set(_label_ids(session, access.project.id, fields.add_labels or []))
        removed = repo.labels_by_names(session, access.project.id, fields.remove_labels or [])
        current -= {label.id for label in removed.values()}
        _set_labels(session, access.project.id, issue, list(current))


def _label_ids(session: Session, project_id: int, names: list[str]) -> list[int]:
    names = [n.strip() for n in names if n and n.strip()]
    existing = repo.labels_by_names(session, project_id, names)
    ids = []
    for name in dict.fromkeys(names):
        label = existing.get(name)
        if label is None:  # GitLab creates unknown labels on the fly
            label = Label(project_id=project_id, name=name, color="#6699cc")
            session.add(label)
            session.flush()
        ids.append(label.id)
    return ids


def _set_labels(session: Session, project_id: int, issue: Issue, label_ids: list[int]) -> None:
    session.execute(delete(IssueLabel).where(IssueLabel.issue_id == issue.id))
    for label_id in dict.fromkeys(label_ids):
        session.add(IssueLabel(issue_id=issue.id, label_id=label_id))
    session.flush()


def _set_assignees(session: Session, access: ProjectAccess, issue: Issue, user_ids: list[int]) -> None:
    user_ids = [u for u in dict.fromkeys(user_ids) if u]
    if user_ids:
        found = set(session.scalars(select(User.id).where(User.id.in_(user_ids))))
        if found != set(user_ids):
            raise NotFound("user_not_found", "404 User Not Found")
    session.execute(delete(IssueAssignee).where(IssueAssignee.issue_id == issue.id))
    for position, uid in enumerate(user_ids):
        session.add(IssueAssignee(issue_id=issue.id, user_id=uid, position=position))
    session.flush()


def _apply_status(issue: Issue, slug: str, user: User) -> None:
    status = BY_SLUG[slug]
    now = utcnow()
    was_open = issue.state == "opened"
    issue.status = slug
    issue.state = status.gitlab_state
    if status.status_type == "in_progress":
        issue.started_at = now
    if not status.is_open:
        issue.completed_at = now
        if was_open:
            issue.closed_at = now
            issue.closed_by_id = user.id
    else:
        issue.closed_at = None
        issue.closed_by_id = None


def open_blockers_and_children(session: Session, issue: Issue) -> tuple[list[Issue], list[Issue]]:
    blockers = list(
        session.scalars(
            select(Issue)
            .join(IssueLink, IssueLink.source_id == Issue.id)
            .where(IssueLink.target_id == issue.id, IssueLink.link_type == "blocks", Issue.state == "opened")
            .order_by(Issue.id)
        )
    )
    children = list(
        session.scalars(
            select(Issue)
            .join(IssueLink, IssueLink.target_id == Issue.id)
            .where(
                IssueLink.source_id == issue.id, IssueLink.link_type == "parent_of", Issue.state == "opened"
            )
            .order_by(Issue.id)
        )
    )
    return blockers, children


def update_issue(
    session: Session, access: ProjectAccess, issue: Issue, fields: IssueFields, *, silent: bool = False
) -> UpdateResult:
    user = access.actor.require_write()
    if not access.can_update_issue(issue):
        raise Forbidden("forbidden", "403 Forbidden")
    _validate(fields, creating=False)
    result = UpdateResult(issue=issue)
    touches = _touches_relations(fields)
    before = changes.snapshot(session, issue, labels=touches[0], assignees=touches[1])
    if fields.title is not None:
        issue.title = fields.title.strip()
    if fields.description is not None:
        issue.description = fields.description
    if fields.priority is not None:
        issue.priority = fields.priority
    if fields.confidential is not None:
        issue.confidential = fields.confidential
    if fields.discussion_locked is not None:
        issue.discussion_locked = fields.discussion_locked
    if fields.weight is not None:
        issue.weight = fields.weight
    if fields.clear_deadline:
        issue.deadline = None
    elif fields.deadline is not None:
        issue.deadline = fields.deadline
    _apply_relations(session, access, issue, fields)
    if fields.status is not None and fields.status != issue.status:
        closing = issue.state == "opened" and not BY_SLUG[fields.status].is_open
        reopening = issue.state == "closed" and BY_SLUG[fields.status].is_open
        if closing:
            result.warnings = _close_policy(session, access, issue)
        _apply_status(issue, fields.status, user)
        if closing:
            activity.add_system_note(session, issue.id, user.id, "closed", "closed")
            if access.project.close_duplicates:
                _close_duplicates(session, issue, user)
        elif reopening:
            activity.add_system_note(session, issue.id, user.id, "reopened", "reopened")
        if closing or reopening:
            session.flush()
            graph_events.after_state_change(session, issue, closed=closing, actor_id=user.id, silent=silent)
    issue.updated_at = utcnow()
    issue.updated_by_id = user.id
    after = changes.snapshot(session, issue, labels=touches[0], assignees=touches[1])
    activity.record_event(
        session,
        "issue.update",
        access.project.id,
        issue.id,
        None,
        user.id,
        silent,
        {"changes": changes.diff(before, after)},
    )
    session.flush()
    return result


def _touches_relations(fields: IssueFields) -> tuple[bool, bool]:
    """Whether an update may change the labels, the assignees (then their change is recorded)."""
    labels = any(
        v is not None for v in (fields.labels, fields.label_ids, fields.add_labels, fields.remove_labels)
    )
    return labels, fields.assignee_ids is not None


def _close_policy(session: Session, access: ProjectAccess, issue: Issue) -> list[dict[str, Any]]:
    policy = access.project.close_policy
    if policy == "allow":
        return []
    blockers, children = open_blockers_and_children(session, issue)
    readable_blockers = readable_filter(session, access.actor, blockers)
    readable_children = readable_filter(session, access.actor, children)
    still_open: list[dict[str, Any]] = []
    still_open += [
        {"reason": "open_blocker", "issue_id": i.id, "iid": i.iid, "project_id": i.project_id}
        for i in readable_blockers
    ]
    still_open += [
        {"reason": "open_child", "issue_id": i.id, "iid": i.iid, "project_id": i.project_id}
        for i in readable_children
    ]
    hidden = len(blockers) + len(children) - len(readable_blockers) - len(readable_children)
    if hidden:
        still_open.append({"reason": "hidden", "count": hidden})
    if not still_open:
        return []
    if policy == "deny":
        raise Conflict(
            "close_denied",
            "Issue cannot be closed: it has open blockers or open sub-issues",
            details={"open": still_open},
        )
    return still_open


def _close_duplicates(session: Session, issue: Issue, user: User) -> None:
    duplicates = list(
        session.scalars(
            select(Issue)
            .join(IssueLink, IssueLink.source_id == Issue.id)
            .where(
                IssueLink.target_id == issue.id, IssueLink.link_type == "duplicates", Issue.state == "opened"
            )
        )
    )
    for dup in duplicates:
        _apply_status(dup, "duplicate", user)
        dup.updated_at = utcnow()
        activity.add_system_note(session, dup.id, user.id, "closed", "closed")


def delete_issue(session: Session, access: ProjectAccess, issue: Issue, *, silent: bool = False) -> None:
    user = access.actor.require_write()
    if not access.can_delete_issue:
        raise Forbidden("forbidden", "403 Forbidden")
    graph_events.before_delete(session, issue, actor_id=user.id, silent=silent)
    activity.record_event(
        session,
        "issue.delete",
        access.project.id,
        issue.id,
        None,
        user.id,
        silent,
        {"issue": changes.issue_record(issue)},
    )
    session.execute(delete(Issue).where(Issue.id == issue.id))
    session.flush()


# ---------------------------------------------------------------- listing


@dataclass
class IssueFilters:
    state: str | None = None  # opened / closed / None = all
    statuses: list[str] | None = None
    priority: list[str] | None = None
    labels: list[str] | None = None  # all must match
    labels_none: bool = False
    labels_any: bool = False
    search: str | None = None
    title_prefix: str | None = None
    iids: list[int] | None = None
    confidential: bool | None = None
    assignee_id: int | None = None
    assignee_none: bool = False
    assignee_any: bool = False
    assignee_username: str | None = None
    author_id: int | None = None
    author_username: str | None = None
    milestone_title: str | None = None
    milestone_id: int | None = None
    blocked: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    comparisons: list[tuple[str, str, Any]] = field(default_factory=list)  # (column, op, value)
    mine_user_id: int | None = None  # /me/issues: author or assignee


def project_issue_query(session: Session, access: ProjectAccess, filters: IssueFilters) -> Select[Issue]:
    query = select(Issue).where(Issue.project_id == access.project.id)
    query = query.where(repo.visible_in_project_clause(access.actor.user_id, access.can_read_confidential))  # type: ignore[arg-type]
    return _apply_filters(query, filters)


def scope_issue_query(
    session: Session, actor: Actor, project_ids: Iterable[int], filters: IssueFilters
) -> Select[Issue]:
    """Issues of the projects `project_ids` (a group's, say) that the caller can read."""
    return visible_issue_query(session, actor, filters).where(Issue.project_id.in_(project_ids))


def visible_issue_query(session: Session, actor: Actor, filters: IssueFilters) -> Select[Issue]:
    """Issues across every project the caller can read."""
    query = select(Issue).where(
        Issue.project_id.in_(
            select(Project.id).where(projects_repo.visible_projects_clause(actor.user_id, actor.is_admin))
        )
    )
    if not actor.is_admin:
        conf: list[ColumnElement[bool]] = [Issue.confidential.is_(False)]
        if actor.user_id is not None:
            uid = actor.user_id
            conf += [
                Issue.author_id == uid,
                select(IssueAssignee.issue_id)
                .where(IssueAssignee.issue_id == Issue.id, IssueAssignee.user_id == uid)
                .exists(),
                Issue.project_id.in_(
                    select(ProjectMember.project_id).where(
                        ProjectMember.user_id == uid, ProjectMember.access_level >= AccessLevel.PLANNER
                    )
                ),
                Issue.project_id.in_(_planner_group_projects(uid)),
            ]
        query = query.where(or_(*conf))
    return _apply_filters(query, filters)


def _planner_group_projects(user_id: int) -> Any:
    g = Namespace.__table__.alias("pg")
    n = Namespace.__table__.alias("pn")
    return (
        select(Project.id)
        .join(n, n.c.id == Project.namespace_id)
        .join(g, (n.c.id == g.c.id) | n.c.traversal_ids.like(g.c.traversal_ids + "/%"))
        .join(
            GroupMember,
            (GroupMember.namespace_id == g.c.id)
            & (GroupMember.user_id == user_id)
            & (GroupMember.access_level >= AccessLevel.PLANNER),
        )
    )


_COLUMNS = {"created_at": Issue.created_at, "updated_at": Issue.updated_at, "deadline": Issue.deadline}


def _apply_filters(query: Select[Issue], f: IssueFilters) -> Select[Issue]:
    conditions: list[Any] = []
    if f.state in ("opened", "closed"):
        conditions.append(Issue.state == f.state)
    if f.statuses:
        conditions.append(Issue.status.in_(f.statuses))
    if f.priority:
        conditions.append(Issue.priority.in_(f.priority))
    if f.search:
        matches = [contains_text(Issue.title, f.search), contains_text(Issue.description, f.search)]
        conditions.append(or_(*matches))
    if f.title_prefix:
        conditions.append(
            func.lower(Issue.title).like(_escape_like(f.title_prefix.lower()) + "%", escape="\\")
        )
    if f.iids is not None:  # an iid no INTEGER holds names no issue (and must not reach the database)
        conditions.append(Issue.iid.in_([iid for iid in f.iids if abs(iid) <= MAX_INT]))
    if f.confidential is not None:
        conditions.append(Issue.confidential.is_(f.confidential))
    if f.author_id is not None:
        conditions.append(Issue.author_id == f.author_id)
    if f.author_username:
        conditions.append(Issue.author_id.in_(select(User.id).where(User.username == f.author_username)))
    assignee_exists = select(IssueAssignee.issue_id).where(IssueAssignee.issue_id == Issue.id)
    if f.assignee_id is not None:
        conditions.append(assignee_exists.where(IssueAssignee.user_id == f.assignee_id).exists())
    if f.assignee_username:
        conditions.append(
            assignee_exists.where(
                IssueAssignee.user_id.in_(select(User.id).where(User.username == f.assignee_username))
            ).exists()
        )
    if f.assignee_none:
        conditions.append(~assignee_exists.exists())
    if f.assignee_any:
        conditions.append(assignee_exists.exists())
    label_exists = (
        select(IssueLabel.issue_id)
        .join(Label, Label.id == IssueLabel.label_id)
        .where(IssueLabel.issue_id == Issue.id)
    )
    for name in f.labels or []:
        conditions.append(label_exists.where(Label.name == name).exists())
    if f.labels_none:
        conditions.append(~label_exists.exists())
    if f.labels_any:
        conditions.append(label_exists.exists())
    if f.milestone_id is not None:
        conditions.append(Issue.milestone_id == f.milestone_id)
    if f.milestone_title:
        conditions.append(
            Issue.milestone_id.in_(select(Milestone.id).where(Milestone.title == f.milestone_title))
        )
    if f.blocked is not None:
        conditions.append(graph_repo.blocked_clause() if f.blocked else graph_repo.not_blocked_clause())
    if f.created_after:
        conditions.append(Issue.created_at >= f.created_after)
    if f.created_before:
        conditions.append(Issue.created_at <= f.created_before)
    if f.updated_after:
        conditions.append(Issue.updated_at >= f.updated_after)
    if f.updated_before:
        conditions.append(Issue.updated_at <= f.updated_before)
    for column, op, value in f.comparisons:
        col = _COLUMNS[column]
        conditions.append(
            {
                "=": col == value,
                "!=": col != value,
                ">": col > value,
                ">=": col >= value,
                "<": col < value,
                "<=": col <= value,
            }[op]
        )
    if f.mine_user_id is not None:
        conditions.append(
            or_(
                Issue.author_id == f.mine_user_id,
                assignee_exists.where(IssueAssignee.user_id == f.mine_user_id).exists(),
            )
        )
    return query.where(and_(*conditions)) if conditions else query


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---------------------------------------------------------------- comments, labels, milestones


def list_notes(session: Session, issue: Issue, actor: Actor, *, system: bool | None = None) -> Select[Note]:
    """The notes of `issue` that `actor` may see. A system note that names another issue (a link's
    "marked this issue as blocked by grp/prj#5") is left out unless the actor may read that issue,
    as GitLab hides it: its text would leak the path, iid or existence of what the actor cannot
    see. The condition is part of the query, so counts and pages agree with what is shown."""
    query = select(Note).where(Note.issue_id == issue.id)
    if system is not None:
        query = query.where(Note.system.is_(system))
    if system is not False and not actor.is_admin:
        readable = visible_issue_query(session, actor, IssueFilters()).with_only_columns(Issue.id)
        query = query.where(or_(Note.referenced_issue_id.is_(None), Note.referenced_issue_id.in_(readable)))
    return query


def create_note(
    session: Session, access: ProjectAccess, issue: Issue, body: str, *, silent: bool = False
) -> Note:
    user = access.actor.require_write()
    if not body or not body.strip():
        raise Invalid("body_missing", "body is missing", details={"field": "body"})
    if len(body) > MAX_NOTE:
        raise Invalid(
            "body_too_long", f"body is too long (maximum is {MAX_NOTE} characters)", details={"field": "body"}
        )
    if issue.discussion_locked and not access.can_update_issue(Issue(author_id=-1)):
        raise Forbidden("discussion_locked", "403 Forbidden")
    note = Note(issue_id=issue.id, author_id=user.id, body=body, system=False)
    session.add(note)
    session.flush()
    session.execute(update(Issue).where(Issue.id == issue.id).values(updated_at=utcnow()))
    activity.record_event(
        session,
        "issue_comment.create",
        access.project.id,
        issue.id,
        None,
        user.id,
        silent,
        {"note_id": note.id},
    )
    session.flush()
    return note


def create_label(
    session: Session, access: ProjectAccess, *, name: str, color: str | None, description: str | None
) -> Label:
    access.actor.require_write()
    if not access.can_update_issue(Issue(author_id=-1)):
        raise Forbidden("forbidden", "403 Forbidden")
    if not name or not name.strip():
        raise Invalid("name_missing", "name is missing", details={"field": "name"})
    if repo.labels_by_names(session, access.project.id, [name.strip()]):
        raise Conflict("label_exists", "Label already exists")
    label = Label(
        project_id=access.project.id,
        name=name.strip(),
        color=color or "#6699cc",
        description=description or "",
    )
    session.add(label)
    session.flush()
    return label


def create_milestone(
    session: Session,
    access: ProjectAccess,
    *,
    title: str,
    description: str | None,
    start_date: datetime | None,
    due_date: datetime | None,
) -> Milestone:
    user = access.actor.require_write()
    if not access.can_update_issue(Issue(author_id=-1)):
        raise Forbidden("forbidden", "403 Forbidden")
    if not title or not title.strip():
        raise Invalid("title_missing", "title is missing", details={"field": "title"})
    exists = session.scalar(
        select(Milestone.id).where(
            Milestone.project_id == access.project.id, Milestone.title == title.strip()
        )
    )
    if exists is not None:
        raise Conflict("milestone_exists", "Milestone already exists")
    iid = (
        session.scalar(select(func.max(Milestone.iid)).where(Milestone.project_id == access.project.id)) or 0
    ) + 1
    milestone = Milestone(
        project_id=access.project.id,
        iid=iid,
        title=title.strip(),
        description=description or "",
        start_date=start_date,
        due_date=due_date,
        author_id=user.id,
    )
    session.add(milestone)
    session.flush()
    return milestone


def label_query(access: ProjectAccess) -> Select[Label]:
    """The project's labels, unordered (`list_labels` pages them)."""
    return select(Label).where(Label.project_id == access.project.id)


def milestone_query(access: ProjectAccess) -> Select[Milestone]:
    """The project's milestones, unordered (`list_milestones` pages them)."""
    return select(Milestone).where(Milestone.project_id == access.project.id)


def resolve_labels(
    session: Session, access: ProjectAccess, *, ids: list[int] | None = None, names: list[str] | None = None
) -> list[Label]:
    """Existing labels of the project, named by id or by name; NotFound if any is missing.

    Unlike GitLab's `labels=` (which creates unknown names), a face that addresses labels
    as resources must not invent them.
    """
    wanted_ids, wanted_names = set(ids or []), set(names or [])
    found: dict[int, Label] = {}
    if wanted_ids:
        found.update(
            (label.id, label)
            for label in session.scalars(
                select(Label).where(Label.project_id == access.project.id, Label.id.in_(wanted_ids))
            )
        )
    by_name = repo.labels_by_names(session, access.project.id, wanted_names)
    found.update((label.id, label) for label in by_name.values())
    if wanted_ids - found.keys() or wanted_names - by_name.keys():
        raise NotFound("label_not_found", "404 Label Not Found")
    return sorted(found.values(), key=lambda label: label.name)


def resolve_milestone(
    session: Session, access: ProjectAccess, *, milestone_id: int | None = None, title: str | None = None
) -> Milestone:
    """A milestone of the project, by id or by title; NotFound otherwise."""
    query = milestone_query(access)
    query = query.where(Milestone.id == milestone_id) if milestone_id is not None else query
    query = query.where(Milestone.title == title) if title is not None else query
    milestone = session.scalar(query) if (milestone_id is not None or title is not None) else None
    if milestone is None:
        raise NotFound("milestone_not_found", "404 Milestone Not Found")
    return milestone


def issue_labels(session: Session, issue: Issue) -> list[Label]:
    return list(
        session.scalars(
            select(Label)
            .join(IssueLabel, IssueLabel.label_id == Label.id)
            .where(IssueLabel.issue_id == issue.id)
            .order_by(Label.name, Label.id)
        )
    )


def change_labels(
    session: Session,
    access: ProjectAccess,
    issue: Issue,
    labels: list[Label],
    *,
    mode: str,
    silent: bool = False,
) -> list[Label]:
    """Add, remove or replace an issue's labels; returns the resulting set.

    Goes through `update_issue`, so permission, `updated_by` and the outbox row are those of
    any other edit.
    """
    if mode not in ("add", "remove", "replace"):
        raise ValueError(mode)
    current = {label.id for label in issue_labels(session, issue)}
    given = {label.id for label in labels}
    result = {"add": current | given, "remove": current - given, "replace": given}[mode]
    update_issue(session, access, issue, IssueFields(label_ids=sorted(result)), silent=silent)
    return issue_labels(session, issue)


# ---------------------------------------------------------------- lists, one page at a time
# Faces pass a page request (issuegraph.db.pagination) with these sort field names.

ISSUE_SORT_COLUMNS: Columns = {
    "created_at": Issue.created_at,
    "updated_at": Issue.updated_at,
    "id": Issue.id,
    "iid": Issue.iid,
    "title": Issue.title,
    "deadline": Issue.deadline,
    "weight": Issue.weight,
}
NOTE_SORT_COLUMNS: Columns = {"created_at": Note.created_at, "updated_at": Note.updated_at, "id": Note.id}
LABEL_SORT_COLUMNS: Columns = {"name": Label.name, "created_at": Label.created_at, "id": Label.id}
MILESTONE_SORT_COLUMNS: Columns = {
    "title": Milestone.title,
    "created_at": Milestone.created_at,
    "updated_at": Milestone.updated_at,
    "id": Milestone.id,
}


def list_project_issues(
    session: Session, access: ProjectAccess, filters: IssueFilters, page: PageRequest
) -> Page[Issue]:
    """One page of the project's issues that the caller can read."""
    return pagination.fetch(session, project_issue_query(session, access, filters), page, ISSUE_SORT_COLUMNS)


def list_visible_issues(
    session: Session, actor: Actor, filters: IssueFilters, page: PageRequest
) -> Page[Issue]:
    """One page of the issues across every project the caller can read."""
    return pagination.fetch(session, visible_issue_query(session, actor, filters), page, ISSUE_SORT_COLUMNS)


def list_issue_notes(
    session: Session, issue: Issue, actor: Actor, page: PageRequest, *, system: bool | None = None
) -> Page[Note]:
    """One page of the notes of an issue that `actor` may see (`system=False`: comments only)."""
    return pagination.fetch(
        session, list_notes(session, issue, actor, system=system), page, NOTE_SORT_COLUMNS
    )


def list_scope_issues(
    session: Session, actor: Actor, project_ids: Iterable[int], filters: IssueFilters, page: PageRequest
) -> Page[Issue]:
    """One page of the issues of `project_ids` that the caller can read."""
    query = scope_issue_query(session, actor, project_ids, filters)
    return pagination.fetch(session, query, page, ISSUE_SORT_COLUMNS)


def count_project_issues(session: Session, access: ProjectAccess, filters: IssueFilters) -> int:
    """How many of the project's issues match `filters` and the caller can read: one COUNT."""
    return pagination.count(session, project_issue_query(session, access, filters))


def count_scope_issues(
    session: Session, actor: Actor, project_ids: Iterable[int], filters: IssueFilters
) -> int:
    """How many issues of `project_ids` match `filters` and the caller can read: one COUNT."""
    return pagination.count(session, scope_issue_query(session, actor, project_ids, filters))


def project_issue_ids(session: Session, access: ProjectAccess, filters: IssueFilters) -> list[int]:
    """The ids of the project's issues that match `filters` and the caller can read."""
    query = project_issue_query(session, access, filters).with_only_columns(Issue.id)
    return list(session.scalars(query))


def timeline_rows(
    session: Session, issue: Issue, actor: Actor, *, latest: int | None
) -> tuple[list[Any], bool]:
    """The notes of an issue the caller may see, oldest first, as rows of (author_id, body,
    system, created_at): all of them when `latest` is None, else the latest `latest` (one
    statement reading one row more) and whether earlier ones were left out.

    Rows, not ORM objects: an issue with 100 links has 100 system notes, and loading them as
    objects was half of the issue page's time."""
    query = list_notes(session, issue, actor).with_only_columns(
        Note.author_id, Note.body, Note.system, Note.created_at
    )
    if latest is None:
        return list(session.execute(query.order_by(Note.created_at, Note.id)).all()), False
    newest = query.order_by(Note.created_at.desc(), Note.id.desc()).limit(latest + 1)
    rows = list(session.execute(newest).all())
    return rows[:latest][::-1], len(rows) > latest


def find_link_targets(
    session: Session,
    actor: Actor,
    filters: IssueFilters,
    *,
    within: ProjectAccess | None,
    first_project_id: int,
    exclude_id: int,
    limit: int,
) -> list[Issue]:
    """Up to `limit` issues the caller can read matching `filters`, in `within`'s project or in
    every readable project: those of `first_project_id` first, then newest first; the issue
    `exclude_id` (the one being linked from) left out."""
    if within is not None:
        query = project_issue_query(session, within, filters)
    else:
        query = visible_issue_query(session, actor, filters)
    here_first = case((Issue.project_id == first_project_id, 0), else_=1)
    ordered = query.where(Issue.id != exclude_id).order_by(here_first, Issue.id.desc()).limit(limit)
    return list(session.scalars(ordered))


def list_labels(session: Session, access: ProjectAccess, page: PageRequest) -> Page[Label]:
    return pagination.fetch(session, label_query(access), page, LABEL_SORT_COLUMNS)


def list_milestones(session: Session, access: ProjectAccess, page: PageRequest) -> Page[Milestone]:
    return pagination.fetch(session, milestone_query(access), page, MILESTONE_SORT_COLUMNS)
