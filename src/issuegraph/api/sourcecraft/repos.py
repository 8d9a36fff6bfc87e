"""Organizations' repositories: list and create; a repository: get, update, delete.

An organization is a GitLab group, a repository a project; `/repos/{org}/{repo}` is the
project `org/repo`, so only projects one level below their namespace have a slug form.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.dependencies import (
    DB,
    ORG,
    ORG_ID,
    REPO,
    REPO_ID,
    Authenticated,
    Silent,
    json_body,
    page,
    path_org,
    path_repo,
)
from issuegraph.api.sourcecraft.pagination import PageRequest
from issuegraph.api.sourcecraft.schemas import CreateRepositoryBody, UpdateRepositoryBody
from issuegraph.db.models import Namespace
from issuegraph.domain.errors import Invalid
from issuegraph.projects import service as projects
from issuegraph.projects.service import ProjectAccess

router = APIRouter()

REPO_SORT: dict[str, Any] = {"slug": "str", "name": "str", "created_at": "datetime", "id": "int"}
_REPO_ATTRS = {"slug": "path", "name": "name", "created_at": "created_at", "id": "id"}


@router.get(ORG + "/repos")
@router.get(ORG_ID + "/repos")
def list_repositories(
    actor: Actor = Authenticated,
    page_request: PageRequest = Depends(page(REPO_SORT, default_sort="slug")),
    org: Namespace = Depends(path_org),
    session: Session = DB,
) -> Response:
    found = projects.list_namespace_projects(session, actor, org, page_request.keyset(_REPO_ATTRS))
    items, token = found.rows, page_request.token(found)
    return json_response(ser.envelope("repositories", [ser.repository(p, ns) for p, ns in items], token))


@router.post(ORG + "/repos", status_code=201)
@router.post(ORG_ID + "/repos", status_code=201)
def create_repository(
    actor: Actor = Authenticated,
    silent: bool = Silent,  # validated like on every change; a new repository notifies nobody
    body: CreateRepositoryBody = Depends(json_body(CreateRepositoryBody)),
    org: Namespace = Depends(path_org),
    session: Session = DB,
) -> Response:
    try:
        project = projects.create_project(
            session,
            actor,
            name=body.name,
            path=body.slug,
            namespace_id=org.id,
            visibility=body.visibility,
            description=body.description or "",
        )
    except Invalid as refusal:
        if refusal.details.get("field") == "path":  # GitLab's word for what this face calls a slug
            refusal.details["field"] = "slug"
        raise
    return json_response(ser.repository(project, org), 201)


@router.get(REPO)
@router.get(REPO_ID)
def get_repository(actor: Actor = Authenticated, access: ProjectAccess = Depends(path_repo)) -> Response:
    return json_response(ser.repository(access.project, access.namespace))


@router.patch(REPO_ID)
def update_repository(
    actor: Actor = Authenticated,
    silent: bool = Silent,  # accepted and ignored: repository changes notify nobody
    body: UpdateRepositoryBody = Depends(json_body(UpdateRepositoryBody)),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    changes = {
        "description": body.description,
        "visibility": body.visibility,
        "close_policy": body.close_policy,
        "close_duplicates": body.close_duplicates,
    }
    project = projects.update_project(session, access, changes)
    return json_response(ser.repository(project, access.namespace))


@router.delete(REPO_ID, status_code=204)
def delete_repository(
    actor: Actor = Authenticated,
    silent: bool = Silent,  # "NOT IMPLEMENTED YET" on SourceCraft; accepted and ignored
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    projects.delete_project(session, access)
    return Response(status_code=204)
