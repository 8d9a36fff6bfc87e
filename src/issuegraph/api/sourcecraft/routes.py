"""The SourceCraft face's router: every operation of swagger-issues.json that issuegraph serves,
plus `GET /user`. Mounted at the root; the GitLab face keeps /api/v4.

Routes stay out of the app's own OpenAPI document: this face's contract is SourceCraft's
published spec (shared/spec/sourcecraft/swagger-issues.json), which the tests check it against.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from fastapi.routing import APIRoute

from issuegraph.accounts.service import Actor
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft import issues, labels, links, repos
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.dependencies import Authenticated
from issuegraph.domain.statuses import STATUSES

router = APIRouter(tags=["sourcecraft"], include_in_schema=False)


@router.get("/issue_statuses")
def list_issue_statuses(actor: Actor = Authenticated) -> Response:
    return json_response(ser.envelope("statuses", [ser.status(s) for s in STATUSES]))


@router.get("/user")
def current_user(actor: Actor = Authenticated) -> Response:
    """The caller as a SourceCraft user (issuegraph extension; not in the published subset)."""
    return json_response(ser.user(actor.require_user()))


# Most of the traffic first: FastAPI tries the routes in order, twice per request, at a few
# microseconds each (the SourceCraft get issue was the 22nd). No path matches routes of two
# parts: issue links end in `/issue_links`; an `id:` segment never matches a slug (`scslug`), so
# `/repos/id:{id}/issues` is not `/repos/{org}/{repo}`; the issues' other paths are longer than
# the repositories'. tests/api/sourcecraft/test_routes_order.py checks that.
_PARTS = (links.router, issues.router, repos.router, labels.router)
for part in _PARTS:
    router.include_router(part)

_ROUTES = [route for part in (router, *_PARTS) for route in part.routes if isinstance(route, APIRoute)]


def allowed_methods(path: str) -> list[str]:
    """Every method some route of this face serves at `path` (for a 405's Allow header)."""
    return sorted({m for route in _ROUTES if route.path_regex.match(path) for m in route.methods or ()})
