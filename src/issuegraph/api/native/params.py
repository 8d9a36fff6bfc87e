"""What the native graph API's routes share: path and query parameters, dependencies, and the
streamed export every scope answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_database, get_session
from issuegraph.api.native.schemas import ERRORS
from issuegraph.db.engine import Database
from issuegraph.domain.ids import MAX_INT, digits_only
from issuegraph.graph import export as graph_export
from issuegraph.graph import service

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


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
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


def stream_export(
    database: Database, scope: service.Scope, fmt: graph_export.ExportFormat
) -> StreamingResponse:
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
