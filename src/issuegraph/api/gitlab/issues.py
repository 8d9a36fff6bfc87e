"""GitLab issues: listed (offset or keyset pages), created, read, updated, deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import Params, resource_router
from issuegraph.api.gitlab.pagination import (
    Page,
    decode_cursor,
    encode_cursor,
    keyset_headers,
    offset_headers,
    page_of,
)
from issuegraph.api.gitlab.params import (
    bigint,
    bool_param,
    iid_path,
    int_param,
    list_param,
    project_ref,
    read_params,
    require,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.models import Issue
from issuegraph.db.pagination import KeysetPage, OffsetPage, PageRequest, sort_keys
from issuegraph.db.pagination import Page as Found
from issuegraph.db.sql import MAX_BIGINT
from issuegraph.domain.errors import Invalid
from issuegraph.events import subscriptions
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues
from issuegraph.issues.service import IssueFields, IssueFilters
from issuegraph.projects import service as projects

router = resource_router()


def _date(params: Params, name: str) -> datetime | None:
    value = str_param(params, name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC now, as stored: 0001-01-01T00:00+14:00 has no UTC date and is invalid.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise Invalid("invalid_parameter", f"{name} is invalid") from exc


def _fields(params: Params, *, creating: bool) -> IssueFields:
    fields = IssueFields(
        title=str_param(params, "title"),
        description=str_param(params, "description"),
        confidential=bool_param(params, "confidential"),
        discussion_locked=bool_param(params, "discussion_locked"),
        weight=int_param(params, "weight"),
        created_at=_date(params, "created_at") if creating else None,
    )
    if "due_date" in params:
        if params["due_date"] in (None, ""):
            fields.clear_deadline = True
        else:
            fields.deadline = _date(params, "due_date")
    ids = params.get("assignee_ids", params.get("assignee_ids[]"))
    if ids is not None or "assignee_id" in params:
        raw = ids if ids is not None else [params.get("assignee_id")]
        raw = raw if isinstance(raw, list) else str(raw).split(",")
        fields.assignee_ids = [bigint(x, "assignee_ids") for x in raw if x not in (None, "", 0, "0")]
    if "milestone_id" in params:
        mid = int_param(params, "milestone_id")
        if mid:
            fields.milestone_id = mid
        else:
            fields.clear_milestone = True
    if "labels" in params:
        fields.labels = list_param(params, "labels") or []
    if params.get("add_labels") is not None:
        fields.add_labels = list_param(params, "add_labels")
    if params.get("remove_labels") is not None:
        fields.remove_labels = list_param(params, "remove_labels")
    event = str_param(params, "state_event")
    if event is not None:
        if event not in ("close", "reopen"):
            raise Invalid("invalid_parameter", "state_event does not have a valid value")
        fields.status = "closed" if event == "close" else "open"
    return fields


def _filters(params: Params) -> IssueFilters:
    f = IssueFilters()
    state = str_param(params, "state")
    if state not in (None, "", "all", "opened", "closed"):
        raise Invalid("invalid_parameter", "state does not have a valid value")
    f.state = state if state in ("opened", "closed") else None
    labels = list_param(params, "labels")
    if labels:
        if [x.lower() for x in labels] == ["none"]:
            f.labels_none = True
        elif [x.lower() for x in labels] == ["any"]:
            f.labels_any = True
        else:
            f.labels = [x.strip() for x in labels if x.strip()]
    f.search = str_param(params, "search") or None
    iids = list_param(params, "iids")
    if iids is not None:
        f.iids = [bigint(x, "iids") for x in iids if x != ""]
    f.confidential = bool_param(params, "confidential")
    assignee = str_param(params, "assignee_id")
    if assignee is not None and assignee != "":
        if assignee.lower() == "none":
            f.assignee_none = True
        elif assignee.lower() == "any":
            f.assignee_any = True
        else:
            f.assignee_id = int_param(params, "assignee_id")
    f.assignee_username = str_param(params, "assignee_username") or None
    f.author_id = int_param(params, "author_id")
    f.author_username = str_param(params, "author_username") or None
    f.milestone_title = str_param(params, "milestone") or None
    f.blocked = bool_param(params, "blocked")
    f.created_after = _date(params, "created_after")
    f.created_before = _date(params, "created_before")
    f.updated_after = _date(params, "updated_after")
    f.updated_before = _date(params, "updated_before")
    return f


# GitLab's order_by names -> the service's sort fields.
_ORDER = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "id": "id",
    "due_date": "deadline",
    "title": "title",
    "weight": "weight",
}
_KEYSET_ORDER = ("created_at", "updated_at", "id")


def _page_request(params: Params) -> tuple[PageRequest, Page]:
    """The service's page request for GitLab's `order_by`, `sort`, `page`, `per_page`,
    `pagination=keyset` and `cursor`; the GitLab page too, for the headers."""
    order_by = str_param(params, "order_by") or "created_at"
    sort = str_param(params, "sort") or "desc"
    if order_by not in _ORDER:
        raise Invalid("invalid_parameter", "order_by does not have a valid value")
    if sort not in ("asc", "desc"):
        raise Invalid("invalid_parameter", "sort does not have a valid value")
    keys = sort_keys(_ORDER[order_by], sort == "desc")
    if str_param(params, "pagination") != "keyset":
        page = page_of(params)
        return OffsetPage(page.offset, page.per_page, keys), page
    if order_by not in _KEYSET_ORDER:
        raise Invalid("invalid_parameter", "order_by does not support keyset pagination")
    page = page_of(params)
    cursor = str_param(params, "cursor")
    return KeysetPage(page.per_page, keys, _cursor_position(cursor, order_by) if cursor else None), page


def _cursor_position(cursor: str, order_by: str) -> tuple[Any, ...]:
    """The sort values a cursor stands for: `(id,)` or `(value, id)`."""
    data = decode_cursor(cursor)
    try:
        last_id = int(data["id"])
        if abs(last_id) > MAX_BIGINT:
            raise ValueError(last_id)
        if order_by == "id":
            return (last_id,)
        return (datetime.fromisoformat(str(data["v"])), last_id)
    except (KeyError, ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "cursor is invalid") from exc


def _cursor(after: tuple[Any, ...]) -> str:
    value, last_id = after[0], after[-1]
    return encode_cursor({"id": last_id, "v": value.isoformat() if isinstance(value, datetime) else value})


def _issue_page(
    request: Request, session: Session, found: Found[Issue], wanted: PageRequest, page: Page
) -> Response:
    """The issues of one page, with GitLab's offset or keyset headers."""
    views = issues_repo.load_views(session, found.rows)
    body = [ser.issue(v) for v in views]
    if isinstance(wanted, KeysetPage):
        next_cursor = _cursor(found.next_after) if found.next_after is not None else None
        return json_response(body, headers=keyset_headers(request, page.per_page, next_cursor))
    return json_response(body, headers=offset_headers(request, page, found.total or 0))


@router.get(
    "/issues",
    responses={200: {"model": list[schemas.Issue]}},
    openapi_extra=schemas.query(
        scope={"type": "string", "enum": ["created_by_me", "assigned_to_me", "all"]}, **schemas.ISSUE_FILTERS
    ),
)
def list_all_issues(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    filters = _filters(params)
    scope = str_param(params, "scope") or "created_by_me"
    if scope not in ("created_by_me", "assigned_to_me", "all", "created-by-me", "assigned-to-me"):
        raise Invalid("invalid_parameter", "scope does not have a valid value")
    if scope.startswith("created"):
        filters.author_id = actor.user_id
    elif scope.startswith("assigned"):
        filters.assignee_id = actor.user_id
    wanted, page = _page_request(params)
    found = issues.list_visible_issues(session, actor, filters, wanted)
    return _issue_page(request, session, found, wanted, page)


@router.get(
    "/projects/{project_id}/issues",
    responses={200: {"model": list[schemas.Issue]}},
    openapi_extra=schemas.query(**schemas.ISSUE_FILTERS),
)
def list_project_issues(
    request: Request,
    project_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    access = projects.resolve_project(session, actor, project_ref(project_id))
    filters = _filters(params)
    wanted, page = _page_request(params)
    found = issues.list_project_issues(session, access, filters, wanted)
    return _issue_page(request, session, found, wanted, page)


@router.post(
    "/projects/{project_id}/issues",
    status_code=201,
    responses={201: {"model": schemas.Issue, "links": schemas.ISSUE_LINKS}},
    openapi_extra=schemas.body_of(schemas.IssueCreate),
)
def create_issue(
    project_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    require(params, "title")
    access = projects.resolve_project(session, actor, project_ref(project_id))
    issue = issues.create_issue(session, access, _fields(params, creating=True))
    return json_response(ser.issue(issues_repo.load_views(session, [issue])[0]), 201)


@router.get("/projects/{project_id}/issues/{issue_iid}", responses={200: {"model": schemas.Issue}})
def get_issue(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    iid = iid_path(issue_iid)
    issue, _ = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    subscribed = subscriptions.is_subscribed(session, issue, actor.user_id)
    return json_response(ser.issue(issues_repo.load_views(session, [issue])[0], subscribed=subscribed))


@router.put(
    "/projects/{project_id}/issues/{issue_iid}",
    responses={200: {"model": schemas.Issue}},
    openapi_extra=schemas.body_of(schemas.IssueUpdate, required=False),
)
def update_issue(
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    result = issues.update_issue(session, access, issue, _fields(params, creating=False))
    body = ser.issue(issues_repo.load_views(session, [result.issue])[0])
    if result.warnings:
        body["close_warnings"] = result.warnings
    return json_response(body)


@router.delete("/projects/{project_id}/issues/{issue_iid}", status_code=204)
def delete_issue(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    issues.delete_issue(session, access, issue)
    return Response(status_code=204)
