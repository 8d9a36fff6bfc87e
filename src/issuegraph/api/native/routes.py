"""The native graph API, ``/api/graph/v1``: blockers, ready work, hierarchy, critical path,
duplicates, streamed export and bulk links, webhooks and the change feed.

Issues are addressed as ``/projects/{project_ref}/issues/{iid}``, groups as
``/groups/{group_ref}``; a ref is a numeric id or a URL-encoded full path
(``my-group%2Fmy-project``). Errors are ``{"error": {"code", "message", "details"}}``.
Issues the caller cannot read never appear; on a path they are ``{"hidden": true}``.

One module per resource, assembled here in matching order (the issue routes first:
`{project_ref:path}` is greedy and theirs are the longer patterns): `issues` (the graph around
an issue), `projects` and `groups` (work lists, critical path, export), `bulk`, `webhooks`,
`feed`; `params` holds what they share.
"""

from __future__ import annotations

from issuegraph.api.native import bulk, feed, groups, issues, projects, webhooks
from issuegraph.api.routing import FaceRouter

PREFIX = "/api/graph/v1"

router = FaceRouter(prefix=PREFIX, tags=["graph"])
for _part in (issues, projects, groups, bulk, webhooks, feed):
    router.include_router(_part.router)
