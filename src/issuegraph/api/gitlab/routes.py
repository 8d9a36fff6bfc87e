"""GitLab REST API v4 routes: translate the request, call one service, serialise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts import service as accounts
from issuegraph.accounts.service import Actor
from issuegraph.api.deps import READ_METHODS, get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.pagination import (
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
from issuegraph.api.routing import FaceRouter, hot_routes_first
from issuegraph.db.models import Issue, Note
from issuegraph.db.sql import MAX_BIGINT
from issuegraph.domain.errors import Invalid, NotFound
from issuegraph.domain.links import from_gitlab_name
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues
from issuegraph.issues.service import IssueFields, IssueFilters
from issuegraph.links import service as links
from issuegraph.projects import service as projects

# Any token may revoke itself, whatever its scopes (GitLab 15.4): a leaked read_api token too.
_ANY_SCOPE_WRITES = frozenset({"/api/v4/personal_access_tokens/self"})


async def _writes_need_api_scope(request: Request, actor: Actor = Depends(get_actor)) -> None:
    """Every GitLab write needs a user with an `api` token, checked before the request is read:
    401 without a token, 403 insufficient_scope for read_api, ahead of any 400 or 404 (as GitLab)."""
    if request.method in READ_METHODS:
        return
    route = request.scope.get("route")
    if route is not None and getattr(route, "path", None) in _ANY_SCOPE_WRITES:
        actor.require_user()
    else:
        actor.require_write()


router = FaceRouter(
    prefix="/api/v4",
    tags=["gitlab"],
    responses=schemas.ERRORS,
    dependencies=[Depends(_writes_need_api_scope)],
)

Params = dict[str, Any]


# ---------------------------------------------------------------- users and tokens


@router.get("/user")
def current_user(actor: Actor = Depends(get_actor)) -> Response:
    user = actor.require_user()
    return json_response(ser.user_full(user, include_private=True))


@router.get("/users")
def list_users(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()  # issuegraph lists users to administrators only (issue 2)
    page = page_of(params)
    rows, total = accounts_repo.list_users(
        session,
        username=str_param(params, "username"),
        search=str_param(params, "search"),
        offset=page.offset,
        limit=page.per_page,
    )
    return json_response(
        [ser.user_full(u, include_private=actor.is_admin) for u in rows],
        headers=offset_headers(request, page, total),
    )


@router.get("/users/{user_id}")
def get_user(
    user_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    user = accounts_repo.get_user(session, iid_path(user_id, "id"))
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    return json_response(ser.user_full(user, include_private=actor.is_admin))


@router.post("/users", status_code=201, openapi_extra=None)
def create_user(
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()
    require(params, "email", "username", "name")
    user = accounts.create_user(
        session,
        actor,
        username=str(params["username"]),
        name=str(params["name"]),
        email=str(params["email"]),
        is_admin=bool(bool_param(params, "admin")),
    )
    return json_response(ser.user_full(user, include_private=True), 201)


@router.post("/users/{user_id}/personal_access_tokens", status_code=201)
def create_token(
    user_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()
    require(params, "name", "scopes")
    scopes = list_param(params, "scopes") or []
    token, raw = accounts.create_token(
        session,
        actor,
        user_id=iid_path(user_id, "user_id"),
        name=str(params["name"]),
        scopes=scopes,
        expires_at=accounts.parse_expiry(params.get("expires_at")),
    )
    return json_response(ser.token(token, raw), 201)


_TOKEN_STATES = {"active": True, "inactive": False}


@router.get(
    "/personal_access_tokens",
    responses={200: {"model": list[schemas.PersonalAccessToken]}},
    openapi_extra=schemas.query(**schemas.TOKEN_FILTERS),
)
def list_tokens(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    state = str_param(params, "state")
    if state not in (None, "", *_TOKEN_STATES):
        raise Invalid("invalid_parameter", "state does not have a valid value")
    page = page_of(params)
    rows, total = accounts.list_tokens(
        session,
        actor,
        user_id=int_param(params, "user_id"),
        revoked=bool_param(params, "revoked"),
        active=_TOKEN_STATES.get(state or ""),
        search=str_param(params, "search"),
        offset=page.offset,
        limit=page.per_page,
    )
    return json_response([ser.token(t) for t in rows], headers=offset_headers(request, page, total))


def _token_id(value: str) -> int:
    """A token id in a path; anything else names no token (GitLab's 404, not a 400)."""
    if not value.isdigit() or len(value) > 18:
        raise NotFound("token_not_found", "404 Not found")
    return int(value)


@router.get("/personal_access_tokens/self", responses={200: {"model": schemas.PersonalAccessToken}})
def get_own_token(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> Response:
    return json_response(ser.token(accounts.resolve_token(session, actor, None)))


@router.get("/personal_access_tokens/{token_id}", responses={200: {"model": schemas.PersonalAccessToken}})
def get_token(
    token_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    return json_response(ser.token(accounts.resolve_token(session, actor, _token_id(token_id))))


@router.delete("/personal_access_tokens/self", status_code=204)
def revoke_own_token(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> Response:
    accounts.revoke_token(session, actor, None)
    return Response(status_code=204)


@router.delete("/personal_access_tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    accounts.revoke_token(session, actor, _token_id(token_id))
    return Response(status_code=204)


# ---------------------------------------------------------------- groups


@router.post("/groups", status_code=201)
def create_group(
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    require(params, "name", "path")
    group = projects.create_group(
        session,
        actor,
        name=str(params["name"]),
        path=str(params["path"]),
        parent_id=int_param(params, "parent_id"),
        visibility=str_param(params, "visibility"),
        description=str_param(params, "description") or "",
    )
    return json_response(ser.group(group), 201)


@router.get("/groups")
def list_groups(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    page = page_of(params)
    rows, total = projects.list_groups(
        session, actor, search=str_param(params, "search"), offset=page.offset, limit=page.per_page
    )
    return json_response([ser.group(g) for g in rows], headers=offset_headers(request, page, total))


@router.get("/groups/{group_id}")
def get_group(
    group_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    group = projects.resolve_group(session, actor, project_ref(group_id))
    return json_response(ser.group(group))


@router.get("/groups/{group_id}/projects")
def group_projects(
    request: Request,
    group_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    group = projects.resolve_group(session, actor, project_ref(group_id))
    page = page_of(params)
    rows, total = projects.list_projects(
        session,
        actor,
        namespace=group,
        include_subgroups=bool(bool_param(params, "include_subgroups")),
        search=str_param(params, "search"),
        offset=page.offset,
        limit=page.per_page,
    )
    return json_response([ser.project(p, ns) for p, ns in rows], headers=offset_headers(request, page, total))


@router.get("/groups/{group_id}/members")
def group_members(
    request: Request,
    group_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    group = projects.resolve_group(session, actor, project_ref(group_id))
    return json_response([ser.member(u, level) for u, level in projects.list_group_members(session, group)])


@router.post("/groups/{group_id}/members", status_code=201)
def add_group_member(
    group_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    require(params, "user_id", "access_level")
    group = projects.resolve_group(session, actor, project_ref(group_id))
    user, level = projects.add_group_member(
        session, actor, group, int_param(params, "user_id") or 0, params["access_level"]
    )
    return json_response(ser.member(user, level), 201)


@router.delete("/groups/{group_id}/members/{user_id}", status_code=204)
def remove_group_member(
    group_id: str, user_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    group = projects.resolve_group(session, actor, project_ref(group_id))
    projects.remove_group_member(session, actor, group, iid_path(user_id, "user_id"))
    return Response(status_code=204)


# ---------------------------------------------------------------- projects


@router.post("/projects", status_code=201)
def create_project(
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    if not params.get("name") and not params.get("path"):
        raise Invalid("missing_parameter", "name, path are missing, at least one parameter must be provided")
    project = projects.create_project(
        session,
        actor,
        name=str_param(params, "name"),
        path=str_param(params, "path"),
        namespace_id=params.get("namespace_id"),
        visibility=str_param(params, "visibility"),
        description=str_param(params, "description") or "",
    )
    access = projects.resolve_project(session, actor, project.id)
    return json_response(ser.project(access.project, access.namespace, level=access.level), 201)


@router.get("/projects")
def list_projects(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    page = page_of(params)
    rows, total = projects.list_projects(
        session,
        actor,
        search=str_param(params, "search"),
        membership=bool(bool_param(params, "membership")),
        owned=bool(bool_param(params, "owned")),
        visibility=str_param(params, "visibility"),
        order_by=str_param(params, "order_by") or "created_at",
        sort=str_param(params, "sort") or "desc",
        offset=page.offset,
        limit=page.per_page,
    )
    return json_response([ser.project(p, ns) for p, ns in rows], headers=offset_headers(request, page, total))


@router.get("/projects/{project_id}")
def get_project(
    project_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    access = projects.resolve_project(session, actor, project_ref(project_id))
    return json_response(ser.project(access.project, access.namespace, level=access.level))


@router.put("/projects/{project_id}")
def update_project(
    project_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    access = projects.resolve_project(session, actor, project_ref(project_id))
    changes = {k: params.get(k) for k in ("name", "description", "visibility", "path", "close_policy")}
    changes["close_duplicates"] = bool_param(params, "close_duplicates")
    project = projects.update_project(session, access, changes)
    return json_response(ser.project(project, access.namespace, level=access.level))


@router.delete("/projects/{project_id}", status_code=202)
def delete_project(
    project_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    access = projects.resolve_project(session, actor, project_ref(project_id))
    projects.delete_project(session, access)
    return json_response({"message": "202 Accepted"}, 202)


@router.get("/projects/{project_id}/members")
def project_members(
    project_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    access = projects.resolve_project(session, actor, project_ref(project_id))
    return json_response(
        [ser.member(u, level) for u, level in projects.list_project_members(session, access)]
    )


@router.post("/projects/{project_id}/members", status_code=201)
def add_project_member(
    project_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    require(params, "user_id", "access_level")
    access = projects.resolve_project(session, actor, project_ref(project_id))
    user, level = projects.add_project_member(
        session, access, int_param(params, "user_id") or 0, params["access_level"]
    )
    return json_response(ser.member(user, level), 201)


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
def remove_project_member(
    project_id: str, user_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    access = projects.resolve_project(session, actor, project_ref(project_id))
    projects.remove_project_member(session, access, iid_path(user_id, "user_id"))
    return Response(status_code=204)


# ---------------------------------------------------------------- issues


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


_ORDER = {
    "created_at": Issue.created_at,
    "updated_at": Issue.updated_at,
    "id": Issue.id,
    "due_date": Issue.deadline,
    "title": Issue.title,
    "weight": Issue.weight,
}
_KEYSET_ORDER = ("created_at", "updated_at", "id")


def _issue_page(request: Request, session: Session, query: Any, params: Params) -> Response:
    order_by = str_param(params, "order_by") or "created_at"
    sort = str_param(params, "sort") or "desc"
    if order_by not in _ORDER:
        raise Invalid("invalid_parameter", "order_by does not have a valid value")
    if sort not in ("asc", "desc"):
        raise Invalid("invalid_parameter", "sort does not have a valid value")
    column = _ORDER[order_by]
    if str_param(params, "pagination") == "keyset":
        return _keyset_page(request, session, query, params, order_by, sort)
    ordering = [column.asc(), Issue.id.asc()] if sort == "asc" else [column.desc(), Issue.id.desc()]
    page = page_of(params)
    rows, total = issues_repo.paginate_offset(session, query.order_by(*ordering), page.offset, page.per_page)
    views = issues_repo.load_views(session, rows)
    return json_response([ser.issue(v) for v in views], headers=offset_headers(request, page, total))


def _keyset_page(
    request: Request, session: Session, query: Any, params: Params, order_by: str, sort: str
) -> Response:
    if order_by not in _KEYSET_ORDER:
        raise Invalid("invalid_parameter", "order_by does not support keyset pagination")
    column = _ORDER[order_by]
    per_page = page_of(params).per_page
    cursor = str_param(params, "cursor")
    if cursor:
        data = decode_cursor(cursor)
        try:
            last_id = int(data["id"])
            if abs(last_id) > MAX_BIGINT:
                raise ValueError(last_id)
            last_value: Any = last_id if order_by == "id" else datetime.fromisoformat(str(data["v"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise Invalid("invalid_cursor", "cursor is invalid") from exc
        if order_by == "id":
            query = query.where(Issue.id > last_id if sort == "asc" else Issue.id < last_id)
        elif sort == "asc":
            query = query.where((column > last_value) | ((column == last_value) & (Issue.id > last_id)))
        else:
            query = query.where((column < last_value) | ((column == last_value) & (Issue.id < last_id)))
    ordering = [column.asc(), Issue.id.asc()] if sort == "asc" else [column.desc(), Issue.id.desc()]
    rows = list(session.scalars(query.order_by(*ordering).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        value = getattr(last, order_by)
        next_cursor = encode_cursor(
            {"id": last.id, "v": value.isoformat() if isinstance(value, datetime) else value}
        )
    views = issues_repo.load_views(session, rows)
    return json_response(
        [ser.issue(v) for v in views], headers=keyset_headers(request, per_page, next_cursor)
    )


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
    query = issues.visible_issue_query(session, actor, filters)
    return _issue_page(request, session, query, params)


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
    query = issues.project_issue_query(session, access, _filters(params))
    return _issue_page(request, session, query, params)


@router.post(
    "/projects/{project_id}/issues",
    status_code=201,
    responses={201: {"model": schemas.Issue}},
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
    return json_response(ser.issue(issues_repo.load_views(session, [issue])[0]))


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


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/notes",
    responses={200: {"model": list[schemas.Note]}},
    openapi_extra=schemas.query(sort={"type": "string", "enum": ["asc", "desc"]}, **schemas.PAGE),
)
def list_notes(
    request: Request,
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    iid = iid_path(issue_iid)
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    sort = str_param(params, "sort") or "desc"
    if sort not in ("asc", "desc"):
        raise Invalid("invalid_parameter", "sort does not have a valid value")
    page = page_of(params)
    query = issues.list_notes(session, issue)
    order: list[Any] = (
        [Note.created_at.asc(), Note.id.asc()] if sort == "asc" else [Note.created_at.desc(), Note.id.desc()]
    )
    total = len(list(session.scalars(query.with_only_columns(Note.id))))
    rows = list(session.scalars(query.order_by(*order).offset(page.offset).limit(page.per_page)))
    authors = accounts_repo.users_by_id(session, [n.author_id for n in rows if n.author_id])
    body = [ser.note(n, authors.get(n.author_id or 0), access.project.id, issue.iid) for n in rows]
    return json_response(body, headers=offset_headers(request, page, total))


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/notes",
    status_code=201,
    responses={201: {"model": schemas.Note}},
    openapi_extra=schemas.body_of(schemas.NoteCreate),
)
def create_note(
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    require(params, "body")
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    note = issues.create_note(session, access, issue, str(params["body"]))
    return json_response(ser.note(note, actor.user, access.project.id, issue.iid), 201)


# ---------------------------------------------------------------- issue links


def _url_issue(
    session: Session, actor: Actor, project_id: str, issue_iid: str
) -> tuple[Issue, projects.ProjectAccess]:
    actor.require_user()
    return issues.resolve_issue_in(session, actor, project_ref(project_id), iid_path(issue_iid))


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/links", responses={200: {"model": list[schemas.RelatedIssue]}}
)
def list_links(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    seen = links.list_links(session, actor, issue)
    views = {v.issue.id: v for v in issues_repo.load_views(session, [s.other for s in seen])}
    return json_response([ser.related_issue(views[s.other.id], s.link, s.link_type) for s in seen])


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/links",
    status_code=201,
    responses={201: {"model": schemas.IssueLink}},
    openapi_extra=schemas.body_of(schemas.LinkCreate),
)
def create_link(
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    require(params, "target_project_id", "target_issue_iid")
    raw_type = params.get("link_type")
    link_type = (
        from_gitlab_name(str(raw_type)) if raw_type not in (None, "") else from_gitlab_name("relates_to")
    )
    if link_type is None or isinstance(raw_type, list | dict):
        raise Invalid("invalid_parameter", "link_type does not have a valid value")
    source, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    target_ref, target_iid = str(params["target_project_id"]), str(params["target_issue_iid"])
    if not target_iid.isdigit() or len(target_iid) > 18:
        projects.resolve_project(session, actor, target_ref)  # an unknown project is still 404 Project
        raise NotFound("issue_not_found", "404 Not found")
    target, target_access = issues.resolve_issue_in(session, actor, target_ref, int(target_iid))
    accesses = {access.project.id: access, target_access.project.id: target_access}
    link = links.create_link(session, actor, source, target, link_type, accesses=accesses)
    return _link_response(session, link, 201, [source, target])


def _link_response(session: Session, link: Any, status: int, ends: list[Issue] | None = None) -> Response:
    """The link and both its issues (`ends`, when the caller holds them already)."""
    if ends is None:
        ends = list(issues_repo.by_ids(session, [link.source_id, link.target_id]).values())
    views = {v.issue.id: v for v in issues_repo.load_views(session, ends)}
    return json_response(ser.issue_link(link, views[link.source_id], views[link.target_id]), status)


def _link_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound("link_not_found", "404 Not found")
    return int(value)


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/links/{issue_link_id}",
    responses={200: {"model": schemas.IssueLink}},
)
def get_link(
    project_id: str,
    issue_iid: str,
    issue_link_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    link, source, target = links.resolve_link(session, actor, issue, _link_id(issue_link_id))
    return _link_response(session, link, 200, [source, target])


@router.delete(
    "/projects/{project_id}/issues/{issue_iid}/links/{issue_link_id}",
    responses={200: {"model": schemas.IssueLink}},
)
def delete_link(
    project_id: str,
    issue_iid: str,
    issue_link_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    link, source, target = links.resolve_link(session, actor, issue, _link_id(issue_link_id))
    views = {v.issue.id: v for v in issues_repo.load_views(session, [source, target])}
    body = ser.issue_link(link, views[source.id], views[target.id])  # as it was before deletion
    links.delete_link(session, actor, link, source, target)
    return json_response(body, 200)


# Issues and their links are most of the traffic. Every route under this prefix has at least
# five segments, all literal but the ids, and no other route of this face matches such a path.
hot_routes_first(router.routes, "/api/v4/projects/{project_id}/issues")

# Hooks live in their own module (issue 9); included after the hot routes were ordered.
from issuegraph.api.gitlab.hooks import router as _hooks_router  # noqa: E402

router.include_router(_hooks_router)
