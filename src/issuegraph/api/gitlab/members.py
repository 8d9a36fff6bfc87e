"""GitLab members of groups and of projects."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import Params, resource_router
from issuegraph.api.gitlab.params import (
    iid_path,
    int_param,
    project_ref,
    read_params,
    require,
)
from issuegraph.api.responses import json_response
from issuegraph.projects import service as projects

router = resource_router()


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
