"""The ASGI application: one domain, three faces."""

from __future__ import annotations

import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, FastAPI, Request

from issuegraph import __version__
from issuegraph.api import errors, runner
from issuegraph.api.deps import SESSION_STATE_KEY
from issuegraph.api.gitlab import errors as gitlab_errors
from issuegraph.api.gitlab.routes import router as gitlab_router
from issuegraph.api.limits import RequestLimitsMiddleware
from issuegraph.api.routing import drop_default_422
from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.ops import health
from issuegraph.ops.observe import ObserveMiddleware

log = logging.getLogger("issuegraph")


class RawPathMiddleware:
    """Route on the path with `%2F` still encoded, so `group%2Fproject` is one segment.

    Every other escape is decoded as usual (`id%3A5` -> `id:5`); handlers unquote the
    segment after routing, as GitLab does.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            raw = scope["raw_path"].decode("latin-1").split("?", 1)[0]
            if "%2f" in raw.lower():
                keep = raw.replace("%2F", "%252F").replace("%2f", "%252F")
                scope["path"] = unquote(keep)  # in place: outer middleware sees the matched route
        await self.app(scope, receive, send)


class CommitBeforeResponseMiddleware:
    """Commit the request's transaction before a successful response starts.

    FastAPI closes `yield` dependencies (deps.get_session) after the response has been sent,
    so without this a client could read stale data right after a 201 (read-your-writes, most
    visible with several workers) or get a 2xx for a commit that then fails. A response below
    400 is held until the commit succeeds; a failed commit becomes a 500 instead.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        failed = False

        async def send_after_commit(message: dict[str, Any]) -> None:
            nonlocal failed
            if failed:
                return
            session = state.get(SESSION_STATE_KEY)
            if message["type"] == "http.response.start" and message["status"] < 400 and session is not None:
                try:
                    await runner.run_outside_pool(session.commit)
                except Exception as exc:
                    log.warning("commit failed on %s %s", scope.get("method"), scope.get("path"))
                    with contextlib.suppress(Exception):  # a dead connection cannot roll back
                        await runner.run_outside_pool(session.rollback)
                    failed = True
                    # 503 with Retry-After when the database went away, else 500; face's shape.
                    response = errors.failure(Request(scope), exc)
                    await response(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive, send_after_commit)


class RequestIdMiddleware:
    """Every response carries X-Request-Id (SourceCraft puts the same id in error bodies)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.database.dispose_async()

    app = FastAPI(
        title="issuegraph",
        version=__version__,
        description="Issue tracker server whose heart is the relation graph. "
        "GitLab v4 under /api/v4, SourceCraft at the root, native graph API under /api/graph/v1.",
        lifespan=lifespan,
    )
    app.state.database = Database(settings)
    app.state.settings = settings

    errors.register_face("/api/v4", gitlab_errors.render)
    errors.register_face("/api/graph", errors.native_renderer)
    # Routes are matched in order, one regex each: the prefixed faces go before the
    # SourceCraft face at the root, so a GitLab request does not try every root route first.
    app.include_router(gitlab_router)
    _mount_web(app)
    _mount_optional_faces(app)
    errors.install(app)
    _document_graph_errors(app)

    app.include_router(health.router)

    app.add_middleware(CommitBeforeResponseMiddleware)
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RawPathMiddleware)
    app.add_middleware(ObserveMiddleware)  # inside RequestIdMiddleware: it logs the request id
    app.add_middleware(RequestIdMiddleware)
    runner.install()
    app.add_middleware(runner.RequestRunnerMiddleware)
    return app


def _mount_web(app: FastAPI) -> None:
    """The web UI (issuegraph.web): pages under /-/ and the home page, before the SourceCraft
    face at the root; its own security headers and error pages."""
    from fastapi.staticfiles import StaticFiles

    from issuegraph.web import routes as web_routes
    from issuegraph.web.security import SecurityHeadersMiddleware

    errors.register_face("/-/", web_routes.render_error)
    app.mount("/-/static", StaticFiles(directory=web_routes.HERE / "static"), name="static")
    app.include_router(web_routes.home_router)
    app.include_router(web_routes.router)
    app.add_middleware(SecurityHeadersMiddleware)


def _mount_optional_faces(app: FastAPI) -> None:
    """Faces that live in their own packages; each registers its error renderer."""
    native_router: APIRouter | None
    try:
        from issuegraph.api.native.routes import router as native_router
    except ImportError:  # pragma: no cover - while the native API is being built
        native_router = None
    if native_router is not None:
        app.include_router(native_router)
    try:
        from issuegraph.api.sourcecraft import errors as sc_errors
        from issuegraph.api.sourcecraft.routes import router as sc_router
    except ImportError:  # pragma: no cover
        return
    errors.register_face("", sc_errors.render)
    app.include_router(sc_router)
    _document_sourcecraft(app)


def _document_sourcecraft(app: FastAPI) -> None:
    """/openapi.json holds the SourceCraft face too, as its published spec describes it."""
    from issuegraph.api.sourcecraft import openapi as sc_openapi

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = sc_openapi.merge_into(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_graph_errors(app: FastAPI) -> None:
    """The graph API answers bad parameters 400 `invalid_parameter`: its OpenAPI says so, not 422."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            drop_default_422(build(), "/api/graph/")
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def factory() -> FastAPI:
    """Entry point for uvicorn workers (`--factory`)."""
    app = create_app()
    tune_gc_for_serving()
    return app


def tune_gc_for_serving() -> None:
    """A request allocates and drops thousands of objects (ORM rows, dicts), so the collector
    ran often, and each full collection walked everything start-up built (modules, routes,
    mappers). Start-up's objects are frozen out of collection and the young generation is
    collected less often: GitLab list-links p99 at concurrency 8 went from about 210 to
    120 ms. A worker process calls this once; tests leave the collector alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
