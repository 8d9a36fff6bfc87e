"""The GitLab face's one error renderer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from issuegraph.api.errors import status_for
from issuegraph.domain.errors import DomainError, ErrorKind

# Codes whose GitLab status differs from the kind's default.
_STATUS = {"unlink_forbidden": 404, "precondition_failed": 412}
# 400s that GitLab words as {"message": ...} rather than Grape's {"error": ...}.
_MESSAGE_400 = frozenset({"no_parameters"})


def render(request: Request, error: DomainError) -> Response:
    status = _STATUS.get(error.code, status_for(error))
    body: dict[str, Any]
    if error.kind == ErrorKind.UNAUTHENTICATED:
        body = {"message": "401 Unauthorized"}
    elif error.code == "insufficient_scope":
        body = {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "api",
        }
    elif error.kind == ErrorKind.INVALID and status == 400 and error.code not in _MESSAGE_400:
        body = {"error": error.message}
    elif error.kind == ErrorKind.RULE and "iid" in error.details:
        body = {"message": f"#{error.details['iid']} cannot be added: {error.message}"}
    elif error.code == "rate_limited":  # Grape's render_api_error! of a hash
        body = {"message": {"error": error.message}}
    elif error.code == "close_denied":
        body = {"message": error.message, "open": error.details.get("open", [])}
    else:
        body = {"message": error.message}
    return JSONResponse(body, status_code=status)
