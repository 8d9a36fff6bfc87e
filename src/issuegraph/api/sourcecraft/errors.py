"""The SourceCraft face's one error renderer: `{error_code, message, request_id, details}` (spec §6)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from issuegraph.api.errors import MethodNotAllowed, request_id
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft.routes import allowed_methods
from issuegraph.domain.errors import DomainError, ErrorKind

_BY_KIND = {
    ErrorKind.UNAUTHENTICATED: (401, "Unauthenticated"),
    ErrorKind.FORBIDDEN: (403, "PermissionDenied"),
    ErrorKind.NOT_FOUND: (404, "NotFound"),
    ErrorKind.CONFLICT: (409, "AlreadyExists"),
    ErrorKind.INVALID: (400, "ValidationError"),
    ErrorKind.RULE: (400, "ValidationError"),
    ErrorKind.UNAVAILABLE: (503, "Unavailable"),
}

# Situations whose SourceCraft class differs from their kind's.
_BY_CODE = {
    "close_denied": (409, "FailedPrecondition"),  # the state, not the request, is the problem
    "path_taken": (409, "AlreadyExists"),  # a repository slug in use is a conflict here
    "internal": (500, "Internal"),
}

# The spec's suggested texts (§6.2); other situations keep the domain's message.
_MESSAGES = {
    "link_exists": "a link between these issues already exists",
    "self_link": "an issue cannot be linked to itself",
    "unauthenticated": "authentication required: send a valid token as 'Authorization: Bearer <token>'",
    "invalid_token": "the token is invalid, revoked or expired",
    "token_expired": "the token is invalid, revoked or expired",
    "route_not_found": "no such route",
    "method_not_allowed": "the route does not support this method",
    "internal": "internal server error",
    "database_unavailable": "the service is temporarily unavailable; retry later",
}


def status_and_code(error: DomainError) -> tuple[int, str]:
    if isinstance(error, MethodNotAllowed):
        return 405, "MethodNotAllowed"
    return _BY_CODE.get(error.code) or _BY_KIND[error.kind]


def _message(error: DomainError) -> str:
    if error.code == "link_limit":
        limit = error.details.get("limit", "100")
        return f"issue would exceed the maximum number of linked issues ({limit})"
    return _MESSAGES.get(error.code, error.message)


def _details(error: DomainError) -> dict[str, str]:
    """String values only, valid under both spec versions; `reason` names the exact situation."""
    details: dict[str, str] = {"reason": error.code}
    for key, value in error.details.items():
        # The domain's `iid` is the GitLab word for what this face calls an issue slug.
        name = "issue_slug" if key == "iid" else str(key)
        details[name] = value if isinstance(value, str) else _text(value)
    return details


def _text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def render(request: Request, error: DomainError) -> Response:
    status, code = status_and_code(error)
    rid = request_id(request)
    body = {"error_code": code, "message": _message(error), "request_id": rid, "details": _details(error)}
    # A 500 is rendered outside the middleware that stamps X-Request-Id, so stamp it here.
    headers: dict[str, str] = {}
    if status == 500:
        headers["X-Request-Id"] = rid
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.url.path))
    return json_response(body, status, headers=headers or None)
