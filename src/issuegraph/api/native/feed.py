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

from issuegraph.accounts import throttle
from issuegraph.accounts.service import Actor, authenticate
from issuegraph.api.deps import get_actor, get_session, raw_token
from issuegraph.api.native.schemas import ERRORS
from issuegraph.api.responses import json_response
from issuegraph.db.engine import Database
from issuegraph.domain.errors import DomainError
from issuegraph.events import feed

# Included by the native router (native.routes), which gives the prefix.
router = APIRouter(tags=["events"], responses=ERRORS)
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.5


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
    scope = feed.scope_of(session, actor, project, group)
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
    """The caller is checked when the stream opens, and again (token and right to read the
    project or group) before anything new is sent and at each keep-alive: a caller who may no
    longer read it gets the end of the stream, not the event."""
    database: Database = request.app.state.database
    token = raw_token(request)
    client = throttle.client_key(request.client.host if request.client else None)

    def open_scope() -> feed.FeedScope:
        with database.session(write=False) as session:
            return feed.scope_of(session, actor, project, group)

    scope: feed.FeedScope | None = await run_in_threadpool(open_scope)
    after = feed.decode_cursor(last_event_id or cursor)

    def fetch(
        position: int, known: feed.FeedScope, recheck: bool
    ) -> tuple[list[dict[str, object]], int, feed.FeedScope | None]:
        with database.session(write=False) as session:
            if not recheck and not feed.has_new(session, known, position):
                return [], position, known
            try:
                current = authenticate(session, token, client)
                fresh = feed.scope_of(session, current, project, group)
            except DomainError:
                return [], position, None
            items, position = feed.page(session, current, fresh, position, 100)
            return items, position, fresh

    async def body() -> AsyncIterator[bytes]:
        nonlocal scope
        position, idle = after, 0.0
        yield b": issuegraph change feed\n\n"
        while scope is not None and not await request.is_disconnected():
            recheck = idle >= HEARTBEAT_SECONDS
            items, position, scope = await run_in_threadpool(fetch, position, scope, recheck)
            if scope is None:
                return  # the caller may no longer read this feed
            for item in items:
                yield (
                    f"id: {item['seq']}\nevent: {item['type']}\ndata: ".encode()
                    + orjson.dumps(item)
                    + b"\n\n"
                )
            if recheck:
                idle = 0.0
                yield b": keep-alive\n\n"
            if items:
                idle = 0.0
                continue
            await asyncio.sleep(POLL_SECONDS)
            idle += POLL_SECONDS

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
