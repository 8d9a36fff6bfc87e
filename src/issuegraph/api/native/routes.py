"""The native graph API, ``/api/graph/v1``: blockers, ready work, hierarchy, critical path,
duplicates, streamed export and bulk links.

Issues are addressed as ``/projects/{project_ref}/issues/{iid}``, groups as
``/groups/{group_ref}``; a ref is a numeric id or a URL-encoded full path
(``my-group%2Fmy-project``). Errors are ``{"error": {"code", "message", "details"}}``.
Issues the caller cannot read never appear; on a path they are ``{"hidden": true}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import Body, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_database, get_session
from issuegraph.api.native.schemas import (
    ERRORS,
    AncestorsAnswer,
    BlockedPage,
    BlocksAnswer,
    BulkAnswer,
    BulkRequest,
    CanonicalAnswer,
    CriticalPath,
    ErrorBody,
    ReadyPage,
    TreeAnswer,
)
from issuegraph.api.responses import json_response
from issuegraph.api.routing import FaceRouter
from issuegraph.db.engine import Database
from issuegraph.domain.ids import MAX_INT, digits_only
from issuegraph.graph import export as graph_export
from issuegraph.graph import service

PREFIX = "/api/graph/v1"

# ---------------------------------------------------------------- routes

router = FaceRouter(prefix=PREFIX, tags=["graph"])

SessionDep = Annotated[Session, Depends(get_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ActorDep = Annotated[Actor, Depends(get_actor)]
ProjectRef = Annotated[str, Path(description="Project id or URL-encoded full path"), AfterValidator(unquote)]
GroupRef = Annotated[str, Path(description="Group id or URL-encoded full path"), AfterValidator(unquote)]
Iid = Annotated[
    int, BeforeValidator(digits_only), Path(description="Issue number in the project", ge=1, le=MAX_INT)
]
Depth = Annotated[int, Query(ge=1, le=service.MAX_DEPTH, description="Maximum number of links to follow")]
OpenOnly = Annotated[bool, Query(description="Ignore closed issues: neither results nor steps")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Maximum items returned")]
PerPage = Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)]
Cursor = Annotated[str | None, Query(description="Opaque cursor from the previous page's `next_cursor`")]


# Issue routes come first: `{project_ref:path}` is greedy and these are the longer patterns.


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/blockers",
    response_model=BlocksAnswer,
    responses=ERRORS,
    summary="Issues blocking this one, directly and transitively, each with its path",
)
def blockers(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Depth = service.DEFAULT_DEPTH,
    open_only: OpenOnly = False,
    limit: Limit = 1000,
) -> Response:
    return json_response(
        service.related_by_blocks(
            session,
            actor,
            project_ref,
            iid,
            direction="blockers",
            depth=depth,
            open_only=open_only,
            limit=limit,
        )
    )


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/blocking",
    response_model=BlocksAnswer,
    responses=ERRORS,
    summary="Issues this one blocks, directly and transitively, each with its path",
)
def blocking(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Depth = service.DEFAULT_DEPTH,
    open_only: OpenOnly = False,
    limit: Limit = 1000,
) -> Response:
    return json_response(
        service.related_by_blocks(
            session,
            actor,
            project_ref,
            iid,
            direction="blocking",
            depth=depth,
            open_only=open_only,
            limit=limit,
        )
    )


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/ancestors",
    response_model=AncestorsAnswer,
    responses=ERRORS,
    summary="Parent, grandparent, ... of an issue",
)
def ancestors(project_ref: ProjectRef, iid: Iid, session: SessionDep, actor: ActorDep) -> Response:
    return json_response(service.ancestors(session, actor, project_ref, iid))


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/tree",
    response_model=TreeAnswer,
    responses=ERRORS,
    summary="Descendant tree with roll-ups (totals, closed, percent done, weights)",
)
def tree(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Annotated[
        int, Query(ge=1, le=service.HIERARCHY_CAP, description="Levels to show")
    ] = service.HIERARCHY_CAP,
) -> Response:
    return json_response(service.descendant_tree(session, actor, project_ref, iid, depth=depth))


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/canonical",
    response_model=CanonicalAnswer,
    responses=ERRORS,
    summary="The canonical issue at the end of this issue's duplicate chain",
)
def canonical(project_ref: ProjectRef, iid: Iid, session: SessionDep, actor: ActorDep) -> Response:
    return json_response(service.canonical(session, actor, project_ref, iid))


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


_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {
        "description": "The graph, streamed: JSON `{format, scope, nodes: [IssueRef], "
        "edges: [{id, source, target, type}]}`, Graphviz DOT or Mermaid flowchart text",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/vnd.graphviz": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    },
}
ExportFormatQuery = Annotated[
    graph_export.ExportFormat, Query(alias="format", description="json, dot or mermaid")
]


def _stream(database: Database, scope: service.Scope, fmt: graph_export.ExportFormat) -> StreamingResponse:
    """The export reads in its own transaction: its server-side cursors need one (request reads
    run in autocommit on PostgreSQL), and the session lives exactly as long as the stream."""

    def chunks() -> Iterator[bytes]:
        with database.session(write=False) as session:
            yield from graph_export.stream(session, scope, fmt)

    return StreamingResponse(
        chunks(),
        media_type=graph_export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{graph_export.filename(scope, fmt)}"'},
    )


@router.get(
    "/projects/{project_ref:path}/export",
    response_class=StreamingResponse,
    responses=_EXPORT_RESPONSES,
    summary="Stream a project's graph (readable issues and the links between them)",
)
def project_export(
    project_ref: ProjectRef,
    session: SessionDep,
    actor: ActorDep,
    database: DatabaseDep,
    fmt: ExportFormatQuery = graph_export.ExportFormat.JSON,
) -> StreamingResponse:
    return _stream(database, service.project_scope(session, actor, project_ref), fmt)


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
    responses=_EXPORT_RESPONSES,
    summary="Stream a group's graph (readable issues of its projects and subgroups, links between them)",
)
def group_export(
    group_ref: GroupRef,
    session: SessionDep,
    actor: ActorDep,
    database: DatabaseDep,
    fmt: ExportFormatQuery = graph_export.ExportFormat.JSON,
) -> StreamingResponse:
    return _stream(database, service.group_scope(session, actor, group_ref), fmt)


@router.post(
    "/links/bulk",
    response_model=BulkAnswer,
    responses={
        **ERRORS,
        400: {
            "model": ErrorBody,
            "description": "`bulk_failed`: nothing was changed; `details.errors` lists every failing item "
            "as {index, code, message, details}",
        },
        403: {"model": ErrorBody, "description": "Token without the `api` scope"},
    },
    summary="Create or delete up to 1,000 links atomically (all or nothing)",
)
def bulk_links(
    session: SessionDep,
    actor: ActorDep,
    body: Annotated[BulkRequest, Body()],
) -> Response:
    items = [
        service.BulkItem(
            action=op.action,
            source=service.Locator(op.source.id, _str(op.source.project), op.source.iid),
            target=service.Locator(op.target.id, _str(op.target.project), op.target.iid),
            link_type=op.link_type,
        )
        for op in body.operations
    ]
    results = service.bulk_links(session, actor, items, silent=body.silent)
    return json_response(
        {
            "created": sum(1 for r in results if r["status"] == "created"),
            "deleted": sum(1 for r in results if r["status"] == "deleted"),
            "results": results,
        }
    )


def _str(value: str | int | None) -> str | None:
    return None if value is None else str(value)


# Webhooks and the change feed live in their own modules (issue 9).
from issuegraph.api.native.webhooks import router as _webhooks_router  # noqa: E402

router.include_router(_webhooks_router)
from issuegraph.api.native.feed import router as _feed_router  # noqa: E402

router.include_router(_feed_router)
