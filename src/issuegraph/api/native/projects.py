"""A project's graph: its ready and blocked work lists, its critical path, its streamed export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from issuegraph.api.native.params import (
    EXPORT_RESPONSES,
    ActorDep,
    Cursor,
    DatabaseDep,
    ExportFormatQuery,
    PerPage,
    ProjectRef,
    SessionDep,
    stream_export,
)
from issuegraph.api.native.schemas import ERRORS, BlockedPage, CriticalPath, ReadyPage
from issuegraph.api.responses import json_response
from issuegraph.graph import export as graph_export
from issuegraph.graph import service

router = APIRouter()


@router.get(
    "/projects/{project_ref:path}/ready",
    response_model=ReadyPage,
    responses=ERRORS,
    summary="Open issues of a project with no open blocker (keyset pages by id)",
)
def project_ready(
    project_ref: ProjectRef,
    session: SessionDep,
    actor: ActorDep,
    per_page: PerPage = service.DEFAULT_PER_PAGE,
    cursor: Cursor = None,
) -> Response:
    scope = service.project_scope(session, actor, project_ref)
    return json_response(
        service.work_page(session, actor, scope, blocked=False, per_page=per_page, cursor=cursor)
    )


@router.get(
    "/projects/{project_ref:path}/blocked",
    response_model=BlockedPage,
    responses=ERRORS,
    summary="Open issues of a project with at least one open blocker, with those blockers",
)
def project_blocked(
    project_ref: ProjectRef,
    session: SessionDep,
    actor: ActorDep,
    per_page: PerPage = service.DEFAULT_PER_PAGE,
    cursor: Cursor = None,
) -> Response:
    scope = service.project_scope(session, actor, project_ref)
    return json_response(
        service.work_page(session, actor, scope, blocked=True, per_page=per_page, cursor=cursor)
    )


@router.get(
    "/projects/{project_ref:path}/critical-path",
    response_model=CriticalPath,
    responses=ERRORS,
    summary="Longest chain of open blocks links in a project, by issue count or by weight",
)
def critical_path(
    project_ref: ProjectRef,
    session: SessionDep,
    actor: ActorDep,
    by: Annotated[Literal["count", "weight"], Query(description="What to maximise")] = "count",
) -> Response:
    return json_response(service.critical_path(session, actor, project_ref, by=by))


@router.get(
    "/projects/{project_ref:path}/export",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
    summary="Stream a project's graph (readable issues and the links between them)",
)
def project_export(
    project_ref: ProjectRef,
    session: SessionDep,
    actor: ActorDep,
    database: DatabaseDep,
    fmt: ExportFormatQuery = graph_export.ExportFormat.JSON,
) -> StreamingResponse:
    return stream_export(database, service.project_scope(session, actor, project_ref), fmt)
