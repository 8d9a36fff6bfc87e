"""Issues (spec §9): list with filter, create, get, update, delete; `/me/issues`; comments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.dependencies import (
    DB,
    ISSUE,
    ISSUE_ID,
    REPO,
    REPO_ID,
    Authenticated,
    Silent,
    issue_filters,
    json_body,
    page,
    path_issue,
    path_repo,
)
from issuegraph.api.sourcecraft.pagination import PageRequest
from issuegraph.api.sourcecraft.params import canonical_number, present
from issuegraph.api.sourcecraft.schemas import CreateIssueBody, CreateIssueCommentBody, UpdateIssueBody
from issuegraph.db.models import Issue
from issuegraph.db.pagination import Page
from issuegraph.domain.errors import NotFound
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues
from issuegraph.issues.service import IssueFields, IssueFilters
from issuegraph.projects.service import ProjectAccess

router = APIRouter()

ISSUE_SORT: dict[str, Any] = {
    "created_at": "datetime",
    "updated_at": "datetime",
    "id": "int",
    "slug": "int",
    "title": "str",
}
_ISSUE_ATTRS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "id": "id",
    "slug": "iid",
    "title": "title",
}
COMMENT_SORT: dict[str, Any] = {"created_at": "datetime", "updated_at": "datetime", "id": "int"}

IssuePage = Depends(page(ISSUE_SORT, filtered=True))
PathIssue = Depends(path_issue)


def _issue_list(session: Session, found: Page[Issue], page_request: PageRequest) -> Response:
    views = issues_repo.load_views(session, found.rows)
    return json_response(ser.envelope("issues", [ser.issue(v) for v in views], page_request.token(found)))


def _issue_response(session: Session, issue: Issue, status: int = 200) -> Response:
    return json_response(ser.issue(issues_repo.load_views(session, [issue])[0]), status)


@router.get(REPO + "/issues")
@router.get(REPO_ID + "/issues")
def list_repository_issues(
    actor: Actor = Authenticated,
    page_request: PageRequest = IssuePage,
    filters: IssueFilters = Depends(issue_filters),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    found = issues.list_project_issues(session, access, filters, page_request.keyset(_ISSUE_ATTRS))
    return _issue_list(session, found, page_request)


@router.get("/me/issues")
def list_my_issues(
    actor: Actor = Authenticated,
    page_request: PageRequest = IssuePage,
    filters: IssueFilters = Depends(issue_filters),
    session: Session = DB,
) -> Response:
    """Issues the caller created or is assigned to, across every repository."""
    filters.mine_user_id = actor.user_id
    found = issues.list_visible_issues(session, actor, filters, page_request.keyset(_ISSUE_ATTRS))
    return _issue_list(session, found, page_request)


def _user_ids(value: str) -> list[int]:
    number = canonical_number(value)
    if number is None:
        raise NotFound("user_not_found", "assignee not found")
    return [number]


def _label_ids(session: Session, access: ProjectAccess, body: CreateIssueBody) -> list[int] | None:
    if body.label_ids is None and body.label_slugs is None:
        return None
    ids = [canonical_number(x) for x in body.label_ids or []]
    if None in ids:
        raise NotFound("label_not_found", "404 Label Not Found")
    found = issues.resolve_labels(session, access, ids=[i for i in ids if i], names=body.label_slugs)
    return [label.id for label in found]


def _milestone_id(session: Session, access: ProjectAccess, milestone_id: str | None, slug: str | None) -> int:
    number = canonical_number(milestone_id) if milestone_id else None
    if milestone_id and number is None:
        raise NotFound("milestone_not_found", "404 Milestone Not Found")
    return issues.resolve_milestone(session, access, milestone_id=number, title=slug).id


def _visibility(value: str | None) -> bool | None:
    return None if value is None else value == "private"


def _create_fields(session: Session, access: ProjectAccess, body: CreateIssueBody) -> IssueFields:
    if body.linked_pr_ids or body.linked_pr_slugs:
        raise NotFound("pull_request_not_found", "issuegraph has no pull requests")
    fields = IssueFields(
        title=body.title,
        description=body.description,
        status=present(body.status_slug),
        priority=body.priority,
        confidential=_visibility(body.visibility),
        deadline=body.deadline,
        label_ids=_label_ids(session, access, body),
    )
    if present(body.assignee_id):
        fields.assignee_ids = _user_ids(body.assignee_id or "")
    if present(body.milestone_id) or present(body.milestone_slug):
        fields.milestone_id = _milestone_id(
            session, access, present(body.milestone_id), present(body.milestone_slug)
        )
    return fields


def _update_fields(session: Session, access: ProjectAccess, body: UpdateIssueBody) -> IssueFields:
    fields = IssueFields(
        title=body.title,
        description=body.description,
        status=body.status_slug,
        priority=body.priority,
        confidential=_visibility(body.visibility),
    )
    if body.deadline == "":
        fields.clear_deadline = True
    elif body.deadline is not None:
        fields.deadline = body.deadline
    if body.assignee_id is not None:  # "pass empty to clear"
        fields.assignee_ids = _user_ids(body.assignee_id) if body.assignee_id else []
    if body.milestone_id == "":
        fields.clear_milestone = True
    elif body.milestone_id is not None:
        fields.milestone_id = _milestone_id(session, access, body.milestone_id, None)
    return fields


@router.post(REPO + "/issues", status_code=201)
@router.post(REPO_ID + "/issues", status_code=201)
def create_issue(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: CreateIssueBody = Depends(json_body(CreateIssueBody)),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    issue = issues.create_issue(session, access, _create_fields(session, access, body), silent=silent)
    return _issue_response(session, issue, 201)


@router.get(ISSUE)
@router.get(ISSUE_ID)
def get_issue(
    actor: Actor = Authenticated, path: tuple[Issue, ProjectAccess] = PathIssue, session: Session = DB
) -> Response:
    return _issue_response(session, path[0])


@router.patch(ISSUE)
@router.patch(ISSUE_ID)
def update_issue(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: UpdateIssueBody = Depends(json_body(UpdateIssueBody)),
    path: tuple[Issue, ProjectAccess] = PathIssue,
    session: Session = DB,
) -> Response:
    issue, access = path
    result = issues.update_issue(session, access, issue, _update_fields(session, access, body), silent=silent)
    answer = ser.issue(issues_repo.load_views(session, [result.issue])[0])
    if result.warnings:  # closed under the `warn` close policy: what is still open (issuegraph extension)
        answer["close_warnings"] = result.warnings
    return json_response(answer)


@router.delete(ISSUE, status_code=204)
@router.delete(ISSUE_ID, status_code=204)
def delete_issue(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    path: tuple[Issue, ProjectAccess] = PathIssue,
    session: Session = DB,
) -> Response:
    issue, access = path
    issues.delete_issue(session, access, issue, silent=silent)
    return Response(status_code=204)


# ---------------------------------------------------------------- comments


@router.get(ISSUE + "/comments")
@router.get(ISSUE_ID + "/comments")
def list_comments(
    actor: Actor = Authenticated,
    page_request: PageRequest = Depends(page(COMMENT_SORT)),
    path: tuple[Issue, ProjectAccess] = PathIssue,
    session: Session = DB,
) -> Response:
    """User comments only: GitLab's system notes are history, not comments."""
    found = issues.list_issue_notes(session, path[0], actor, page_request.keyset(), system=False)
    items, token = found.rows, page_request.token(found)
    authors = accounts_repo.users_by_id(session, [n.author_id for n in items if n.author_id])
    body = [ser.comment(n, authors.get(n.author_id or 0)) for n in items]
    return json_response(ser.envelope("issue_comments", body, token))


@router.post(ISSUE + "/comments", status_code=201)
@router.post(ISSUE_ID + "/comments", status_code=201)
def create_comment(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: CreateIssueCommentBody = Depends(json_body(CreateIssueCommentBody)),
    path: tuple[Issue, ProjectAccess] = PathIssue,
    session: Session = DB,
) -> Response:
    issue, access = path
    note = issues.create_note(session, access, issue, body.body or "", silent=silent)
    return json_response(ser.comment(note, actor.user), 201)
