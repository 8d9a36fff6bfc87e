"""Errors rendered in the shape of the face that was called.

One handler per face; the app dispatches by path prefix.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from issuegraph.db.availability import is_unavailable
from issuegraph.domain.errors import DomainError, ErrorKind, Invalid, NotFound, Unavailable

log = logging.getLogger("issuegraph")

Renderer = Callable[[Request, DomainError], Response]
_FACES: list[tuple[str, Renderer]] = []

STATUS_BY_KIND = {
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.INVALID: 400,
    ErrorKind.RULE: 422,
    ErrorKind.UNAVAILABLE: 503,
}


class MethodNotAllowed(DomainError):
    kind = ErrorKind.INVALID


def register_face(prefix: str, renderer: Renderer) -> None:
    """Faces register longest prefix first; '' is the catch-all (SourceCraft at the root)."""
    _FACES.append((prefix, renderer))
    _FACES.sort(key=lambda item: len(item[0]), reverse=True)


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = str(uuid.uuid4())
        request.state.request_id = rid
    return rid


def render(request: Request, error: DomainError) -> Response:
    request.state.error_code = error.code  # for the access log
    path = request.url.path
    for prefix, renderer in _FACES:
        if path.startswith(prefix):
            return renderer(request, error)
    return JSONResponse({"message": error.message}, status_code=STATUS_BY_KIND[error.kind])


def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    names = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
        names.append(f"{'.'.join(loc) or 'body'} is invalid")
    error = Invalid("invalid_parameter", ", ".join(dict.fromkeys(names)) or "request is invalid")
    return render(request, error)


def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 405:
        return render(request, MethodNotAllowed("method_not_allowed", "405 Method Not Allowed"))
    if exc.status_code == 404:
        return render(request, NotFound("route_not_found", "404 Not Found"))
    if exc.status_code == 400:
        return render(request, Invalid("bad_request", str(exc.detail)))
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = DomainError("internal", "500 Internal Server Error")
    response = render(request, error)
    response.status_code = 500
    return response


def unavailable(request: Request) -> Response:
    """503 in the face's shape with Retry-After: the database cannot serve now."""
    error = Unavailable("database_unavailable", "503 Service Unavailable: the database is unreachable")
    response = render(request, error)
    response.headers["Retry-After"] = str(request.app.state.settings.retry_after)
    return response


def failure(request: Request, exc: Exception) -> Response:
    """The answer to an exception no handler knew: 503 for a database outage, else 500."""
    if is_unavailable(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return unavailable(request)
    return _unexpected(request, exc)


# Errors a database outage raises: handled inside the app's middleware (unlike a bare
# Exception handler, which Starlette runs outermost), so the answer carries X-Request-Id.
_DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError, sqlite3.Error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, render)  # type: ignore[arg-type]
    for error_class in _DATABASE_ERRORS + _driver_errors():
        app.add_exception_handler(error_class, failure)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, failure)


def _driver_errors() -> tuple[type[Exception], ...]:
    """asyncpg's errors, which the straight-on-asyncpg statements can raise unwrapped."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (asyncpg.PostgresError, asyncpg.InterfaceError)


def status_for(error: DomainError) -> int:
    if isinstance(error, MethodNotAllowed):
        return 405
    if error.code == "internal":
        return 500
    return STATUS_BY_KIND[error.kind]


def native_renderer(request: Request, error: DomainError) -> Response:
    body: dict[str, Any] = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    return JSONResponse(body, status_code=status_for(error))
