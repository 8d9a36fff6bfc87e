"""GitLab groups and the projects in a group."""

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
    int_param,
    project_ref,
    read_params,
    require,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.pagination import OffsetPage, sort_keys
from issuegraph.projects import service as projects

router = resource_router()


@router.post("/groups", status_code=201, responses={201: {"model": schemas.Group}})
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


@router.get("/groups", responses={200: {"model": list[schemas.Group]}})
def list_groups(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    page = page_of(params)
    found = projects.list_groups(
        session,
        actor,
        search=str_param(params, "search"),
        page=OffsetPage(page.offset, page.per_page, sort_keys("name", False)),
    )
    return json_response(
        [ser.group(g) for g in found.rows], headers=offset_headers(request, page, found.total or 0)
    )


@router.get("/groups/{group_id}", responses={200: {"model": schemas.Group}})
def get_group(
    group_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    group = projects.resolve_group(session, actor, project_ref(group_id))
    return json_response(ser.group(group))


@router.get("/groups/{group_id}/projects", responses={200: {"model": list[schemas.Project]}})
def group_projects(
    request: Request,
    group_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    group = projects.resolve_group(session, actor, project_ref(group_id))
    page = page_of(params)
    found = projects.list_projects(
        session,
        actor,
        namespace=group,
        include_subgroups=bool(bool_param(params, "include_subgroups")),
        search=str_param(params, "search"),
        page=OffsetPage(page.offset, page.per_page, sort_keys("created_at", True)),
    )
    return json_response(
        [ser.project(p, ns) for p, ns in found.rows],
        headers=offset_headers(request, page, found.total or 0),
    )
