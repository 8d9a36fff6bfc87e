"""The ladder for every route of the face (STYLE §9): anonymous 401, forbidden 403 or invisible
404, not found 404, invalid 400. The valid rung of each route is in the resource's own file
(test_issues.py, test_repos.py, test_labels_comments.py, test_issue_links.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error
from tests.conftest import Factory

FORMS = ("slug", "id")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: Any = None
    paged: bool = False  # takes page_size / page_token

    @property
    def mutating(self) -> bool:
        return self.method != "GET"

    def send(self, sc: SourceCraft, **params: str) -> Any:
        kwargs: dict[str, Any] = {"params": params}
        if self.body is not None:
            kwargs["json"] = self.body
        return sc.request(self.method, self.path, **kwargs)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


LABELS = {"slugs": ["bug"]}


def _issue_routes(issue: str, link: str) -> list[Route]:
    return [
        Route("GET", issue),
        Route("PATCH", issue, {"title": "renamed"}),
        Route("DELETE", issue),
        Route("GET", f"{issue}/issue_links", paged=True),
        Route("POST", f"{issue}/issue_links", {"target_issue_slug": "2"}),
        Route("GET", f"{issue}/comments", paged=True),
        Route("POST", f"{issue}/comments", {"body": "hello"}),
        Route("GET", f"{issue}/labels"),
        Route("POST", f"{issue}/labels", LABELS),
        Route("PUT", f"{issue}/labels", LABELS),
        Route("DELETE", f"{issue}/labels", LABELS),
    ]


def _repo_routes(repo: str) -> list[Route]:
    return [
        Route("GET", repo),
        Route("GET", f"{repo}/issues", paged=True),
        Route("POST", f"{repo}/issues", {"title": "new"}),
        Route("GET", f"{repo}/labels", paged=True),
        Route("POST", f"{repo}/labels", {"name": "new"}),
        Route("GET", f"{repo}/milestones", paged=True),
        Route("POST", f"{repo}/milestones", {"name": "new"}),
    ]


def _org_routes(org: str) -> list[Route]:
    return [
        Route("GET", f"{org}/repos", paged=True),
        Route("POST", f"{org}/repos", {"name": "New", "slug": "new"}),
    ]


def routes_on(org: str, repo: str, repo_id: str, issue: str, link: str) -> list[Route]:
    """Every route of the face, addressing the given organization, repository, issue and link."""
    return [
        *_org_routes(org),
        *_repo_routes(repo),
        Route("PATCH", repo_id, {"description": "new"}),
        Route("DELETE", repo_id),
        *_issue_routes(issue, link),
        Route("DELETE", link),
    ]


def world_routes(world: World, link_id: str, form: str) -> list[Route]:
    return routes_on(
        world.org_path(form),
        world.repo_path(world.repo, form),
        world.repo_path(world.repo, "id"),
        world.issue_path(world.issue, form),
        f"/issue_links/id:{link_id}",
    )


GLOBAL_ROUTES = [
    Route("GET", "/issue_statuses"),
    Route("GET", "/user"),
    Route("GET", "/me/issues", paged=True),
]


@pytest.fixture
def link_id(world: World, factory: Factory) -> str:
    """A link api#1 -> api#2, and a label `bug` in api for the label routes."""
    url = f"/api/v4/projects/{world.repo['id']}/issues/2"  # GitLab creates labels on first use
    factory.client.put(url, headers=factory.admin.headers, json={"labels": "bug"})
    return str(factory.link(world.issue, world.target, "blocks")["id"])


def test_anonymous_gets_401_everywhere(sc: SourceCraft, world: World, link_id: str) -> None:
    """Every route, in both forms, without a token or with a bad one: 401 Unauthenticated."""
    routes = GLOBAL_ROUTES + world_routes(world, link_id, "slug") + world_routes(world, link_id, "id")
    for route in routes:
        assert_error(route.send(sc.anonymous()), 401, "Unauthenticated")
        bad = sc.anonymous().request(route.method, route.path, headers={"Authorization": "Bearer nope"})
        assert_error(bad, 401, "Unauthenticated")


def test_read_only_token_gets_403_on_every_change(
    sc: SourceCraft, world: World, factory: Factory, link_id: str
) -> None:
    """A `read_api` token reads, but every mutating route answers 403 PermissionDenied."""
    reader = factory.user("reader", admin=True, scopes="read_api")
    for route in world_routes(world, link_id, "slug") + world_routes(world, link_id, "id"):
        response = route.send(sc.as_(reader))
        if route.mutating:
            assert_error(response, 403, "PermissionDenied", reason="insufficient_scope")
        else:
            assert response.status_code == 200, f"{route}: {response.text}"


def test_guest_gets_403_where_the_role_is_too_low(sc: SourceCraft, world: World, link_id: str) -> None:
    """A Guest of the repository reads it but may not administer it or edit others' issues: 403."""
    for form in FORMS:
        org, repo = world.org_path(form), world.repo_path(world.repo, form)
        issue = world.issue_path(world.issue, form)
        forbidden = [
            Route("POST", f"{org}/repos", {"name": "New", "slug": "new"}),
            Route("PATCH", world.repo_path(world.repo, "id"), {"description": "new"}),
            Route("DELETE", world.repo_path(world.repo, "id")),
            Route("POST", f"{repo}/labels", {"name": "new"}),
            Route("POST", f"{repo}/milestones", {"name": "new"}),
            Route("PATCH", issue, {"title": "renamed"}),
            Route("DELETE", issue),
            Route("POST", f"{issue}/labels", LABELS),
            Route("PUT", f"{issue}/labels", LABELS),
            Route("DELETE", f"{issue}/labels", LABELS),
        ]
        for route in forbidden:
            assert_error(route.send(sc.as_(world.guest)), 403, "PermissionDenied")


def test_outsider_gets_404_for_what_it_cannot_see(sc: SourceCraft, world: World, link_id: str) -> None:
    """A user with no role in the private org sees nothing of it: 404 NotFound, never 403."""
    for form in FORMS:
        for route in world_routes(world, link_id, form):
            assert_error(route.send(sc.as_(world.outsider)), 404, "NotFound")


def test_missing_objects_are_404(sc: SourceCraft, world: World) -> None:
    """Unknown organizations, repositories, issues and links, in both forms: 404 NotFound."""
    missing = [
        routes_on(
            "/orgs/nope",
            "/repos/acme/nope",
            "/repos/id:999999",
            "/repos/acme/api/issues/999",
            "/issue_links/id:999999",
        ),
        routes_on(
            "/orgs/id:999999", "/repos/nope/api", "/repos/id:0", "/issues/id:999999", "/issue_links/id:abc"
        ),
        routes_on(
            "/orgs/id:x", "/repos/id:1x", "/repos/id:-1", "/repos/acme/api/issues/0", "/issue_links/id:1.0"
        ),
    ]
    for route in [route for routes in missing for route in routes]:
        assert_error(route.send(sc), 404, "NotFound")


def test_invalid_requests_are_400(sc: SourceCraft, world: World, link_id: str) -> None:
    """Bad `silent` on every change, bad `page_size` on every list, a non-JSON body: 400."""
    routes = GLOBAL_ROUTES[2:] + world_routes(world, link_id, "slug") + world_routes(world, link_id, "id")
    for route in routes:
        if route.mutating:
            assert_error(route.send(sc, silent="maybe"), 400, "ValidationError", field="silent")
        if route.body is not None:
            response = sc.request(route.method, route.path, content=b"{not json")
            assert_error(response, 400, "ValidationError", field="body")
        if route.paged:
            assert_error(route.send(sc, page_size="x"), 400, "ValidationError", field="page_size")


def test_unknown_path_is_404_and_wrong_method_is_405(sc: SourceCraft, world: World) -> None:
    """A path no route has: 404 NotFound; a known path with another method: 405 with `Allow`."""
    for path in ("/nope", "/repos", "/orgs/acme", "/issues/id:1/nope", "/repos/acme/api/issues/1/links"):
        assert_error(sc.get(path), 404, "NotFound", reason="route_not_found")
    cases = [
        ("DELETE", "/repos/acme/api", "GET"),  # the slug form has only GET (spec subset)
        ("PATCH", "/repos/acme/api", "GET"),
        ("PUT", "/repos/id:1", "DELETE, GET, PATCH"),
        ("DELETE", "/repos/id:1/issues", "GET, POST"),
        ("PATCH", "/issues/id:1/labels", "DELETE, GET, POST, PUT"),
        ("POST", "/issue_statuses", "GET"),
        ("POST", "/me/issues", "GET"),
    ]
    for method, path, allow in cases:
        response = sc.request(method, path)
        assert_error(response, 405, "MethodNotAllowed")
        assert response.headers["allow"] == allow


def test_id_route_wins_over_slug_route(sc: SourceCraft, world: World) -> None:
    """`/repos/id:N/issues` is the id form's issue list, never org `id:N`, repo `issues` (spec §3)."""
    response = sc.get(f"/repos/id:{world.repo['id']}/issues")
    assert response.status_code == 200 and [x["slug"] for x in response.json()["issues"]] == ["1", "2"]
    encoded = sc.get(f"/repos/id%3A{world.repo['id']}/issues")
    assert encoded.json() == response.json()
