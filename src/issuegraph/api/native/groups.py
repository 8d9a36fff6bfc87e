"""A group's graph (its projects and subgroups): ready and blocked work lists, streamed export."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from issuegraph.api.native.params import (
    EXPORT_RESPONSES,
    ActorDep,
    Cursor,
    DatabaseDep,
    ExportFormatQuery,
    GroupRef,
    PerPage,
    SessionDep,
    stream_export,
)
from issuegraph.api.native.schemas import ERRORS, BlockedPage, ReadyPage
from issuegraph.api.responses import json_response
from issuegraph.graph import export as graph_export
from issuegraph.graph import service

router = APIRouter()


@router.get(
    "/groups/{group_ref:path}/ready",
    response_model=ReadyPage,
    responses=ERRORS,
    summary="Open issues of a group (and subgroups) with no open blocker",
)
def group_ready(
    group_ref: GroupRef,
    session: SessionDep,
    actor: ActorDep,
    per_page: PerPage = service.DEFAULT_PER_PAGE,
    cursor: Cursor = None,
) -> Response:
    scope = service.group_scope(session, actor, group_ref)
    return json_response(
        service.work_page(session, actor, scope, blocked=False, per_page=per_page, cursor=cursor)
    )


@router.get(
    "/groups/{group_ref:path}/blocked",
    response_model=BlockedPage,
    responses=ERRORS,
    summary="Open issues of a group (and subgroups) with at least one open blocker",
)
def group_blocked(
    group_ref: GroupRef,
    session: SessionDep,
    actor: ActorDep,
    per_page: PerPage = service.DEFAULT_PER_PAGE,
    cursor: Cursor = None,
) -> Response:
    scope = service.group_scope(session, actor, group_ref)
    return json_response(
        service.work_page(session, actor, scope, blocked=True, per_page=per_page, cursor=cursor)
    )


@router.get(
    "/groups/{group_ref:path}/export",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
    summary="Stream a group's graph (readable issues of its projects and subgroups, links between them)",
)
def group_export(
    group_ref: GroupRef,
    session: SessionDep,
    actor: ActorDep,
    database: DatabaseDep,
    fmt: ExportFormatQuery = graph_export.ExportFormat.JSON,
) -> StreamingResponse:
    return stream_export(database, service.group_scope(session, actor, group_ref), fmt)
