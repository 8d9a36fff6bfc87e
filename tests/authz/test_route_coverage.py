"""No read route escapes the authorization matrices: every GET route the app serves (and the hook
calls that send a delivery again or a test) is asked by some matrix, or is listed here with the
reason it shows no project, group or issue data. A new route fails this test until it is added
to a matrix (or, if it shows none of that data, here)."""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts

from tests.authz.test_events_matrix import feed_scopes, hook_requests
from tests.authz.test_read_matrix import FACES
from tests.authz.test_web_matrix import web_requests
from tests.authz.world import World

# Read routes outside every matrix, and why.
EXEMPT = {
    "/openapi.json": "the API's description",
    "/docs": "the API's description",
    "/docs/oauth2-redirect": "the API's description",
    "/redoc": "the API's description",
    "/-/static": "the web UI's files",
    "/-/health": "operations: no data",
    "/-/liveness": "operations: no data",
    "/-/readiness": "operations: no data",
    "/-/metrics": "operations: counts per route template, no ids",
    "/api/v4/user": "the caller's own account",
    "/api/v4/users": "accounts (tests/api/gitlab/test_users.py)",
    "/api/v4/users/{user_id}": "accounts (tests/api/gitlab/test_users.py)",
    "/api/v4/personal_access_tokens": "the caller's tokens (tests/api/gitlab/test_tokens.py)",
    "/api/v4/personal_access_tokens/self": "the caller's tokens (tests/api/gitlab/test_tokens.py)",
    "/api/v4/personal_access_tokens/{token_id}": "the caller's tokens (tests/api/gitlab/test_tokens.py)",
    "/user": "the caller's own account",
    "/issue_statuses": "the fixed list of statuses",
}
# Calls that are not GETs but answer with what a hook was sent: in the matrix as reads.
SENDING = ("/resend", "/test/{trigger}", "/redeliver")


def read_routes(routes: list[Any]) -> list[Any]:
    found = []
    for route in iter_route_contexts(routes):
        methods = route.methods or {"GET"}  # a mount (the static files) serves GETs
        if "GET" in methods or ("POST" in methods and route.path.endswith(SENDING)):
            found.append(route)
    return found


def matrix_requests(w: World) -> list[tuple[str, str]]:
    """(method, url) of every request the matrices make."""
    out = [("GET", url) for face in FACES.values() for url, _ in face(w)]
    out += [(method, url) for _, method, url, _ in hook_requests(w)]
    for _, query in feed_scopes(w):
        out += [("GET", f"/api/graph/v1/events?{query}"), ("GET", f"/api/graph/v1/events/stream?{query}")]
    out += [("GET", url) for url, _, _ in web_requests(w)]
    return out


def _route_of(routes: list[Any], method: str, url: str) -> str | None:
    """The template of the route that serves this request (the first that matches, as routing)."""
    path = url.split("?")[0]
    for route in iter_route_contexts(routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and method in (route.methods or set()) and regex.match(path):
            return str(route.path)
    return None


def uncovered(routes: list[Any], requests: list[tuple[str, str]]) -> list[str]:
    covered = {_route_of(routes, method, url) for method, url in requests}
    return [r.path for r in read_routes(routes) if r.path not in covered and r.path not in EXEMPT]


def test_every_read_route_is_in_a_matrix(world: World) -> None:
    """Each GET route (and each hook resend, test and redeliver) is asked by a matrix or exempt."""
    routes = world.client.app.routes  # type: ignore[attr-defined]
    missing = uncovered(routes, matrix_requests(world))
    assert not missing, f"read routes no authorization matrix asks: {missing}"
    stale = sorted(set(EXEMPT) - {r.path for r in read_routes(routes)})
    assert not stale, f"exempt routes the app no longer has: {stale}"


def test_the_coverage_check_reports_a_new_route(world: World) -> None:
    """The check itself: a page added to the app that no matrix asks is reported, by its template."""
    from fastapi import APIRouter

    router = APIRouter()
    router.get("/-/projects/{project_id}/secrets")(lambda project_id: {})
    router.post("/api/v4/projects/{project_id}/hooks/{hook_id}/redeliver")(lambda project_id, hook_id: {})
    routes = [*world.client.app.routes, *router.routes]  # type: ignore[attr-defined]
    assert uncovered(routes, matrix_requests(world)) == [
        "/-/projects/{project_id}/secrets",
        "/api/v4/projects/{project_id}/hooks/{hook_id}/redeliver",
    ]
