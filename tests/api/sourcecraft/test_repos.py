"""Organizations' repositories and the caller (`GET /user`) on the SourceCraft face."""

from __future__ import annotations

from typing import Any

from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error
from tests.conftest import Factory

FORMS = ("slug", "id")


def _slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [x["slug"] for x in response.json()["repositories"]]


def test_current_user(sc: SourceCraft, world: World) -> None:
    """`GET /user` is the caller as a SourceCraft user: id, slug (username), name, email."""
    assert sc.as_(world.guest).get("/user").json() == {
        "id": str(world.guest.id),
        "slug": "guest",
        "name": "Guest",
        "email": "guest@example.test",
    }


def test_list_repositories_shows_what_the_caller_may_read(sc: SourceCraft, world: World) -> None:
    """An org's repositories by slug (default order) for each caller; private ones only to members."""
    for form in FORMS:
        path = world.org_path(form) + "/repos"
        assert _slugs(sc.get(path)) == ["api", "docs", "web"]
        assert _slugs(sc.as_(world.guest).get(path)) == ["api", "docs"]
        assert_error(sc.as_(world.outsider).get(path), 404, "NotFound")


def test_list_repositories_pages_and_sorts(sc: SourceCraft, world: World) -> None:
    """Repositories page by keyset (`page_size`, `page_token`) and sort by name, slug, id or time."""
    for form in FORMS:
        path = world.org_path(form) + "/repos"
        first = sc.get(path, params={"page_size": "2"}).json()
        assert [x["slug"] for x in first["repositories"]] == ["api", "docs"]
        rest = sc.get(path, params={"page_size": "2", "page_token": first["next_page_token"]}).json()
        assert rest == {"repositories": [sc.get(f"/repos/id:{world.other_repo['id']}").json()]}
        assert _slugs(sc.get(path, params={"sort_by": "-created_at"})) == ["docs", "web", "api"]
        assert_error(sc.get(path, params={"sort_by": "stars"}), 400, "ValidationError", field="sort_by")


def test_public_org_lists_only_public_repositories_to_strangers(
    sc: SourceCraft, factory: Factory, world: World
) -> None:
    """In a public org, a user with no role sees the public repositories only."""
    group = factory.group("open", visibility="public")
    factory.project("shown", group=group, visibility="public")
    factory.project("hidden", group=group, visibility="private")
    assert _slugs(sc.as_(world.outsider).get("/orgs/open/repos")) == ["shown"]
    assert _slugs(sc.as_(world.outsider).get(f"/orgs/id:{group['id']}/repos")) == ["shown"]


def test_org_slug_is_a_path_never_an_id(sc: SourceCraft, factory: Factory, world: World) -> None:
    """`/orgs/2024` is the group whose path is 2024 (not group id 2024); a user namespace is no org."""
    numeric = factory.group("2024")
    factory.project("yearly", group=numeric)
    assert _slugs(sc.get("/orgs/2024/repos")) == ["yearly"]
    assert_error(sc.get(f"/orgs/{world.org['id']}/repos"), 404, "NotFound")
    assert_error(sc.get("/orgs/root/repos"), 404, "NotFound")


def test_get_repository_in_both_forms(sc: SourceCraft, world: World) -> None:
    """A repository reads the same by slug and by id: ids as strings, org reference, visibility."""
    by_slug = sc.get("/repos/acme/api").json()
    assert by_slug == sc.get(f"/repos/id:{world.repo['id']}").json()
    assert by_slug == {
        "id": str(world.repo["id"]),
        "name": "api",
        "slug": "api",
        "organization": {"id": str(world.org["id"]), "slug": "acme"},
        "template_type": "not_a_template",
        "is_empty": True,
        "visibility": "private",
        "last_updated": by_slug["last_updated"],
        "close_policy": "allow",  # issuegraph extensions: the issue settings
        "close_duplicates": False,
    }
    assert sc.get("/repos/ACME/Api").json() == by_slug  # paths are case-insensitive, as on GitLab


def test_nested_repository_has_only_the_id_form(sc: SourceCraft, factory: Factory, world: World) -> None:
    """A project in a subgroup (`acme/team/app`) is reachable as `id:` only (spec §3)."""
    sub = factory.client.post(
        "/api/v4/groups",
        headers=factory.admin.headers,
        json={"name": "Team", "path": "team", "parent_id": world.org["id"]},
    ).json()
    app = factory.project("app", group=sub)
    body = sc.get(f"/repos/id:{app['id']}").json()
    assert body["organization"] == {"id": str(sub["id"]), "slug": "acme/team"}
    assert_error(sc.get("/repos/acme/team"), 404, "NotFound")
    assert_error(sc.get("/repos/acme/team%2Fapp"), 404, "NotFound")
    assert [x["slug"] for x in sc.get(f"/orgs/id:{sub['id']}/repos").json()["repositories"]] == ["app"]


def test_create_repository(sc: SourceCraft, world: World, factory: Factory) -> None:
    """201 Repository; GitLab sees project `acme/<slug>`; a slug in use is 409 AlreadyExists."""
    for form in FORMS:
        path = world.org_path(form) + "/repos"
        body = {"name": f"New {form}", "slug": f"new-{form}", "description": "d", "visibility": "public"}
        response = sc.post(path, json={**body, "init_settings": {"create_readme": True}})
        assert response.status_code == 201, response.text
        repo = response.json()
        assert (repo["name"], repo["slug"], repo["description"], repo["visibility"]) == (
            f"New {form}",
            f"new-{form}",
            "d",
            "public",
        )
        gitlab = factory.client.get(
            f"/api/v4/projects/acme%2Fnew-{form}", headers=factory.admin.headers
        ).json()
        assert gitlab["id"] == int(repo["id"])
        assert_error(sc.post(path, json=body), 409, "AlreadyExists", reason="path_taken")


def test_create_repository_refuses_bad_shapes(sc: SourceCraft, world: World) -> None:
    """400: no name or slug, a slug that is no path (or starts with `id:`), templates, bad visibility."""
    for form in FORMS:
        path = world.org_path(form) + "/repos"
        for body, field in (
            ({"slug": "x"}, "name"),
            ({"name": "x"}, "slug"),
            ({"name": "x", "slug": "a b"}, "slug"),
            ({"name": "x", "slug": "id:5"}, "slug"),
            ({"name": "x", "slug": "x", "visibility": "secret"}, "visibility"),
            ({"name": "x", "slug": "x", "templating_options": {"template_id": "1"}}, "templating_options"),
        ):
            assert_error(sc.post(path, json=body), 400, "ValidationError", field=field)


def test_update_repository(sc: SourceCraft, world: World) -> None:
    """200: PATCH sets description and visibility; branches, links and templates are refused (400)."""
    path = f"/repos/id:{world.repo['id']}"
    response = sc.patch(path, json={"description": "the API", "visibility": "internal", "links": []})
    assert response.status_code == 200, response.text
    assert (response.json()["description"], response.json()["visibility"]) == ("the API", "internal")
    assert sc.get("/repos/acme/api").json()["visibility"] == "internal"
    for body, field in (
        ({"default_branch": "main"}, "default_branch"),
        ({"links": [{"link": "https://x.test", "type": "homepage"}]}, "links"),
        ({"template_type": "system"}, "template_type"),
        ({"visibility": "hidden"}, "visibility"),
    ):
        assert_error(sc.patch(path, json=body), 400, "ValidationError", field=field)


def test_delete_repository(sc: SourceCraft, world: World) -> None:
    """204 with no body; the repository and its issues are gone (404); only owners may (403 elsewhere)."""
    response = sc.delete(f"/repos/id:{world.other_repo['id']}", params={"silent": "1"})
    assert response.status_code == 204 and response.content == b""
    assert_error(sc.get("/repos/acme/web"), 404, "NotFound")
    assert_error(sc.get(f"/issues/id:{world.other['id']}"), 404, "NotFound")
    assert_error(sc.as_(world.planner).delete(f"/repos/id:{world.repo['id']}"), 403, "PermissionDenied")
