"""GitLab projects (their settings too: `close_policy`, `close_duplicates`)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import Params, resource_router
from issuegraph.api.gitlab.pagination import (
    offset_headers,
    page_of,
)
from issuegraph.api.gitlab.params import (
    bool_param,
    project_ref,
    read_params,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.pagination import OffsetPage, SortKey, sort_keys
from issuegraph.domain.errors import Invalid
from issuegraph.projects import service as projects

router = resource_router()


@router.post(
    "/projects", status_code=201, responses={201: {"model": schemas.Project, "links": schemas.PROJECT_LINKS}}
)
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


@router.get("/projects", responses={200: {"model": list[schemas.Project]}})
def list_projects(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    page = page_of(params)
    found = projects.list_projects(
        session,
        actor,
        search=str_param(params, "search"),
        membership=bool(bool_param(params, "membership")),
        owned=bool(bool_param(params, "owned")),
        visibility=str_param(params, "visibility"),
        page=OffsetPage(page.offset, page.per_page, _project_sort(params)),
    )
    return json_response(
        [ser.project(p, ns) for p, ns in found.rows],
        headers=offset_headers(request, page, found.total or 0),
    )


_PROJECT_ORDER = ("id", "name", "path", "created_at", "updated_at")


def _project_sort(params: Params) -> tuple[SortKey, ...]:
    """GitLab's `order_by` (anything else is `created_at`) and `sort` (anything but `asc` is desc)."""
    order_by = str_param(params, "order_by")
    field = order_by if order_by in _PROJECT_ORDER else "created_at"
    return sort_keys(field, str_param(params, "sort") != "asc")


@router.get("/projects/{project_id}", responses={200: {"model": schemas.Project}})
def get_project(
    project_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    access = projects.resolve_project(session, actor, project_ref(project_id))
    return json_response(ser.project(access.project, access.namespace, level=access.level))


@router.put(
    "/projects/{project_id}",
    responses={200: {"model": schemas.Project}},
    openapi_extra=schemas.body_of(schemas.ProjectUpdate, required=False),
)
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


@router.delete("/projects/{project_id}", status_code=202, responses={202: {"model": schemas.Message}})
def delete_project(
    project_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    access = projects.resolve_project(session, actor, project_ref(project_id))
    projects.delete_project(session, access)
    return json_response({"message": "202 Accepted"}, 202)
