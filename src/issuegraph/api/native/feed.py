"""The change feed: `GET /api/graph/v1/events` (cursor pages) and `/events/stream` (Server-Sent
Events, resumable with Last-Event-ID), for a project or a group, only what the caller can read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.native.schemas import ERRORS
from issuegraph.api.responses import json_response
from issuegraph.db.engine import Database
from issuegraph.domain.errors import Invalid
from issuegraph.events import feed
from issuegraph.graph import service as graph

# Included by the native router (native.routes), which gives the prefix.
router = APIRouter(tags=["events"], responses=ERRORS)
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.5


def _scope(session: Session, actor: Actor, project: str | None, group: str | None) -> feed.FeedScope:
    if (project is None) == (group is None):
        raise Invalid("scope_missing", "give exactly one of project or group", details={"field": "project"})
    if project is not None:
        return feed.FeedScope(graph.project_scope(session, actor, project).accesses)
    assert group is not None
    return feed.FeedScope(graph.group_scope(session, actor, group).accesses)


ProjectQ = Annotated[str | None, Query(description="Project id or full path")]
GroupQ = Annotated[str | None, Query(description="Group id or full path (its subgroups too)")]


@router.get("/events", summary="Changes in commit order, one cursor page at a time")
def events(
    session: Annotated[Session, Depends(get_session)],
    actor: Annotated[Actor, Depends(get_actor)],
    project: ProjectQ = None,
    group: GroupQ = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    scope = _scope(session, actor, project, group)
    after = feed.decode_cursor(cursor)
    items, last = feed.page(session, actor, scope, after, per_page)
    return json_response({"items": items, "next_cursor": feed.encode_cursor(last)})


@router.get("/events/stream", summary="The same changes as Server-Sent Events (text/event-stream)")
async def stream(
    request: Request,
    actor: Annotated[Actor, Depends(get_actor)],
    project: ProjectQ = None,
    group: GroupQ = None,
    cursor: Annotated[str | None, Query()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    database: Database = request.app.state.database

    def open_scope() -> feed.FeedScope:
        with database.session(write=False) as session:
            return _scope(session, actor, project, group)

    # The scope (and so the caller's right to read it) is checked before the stream starts.
    scope = await run_in_threadpool(open_scope)
    after = feed.decode_cursor(last_event_id or cursor)

    def fetch(position: int) -> tuple[list[dict[str, object]], int]:
        with database.session(write=False) as session:
            return feed.page(session, actor, scope, position, 100)

    async def body() -> AsyncIterator[bytes]:
        position, idle = after, 0.0
        yield b": issuegraph change feed\n\n"
        while not await request.is_disconnected():
            items, position = await run_in_threadpool(fetch, position)
            for item in items:
                yield (
                    f"id: {item['seq']}\nevent: {item['type']}\ndata: ".encode()
                    + orjson.dumps(item)
                    + b"\n\n"
                )
            if items:
                idle = 0.0
                continue
            await asyncio.sleep(POLL_SECONDS)
            idle += POLL_SECONDS
            if idle >= HEARTBEAT_SECONDS:
                idle = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
