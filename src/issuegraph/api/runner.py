"""Where a request's blocking code runs: worker threads (SQLite) or greenlets on the event loop
(PostgreSQL).

Routes, dependencies and services are plain synchronous code. FastAPI runs such code in a
thread pool, and on PostgreSQL that cost more than the work: every request crossed threads two
or three times, and eight requests in eight threads passed the GIL back and forth about 150
times per request (a third of a millisecond of kernel time each, per request, measured with
bench/links.py). On PostgreSQL the request's session therefore sits on an asyncio engine, and
the same synchronous code runs in a greenlet on the event loop: each database call suspends
the greenlet and lets the loop serve other requests (SQLAlchemy's greenlet bridge, the same one
its asyncio extension is built on). Nothing else changes for the code.

SQLite stays on threads: its driver blocks, and its writers queue on a lock that only another
thread can release.

FastAPI calls `run_in_threadpool` from two modules to run synchronous endpoints and
dependencies; `install()` points both at `run_sync`, which picks the place per request from a
context variable that RequestRunnerMiddleware sets from the app's database. A test checks that
the hook is in place, so a FastAPI upgrade that moves it fails loudly instead of silently
falling back to threads.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

import fastapi.dependencies.utils
import fastapi.routing
from anyio import CancelScope, CapacityLimiter, to_thread
from sqlalchemy.util import greenlet_spawn
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

ON_LOOP: contextvars.ContextVar[bool] = contextvars.ContextVar("issuegraph_on_loop", default=False)


async def run_sync(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking request code where this request's database wants it."""
    if ON_LOOP.get():
        return await greenlet_spawn(func, *args, **kwargs)
    return await run_in_threadpool(func, *args, **kwargs)


async def run_outside_pool(func: Callable[[], T]) -> T:
    """Run a commit, rollback or close, shielded from cancellation.

    On threads it gets its own worker thread outside the shared pool: requests hold the pool's
    threads while they wait for row locks, and the commit that releases those locks must never
    queue behind them, or the server deadlocks. On the loop it needs no thread at all.
    """
    with CancelScope(shield=True):
        if ON_LOOP.get():
            result = await greenlet_spawn(func)
        else:
            result = await to_thread.run_sync(func, limiter=CapacityLimiter(1))
    return result


def install() -> None:
    """Route FastAPI's synchronous endpoints and dependencies through run_sync (idempotent)."""
    fastapi.routing.run_in_threadpool = run_sync  # type: ignore[attr-defined]
    fastapi.dependencies.utils.run_in_threadpool = run_sync  # type: ignore[attr-defined]


def installed() -> bool:
    return (
        getattr(fastapi.routing, "run_in_threadpool", None) is run_sync
        and getattr(fastapi.dependencies.utils, "run_in_threadpool", None) is run_sync
    )


class RequestRunnerMiddleware:
    """Set, for each request, whether its blocking code runs on the loop (see the module doc),
    from the database the app serves at that moment (tests swap it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = ON_LOOP.set(bool(scope["app"].state.database.runs_on_loop))
        try:
            await self.app(scope, receive, send)
        finally:
            ON_LOOP.reset(token)
