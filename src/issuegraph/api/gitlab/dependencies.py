"""What every GitLab route shares: the write-scope check, the parameter type, the router factory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import READ_METHODS, get_actor
from issuegraph.api.gitlab import schemas

PREFIX = "/api/v4"

Params = dict[str, Any]

# Any token may revoke itself, whatever its scopes (GitLab 15.4): a leaked read_api token too.
_ANY_SCOPE_WRITES = frozenset({f"{PREFIX}/personal_access_tokens/self"})


async def writes_need_api_scope(request: Request, actor: Actor = Depends(get_actor)) -> None:
    """Every GitLab write needs a user with an `api` token, checked before the request is read:
    401 without a token, 403 insufficient_scope for read_api, ahead of any 400 or 404 (as GitLab)."""
    if request.method in READ_METHODS:
        return
    route = request.scope.get("route")
    if route is not None and getattr(route, "path", None) in _ANY_SCOPE_WRITES:
        actor.require_user()
    else:
        actor.require_write()


def resource_router() -> APIRouter:
    """The router of one GitLab resource module: its routes carry the face's prefix, error
    responses and write-scope check themselves, so routes.py can lay them out flat in one list."""
    return APIRouter(
        prefix=PREFIX,
        tags=["gitlab"],
        responses=schemas.ERRORS,
        dependencies=[Depends(writes_need_api_scope)],
    )
