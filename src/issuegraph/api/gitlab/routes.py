"""The GitLab REST API v4 face's router, assembled from one module per resource.

Each module (users, tokens, groups, members, projects, issues, notes, links) translates the
request, calls one service and serialises; its router comes from `dependencies.resource_router()`,
so its routes already carry the /api/v4 prefix, the error responses and the write-scope check.
Their routes are laid out flat in this one router (no nested router to walk per request), and the
busiest move to the front. A new resource: a new module with `router = resource_router()`, added
to `_PARTS`.
"""

from __future__ import annotations

from fastapi import Depends

from issuegraph.api.gitlab import (
    groups,
    hooks,
    issues,
    links,
    members,
    notes,
    projects,
    schemas,
    subscriptions,
    token_rotation,
    tokens,
    users,
)
from issuegraph.api.gitlab.dependencies import PREFIX, writes_need_api_scope
from issuegraph.api.routing import FaceRouter, hot_routes_first

# The face's prefix, responses and write-scope check stay here too, for a router included with
# `router.include_router(...)` rather than laid out flat.
router = FaceRouter(
    prefix=PREFIX,
    tags=["gitlab"],
    responses=schemas.ERRORS,
    dependencies=[Depends(writes_need_api_scope)],
)

_PARTS = (
    users,
    tokens,
    token_rotation,
    groups,
    members,
    projects,
    issues,
    notes,
    links,
    hooks,
    subscriptions,
)
for _part in _PARTS:
    router.routes.extend(_part.router.routes)

# Issues and their links are most of the traffic. Every route under this prefix has at least
# five segments, all literal but the ids, and no other route of this face matches such a path.
hot_routes_first(router.routes, f"{PREFIX}/projects/{{project_id}}/issues")
