"""Repository labels and milestones, an issue's labels, and comments on the SourceCraft face."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from issuegraph.db.models import Event
from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error
from tests.conftest import Factory

FORMS = ("slug", "id")


# ---------------------------------------------------------------- repository labels


def test_create_and_list_labels(sc: SourceCraft, world: World) -> None:
    """201 label (slug = name, gray by default); the list is `{items}` by name, paged by keyset."""
    for form in FORMS:
        path = world.repo_path(world.repo, form) + "/labels"
        made = sc.post(path, json={"name": f"b-{form}", "color": "#ff0000"})
        assert made.status_code == 201, made.text
        assert {k: made.json()[k] for k in ("slug", "name", "color")} == {
            "slug": f"b-{form}",
            "name": f"b-{form}",
            "color": "#ff0000",
        }
        gray = sc.post(path, json={"name": f"a-{form}", "slug": f"a-{form}"}).json()
        assert gray["color"] == "#808080" and gray["created_at"].endswith("Z")
    listed = sc.get("/repos/acme/api/labels").json()
    assert [x["slug"] for x in listed["items"]] == ["a-id", "a-slug", "b-id", "b-slug"]
    first = sc.get("/repos/acme/api/labels", params={"page_size": "3", "sort_by": "-name"}).json()
    rest = sc.get(
        "/repos/acme/api/labels",
        params={"page_size": "3", "sort_by": "-name", "page_token": first["next_page_token"]},
    ).json()
    assert [x["slug"] for x in first["items"] + rest["items"]] == ["b-slug", "b-id", "a-slug", "a-id"]


def test_label_refusals(sc: SourceCraft, world: World) -> None:
    """400 no name / a slug other than the name / a filter; 409 a name in use."""
    path = "/repos/acme/api/labels"
    assert sc.post(path, json={"name": "bug"}).status_code == 201
    assert_error(sc.post(path, json={"name": "bug"}), 409, "AlreadyExists", reason="label_exists")
    assert_error(sc.post(path, json={"color": "#fff"}), 400, "ValidationError", field="name")
    assert_error(sc.post(path, json={"name": "Bug", "slug": "bug"}), 400, "ValidationError", field="slug")
    assert_error(sc.get(path, params={"filter": "name=bug"}), 400, "ValidationError", field="filter")


# ---------------------------------------------------------------- milestones


def test_create_and_list_milestones(sc: SourceCraft, world: World) -> None:
    """CreateMilestone answers 200 (as the spec says); milestones list as `{items}` with status."""
    for form in FORMS:
        path = world.repo_path(world.repo, form) + "/milestones"
        response = sc.post(
            path,
            json={
                "name": f"v1-{form}",
                "description": "first",
                "start_date": "2030-01-01T00:00:00Z",
                "deadline": "2030-02-01T00:00:00Z",
            },
        )
        assert response.status_code == 200, response.text
        made = response.json()
        assert (made["slug"], made["status"], made["author"]["slug"]) == (f"v1-{form}", "open", "root")
        assert (made["start_date"], made["deadline"]) == ("2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z")
    listed = sc.get("/repos/acme/api/milestones").json()
    assert [x["name"] for x in listed["items"]] == ["v1-slug", "v1-id"]
    assert_error(sc.post("/repos/acme/api/milestones", json={"name": "v1-id"}), 409, "AlreadyExists")
    assert_error(sc.post("/repos/acme/api/milestones", json={}), 400, "ValidationError", field="name")
    assert_error(sc.get("/repos/acme/api/milestones", params={"sort_by": "deadline"}), 400, "ValidationError")


# ---------------------------------------------------------------- an issue's labels


def test_issue_labels_add_replace_remove(sc: SourceCraft, world: World, factory: Factory) -> None:
    """POST adds, PUT replaces, DELETE removes (by ids or slugs); each returns the resulting set."""
    ids = {n: sc.post("/repos/acme/api/labels", json={"name": n}).json()["id"] for n in ("bug", "ui", "x")}
    gitlab_url = f"/api/v4/projects/{world.repo['id']}/issues/1"
    for form in FORMS:
        path = world.issue_path(world.issue, form) + "/labels"

        def names(response: Any) -> list[str]:
            assert response.status_code == 200, response.text
            return [x["slug"] for x in response.json()["labels"]]

        assert names(sc.post(path, json={"slugs": ["bug"]})) == ["bug"]
        assert names(sc.post(path, json={"ids": [ids["ui"]], "slugs": ["bug"]})) == ["bug", "ui"]
        assert factory.client.get(gitlab_url, headers=factory.admin.headers).json()["labels"] == ["bug", "ui"]
        assert names(sc.put(path, json={"slugs": ["x"]})) == ["x"]
        assert names(sc.delete(path, json={"ids": [ids["x"]]}, params={"silent": "true"})) == []
        assert names(sc.delete(path, json={"slugs": ["bug"]})) == []  # removing what is absent is fine
        assert names(sc.put(path, json={"slugs": ["bug", "ui"]})) == ["bug", "ui"]
        assert names(sc.get(path)) == ["bug", "ui"]
        assert names(sc.put(path, json={})) == []
        assert_error(sc.post(path, json={"slugs": ["nope"]}), 404, "NotFound", reason="label_not_found")
        assert_error(sc.post(path, json={"ids": ["12x"]}), 404, "NotFound")
        assert_error(sc.post(path, json={"slugs": "bug"}), 400, "ValidationError", field="slugs")


def test_issue_labels_use_the_issue_repository_only(sc: SourceCraft, world: World) -> None:
    """A label of another repository is not found for this issue's label set (404)."""
    other = sc.post("/repos/acme/web/labels", json={"name": "web-only"}).json()
    path = world.issue_path(world.issue, "id") + "/labels"
    assert_error(sc.post(path, json={"ids": [other["id"]]}), 404, "NotFound")
    assert_error(sc.post(path, json={"slugs": ["web-only"]}), 404, "NotFound")


# ---------------------------------------------------------------- comments


def test_comments_create_and_list(sc: SourceCraft, world: World, database: Any) -> None:
    """201 comment by the caller; the list has user comments only (no system notes), by keyset."""
    sc.post(
        world.issue_path(world.issue, "id") + "/issue_links", json={"target_issue_slug": "2"}
    )  # a system note
    made = []
    for form, silent in (("slug", "false"), ("id", "true")):
        path = world.issue_path(world.issue, form) + "/comments"
        response = sc.as_(world.guest).post(path, json={"body": f"hello {form}"}, params={"silent": silent})
        assert response.status_code == 201, response.text
        made.append(response.json())
        assert made[-1]["author"] == {"id": str(world.guest.id), "slug": "guest"}
        assert made[-1]["created_at"].endswith("Z") and made[-1]["attachments"] == []
    for form in FORMS:
        path = world.issue_path(world.issue, form) + "/comments"
        assert sc.get(path).json() == {"issue_comments": made}
        first = sc.get(path, params={"page_size": "1", "sort_by": "-created_at"}).json()
        assert first["issue_comments"] == [made[1]]
        rest = sc.get(
            path, params={"page_size": "1", "sort_by": "-created_at", "page_token": first["next_page_token"]}
        )
        assert rest.json() == {"issue_comments": [made[0]]}
    with database.session(write=False) as session:
        flags = session.scalars(
            select(Event.silent).where(Event.kind == "issue_comment.create").order_by(Event.id)
        )
        assert list(flags) == [False, True]


def test_comment_refusals(sc: SourceCraft, world: World) -> None:
    """400: an empty body, a body that is no string, a reply (`parent_id`: comments are not threaded)."""
    path = world.issue_path(world.issue, "slug") + "/comments"
    assert_error(sc.post(path, json={"body": ""}), 400, "ValidationError", field="body")
    assert_error(sc.post(path, json={"body": ["x"]}), 400, "ValidationError", field="body")
    assert_error(
        sc.post(path, json={"body": "x", "parent_id": "1"}), 400, "ValidationError", field="parent_id"
    )
    assert sc.post(path, json={"body": "x", "parent_id": ""}).status_code == 201
