"""Issues on the SourceCraft face (spec §9): the object, create, update, delete, lists with
filter and pages, `/me/issues`, `/issue_statuses`; and what the GitLab face sees of them."""

from __future__ import annotations

from typing import Any

from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error, bulk_issues
from tests.conftest import Factory

FORMS = ("slug", "id")
ISSUE_KEYS = {
    "id", "slug", "title", "status", "author", "updated_by", "created_at", "updated_at",
    "labels", "linked_prs", "priority", "visibility", "repository",
}  # fmt: skip


def gitlab_issue(sc: SourceCraft, factory: Factory, issue: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v4/projects/{issue['repository']['id']}/issues/{issue['slug']}"
    body: dict[str, Any] = sc.client.get(url, headers=factory.admin.headers).json()
    return body


def test_issue_object_is_the_same_in_both_forms(sc: SourceCraft, world: World) -> None:
    """GET by slug and by id give one object: string ids, slug = iid, status, repository, no empties."""
    by_slug = sc.get(world.issue_path(world.issue, "slug")).json()
    assert by_slug == sc.get(world.issue_path(world.issue, "id")).json()
    assert set(by_slug) == ISSUE_KEYS  # description "" and unset fields are omitted
    assert (by_slug["id"], by_slug["slug"]) == (str(world.issue["id"]), "1")
    assert by_slug["status"] == {"id": "1", "slug": "open", "name": "Open", "status_type": "initial"}
    assert by_slug["author"] == by_slug["updated_by"] == {"id": "1", "slug": "root"}
    assert by_slug["repository"] == {
        "id": str(world.repo["id"]),
        "slug": "api",
        "organization": {"id": str(world.org["id"]), "slug": "acme"},
    }
    assert (by_slug["priority"], by_slug["visibility"], by_slug["linked_prs"]) == ("normal", "public", [])


def _create(sc: SourceCraft, world: World, form: str, **body: Any) -> Any:
    return sc.post(world.repo_path(world.repo, form) + "/issues", json=body)


def test_create_issue_with_every_field(sc: SourceCraft, world: World, factory: Factory) -> None:
    """201 with every field set (by slugs and by ids); GitLab sees the same issue, state and due date."""
    labels = [sc.post("/repos/acme/api/labels", json={"name": n}).json() for n in ("bug", "ui")]
    milestone = sc.post("/repos/acme/api/milestones", json={"name": "v1"}).json()
    for form, by_ids in (("slug", False), ("id", True)):
        body: dict[str, Any] = {
            "title": f"crash {form}",
            "description": "steps",
            "status_slug": "closed",
            "priority": "blocker",
            "visibility": "private",
            "deadline": "2030-05-01T12:00:00+02:00",
            "assignee_id": str(world.planner.id),
        }
        if by_ids:
            body |= {"label_ids": [x["id"] for x in labels], "milestone_id": milestone["id"]}
        else:
            body |= {"label_slugs": ["bug", "ui"], "milestone_slug": "v1"}
        response = _create(sc, world, form, **body)
        assert response.status_code == 201, response.text
        issue = response.json()
        assert issue["status"]["slug"] == "closed" and issue["status"]["status_type"] == "completed"
        assert (issue["priority"], issue["visibility"]) == ("blocker", "private")
        assert issue["deadline"] == "2030-05-01T10:00:00Z" and issue["completed_at"].endswith("Z")
        assert issue["assignee"] == {"id": str(world.planner.id), "slug": "planner"}
        assert [x["slug"] for x in issue["labels"]] == ["bug", "ui"]
        assert issue["milestone"] == {"id": milestone["id"], "slug": "v1"}
        gitlab = gitlab_issue(sc, factory, issue)
        assert (gitlab["id"], gitlab["iid"]) == (int(issue["id"]), int(issue["slug"]))
        assert (gitlab["state"], gitlab["confidential"], gitlab["due_date"]) == ("closed", True, "2030-05-01")
        assert gitlab["labels"] == ["bug", "ui"] and gitlab["assignee"]["username"] == "planner"


def test_create_issue_refuses_bad_shapes_with_400(sc: SourceCraft, world: World) -> None:
    """400: missing or too long title, unknown status or priority, exclusive fields, wrong types."""
    bad = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 1025}, "title"),
        ({"title": "x", "status_slug": "in_progress"}, "status_slug"),
        ({"title": "x", "priority": "major"}, "priority"),
        ({"title": "x", "visibility": "internal"}, "visibility"),
        ({"title": "x", "label_ids": ["1"], "label_slugs": ["bug"]}, "label_slugs"),
        ({"title": "x", "linked_pr_ids": ["1"], "linked_pr_slugs": ["1"]}, "linked_pr_slugs"),
        ({"title": 5}, "title"),
        ({"title": "x", "deadline": "tomorrow"}, "deadline"),
        ({"title": "x\u0000y"}, "title"),
    ]
    for form in FORMS:
        for body, field in bad:
            assert_error(_create(sc, world, form, **body), 400, "ValidationError", field=field)


def test_create_issue_with_unknown_references_is_404(sc: SourceCraft, world: World) -> None:
    """404: a label, milestone, assignee or pull request that does not exist (nothing is invented)."""
    for form in FORMS:
        for body in (
            {"label_slugs": ["nope"]},
            {"label_ids": ["999"]},
            {"label_ids": ["x"]},
            {"milestone_slug": "nope"},
            {"milestone_id": "999"},
            {"assignee_id": "999"},
            {"linked_pr_slugs": ["1"]},
        ):
            assert_error(_create(sc, world, form, title="x", **body), 404, "NotFound")
    assert len(sc.get("/repos/acme/api/issues").json()["issues"]) == 2


def test_guest_creates_issues_but_cannot_set_privileged_fields(sc: SourceCraft, world: World) -> None:
    """A Guest may open an issue (201); as on GitLab, its labels and assignee are not applied."""
    sc.post("/repos/acme/api/labels", json={"name": "bug"})
    response = _create(sc.as_(world.guest), world, "slug", title="from a guest", label_slugs=["bug"])
    assert response.status_code == 201
    assert response.json()["labels"] == [] and response.json()["author"]["slug"] == "guest"


def test_update_issue_fields_and_status(sc: SourceCraft, world: World, factory: Factory) -> None:
    """200: PATCH changes only the given fields; status drives GitLab's state; "" clears."""
    sc.post("/repos/acme/api/milestones", json={"name": "v1"})
    for form in FORMS:
        path = world.issue_path(world.issue, form)
        milestone = sc.get("/repos/acme/api/milestones").json()["items"][0]["id"]
        changed = sc.patch(
            path,
            json={
                "title": f"renamed {form}",
                "status_slug": "inProgress",
                "priority": "critical",
                "visibility": "private",
                "deadline": "2031-01-01T00:00:00Z",
                "assignee_id": str(world.guest.id),
                "milestone_id": milestone,
            },
        )
        assert changed.status_code == 200, changed.text
        issue = changed.json()
        assert issue["title"] == f"renamed {form}" and issue["status"]["slug"] == "inProgress"
        assert issue["started_at"].endswith("Z") and issue["assignee"]["slug"] == "guest"
        assert gitlab_issue(sc, factory, issue)["state"] == "opened"
        declined = sc.patch(path, json={"status_slug": "declined"}).json()
        assert declined["status"]["status_type"] == "cancelled"
        assert gitlab_issue(sc, factory, declined)["state"] == "closed"
        cleared = sc.patch(path, json={"deadline": "", "assignee_id": "", "milestone_id": ""}).json()
        assert not {"deadline", "assignee", "milestone"} & cleared.keys()
        assert cleared["title"] == f"renamed {form}" and cleared["priority"] == "critical"
        reopened = sc.patch(path, json={"status_slug": "open", "visibility": "public"}).json()
        assert gitlab_issue(sc, factory, reopened)["state"] == "opened"


def test_update_issue_refuses_bad_values(sc: SourceCraft, world: World) -> None:
    """400: an unknown status, an empty title, a priority outside the enum; 404: unknown assignee."""
    for form in FORMS:
        path = world.issue_path(world.issue, form)
        for body, field in (
            ({"status_slug": "done"}, "status_slug"),
            ({"status_slug": ""}, "status_slug"),
            ({"title": "  "}, "title"),
            ({"priority": "major"}, "priority"),
            ({"deadline": 5}, "deadline"),
        ):
            assert_error(sc.patch(path, json=body), 400, "ValidationError", field=field)
        assert_error(sc.patch(path, json={"assignee_id": "999"}), 404, "NotFound")


def test_author_edits_own_issue(sc: SourceCraft, world: World) -> None:
    """A Guest may edit the issue it wrote (200), not others' (403 in test_ladder.py)."""
    mine = _create(sc.as_(world.guest), world, "id", title="mine").json()
    response = sc.as_(world.guest).patch(f"/issues/id:{mine['id']}", json={"title": "still mine"})
    assert response.status_code == 200 and response.json()["updated_by"]["slug"] == "guest"


def test_close_denied_by_policy_is_409_failed_precondition(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """A project that denies closing blocked issues answers 409 FailedPrecondition, details as strings."""
    factory.client.put(
        f"/api/v4/projects/{world.repo['id']}", headers=factory.admin.headers, json={"close_policy": "deny"}
    )
    sc.post(
        world.issue_path(world.issue, "id") + "/issue_links",
        json={"target_issue_slug": "2", "link_type": "blocked_by"},
    )
    response = sc.patch(world.issue_path(world.issue, "slug"), json={"status_slug": "closed"})
    body = assert_error(response, 409, "FailedPrecondition", reason="close_denied")
    assert '"open_blocker"' in body["details"]["open"]
    assert sc.patch(world.issue_path(world.target, "slug"), json={"status_slug": "closed"}).status_code == 200
    assert sc.patch(world.issue_path(world.issue, "slug"), json={"status_slug": "closed"}).status_code == 200


def test_delete_issue_removes_it_and_its_links(sc: SourceCraft, world: World, factory: Factory) -> None:
    """204 with no body; the issue is gone (404) and so are its links, on both sides."""
    factory.link(world.issue, world.target, "blocks")
    extra = factory.issue(world.repo, "extra")
    for form, issue in (("slug", world.issue), ("id", extra)):
        response = sc.delete(world.issue_path(issue, form), params={"silent": "true"})
        assert response.status_code == 204 and response.content == b""
        assert_error(sc.get(world.issue_path(issue, form)), 404, "NotFound")
    assert sc.get(world.issue_path(world.target, "id") + "/issue_links").json() == {"links": []}


def test_confidential_issue_is_invisible_to_a_guest(sc: SourceCraft, world: World, factory: Factory) -> None:
    """A private issue is 404 for a Guest and left out of its lists; a Planner sees it."""
    secret = factory.issue(world.repo, "secret", confidential=True)
    for form in FORMS:
        assert_error(sc.as_(world.guest).get(world.issue_path(secret, form)), 404, "NotFound")
        assert sc.as_(world.planner).get(world.issue_path(secret, form)).json()["visibility"] == "private"
    listed = sc.as_(world.guest).get("/repos/acme/api/issues").json()["issues"]
    assert [x["slug"] for x in listed] == ["1", "2"]


# ---------------------------------------------------------------- lists


def _slugs(sc: SourceCraft, path: str, **params: Any) -> list[str]:
    response = sc.get(path, params=params)
    assert response.status_code == 200, response.text
    return [x["slug"] for x in response.json()["issues"]]


def test_list_filter_language(sc: SourceCraft, world: World, factory: Factory) -> None:
    """`filter` narrows by status, priority, title prefix, people, labels, milestone, times, blocked."""
    sc.post("/repos/acme/api/milestones", json={"name": "v1"})
    sc.post("/repos/acme/api/labels", json={"name": "needs triage"})
    third = _create(
        sc, world, "id", title="Crash on start", priority="critical", assignee_id=str(world.planner.id),
        label_slugs=["needs triage"], milestone_slug="v1", visibility="private",
    ).json()  # fmt: skip
    mine = _create(sc.as_(world.guest), world, "id", title="guest's").json()
    sc.patch(world.issue_path(world.target, "id"), json={"status_slug": "paused"})
    sc.post(
        world.issue_path(world.issue, "id") + "/issue_links",
        json={"target_issue_slug": "2", "link_type": "blocked_by"},
    )
    since = third["created_at"]
    cases = {
        "status=open": ["1", "3", "4"],
        "status!=open": ["2"],
        "status=paused and priority=normal": ["2"],
        "priority=critical": ["3"],
        'title="crash"': ["3"],
        "title=Crash and status=open": ["3"],
        "author_slug=guest": [mine["slug"]],
        f"author_id={world.guest.id}": [mine["slug"]],
        "assignee_slug=planner": ["3"],
        f"assignee_id={world.planner.id}": ["3"],
        'label_slug="needs triage"': ["3"],
        "milestone_slug=v1": ["3"],
        f"milestone_id={third['milestone']['id']}": ["3"],
        "visibility=private": ["3"],
        f'created_at>="{since}"': ["3", "4"],
        f'created_at<"{since}"': ["1", "2"],
        f'updated_at>"{since}" AND status=open': ["1", "4"],
        "blocked=true": ["1"],
        "blocked=false and status=open": ["3", "4"],
        "  ": ["1", "2", "3", "4"],
    }
    for form in FORMS:
        path = world.repo_path(world.repo, form) + "/issues"
        for text, expected in cases.items():
            assert _slugs(sc, path, filter=text) == expected, text


def test_list_filter_errors_are_400(sc: SourceCraft, world: World) -> None:
    """An unknown field, operator, value, timestamp, `or`, or a dangling `and`: 400 on `filter`."""
    path = "/repos/acme/api/issues"
    for text in (
        "state=open", "status=in_progress", "status>open", "priority=major", "status=open or status=closed",
        "status=open and", "and status=open", "status", 'title="unterminated', "created_at>yesterday",
        "blocked=maybe", "author_id=abc", "status=open status=closed", "status=open and status=closed",
        "visibility=internal", "title=a\u0000b",
    ):  # fmt: skip
        assert_error(sc.get(path, params={"filter": text}), 400, "ValidationError", field="filter")


def test_list_pages_sorts_and_caps(sc: SourceCraft, world: World, database: Any) -> None:
    """Issues page by keyset in any `sort_by`; `page_size` above 100 gives 100 and a token."""
    bulk_issues(database, world.repo["id"], 101)
    for form in FORMS:
        path = world.repo_path(world.repo, form) + "/issues"
        first = sc.get(path, params={"page_size": "1000"}).json()
        assert len(first["issues"]) == 100 and first["next_page_token"]
        rest = sc.get(path, params={"page_size": "1000", "page_token": first["next_page_token"]}).json()
        assert [x["slug"] for x in rest["issues"]] == ["101", "102", "103"] and "next_page_token" not in rest
        by_slug_desc = _slugs(sc, path, sort_by="-slug", page_size="3")
        assert by_slug_desc == ["103", "102", "101"]
        page = sc.get(path, params={"sort_by": "title,-id", "page_size": "2"}).json()
        nxt = _slugs(sc, path, sort_by="title,-id", page_size="2", page_token=page["next_page_token"])
        assert [x["title"] for x in page["issues"]] == ["bulk 10", "bulk 100"] and nxt == ["101", "102"]
        assert_error(sc.get(path, params={"sort_by": "priority"}), 400, "ValidationError", field="sort_by")
        changed = sc.get(path, params={"page_token": first["next_page_token"], "filter": "status=open"})
        assert_error(changed, 400, "ValidationError", reason="page_token_mismatch")


def test_me_issues_are_created_by_or_assigned_to_the_caller(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """`/me/issues`: the caller's own and assigned issues across repositories, with `filter`."""
    own = _create(sc.as_(world.planner), world, "slug", title="own").json()
    assigned = sc.post(
        "/repos/acme/web/issues", json={"title": "assigned", "assignee_id": str(world.planner.id)}
    ).json()
    issues = sc.as_(world.planner).get("/me/issues").json()["issues"]
    assert [x["id"] for x in issues] == [own["id"], assigned["id"]]
    assert {x["repository"]["slug"] for x in issues} == {"api", "web"}
    only_web = sc.as_(world.planner).get("/me/issues", params={"filter": "assignee_slug=planner"}).json()
    assert [x["id"] for x in only_web["issues"]] == [assigned["id"]]
    assert sc.as_(world.outsider).get("/me/issues").json() == {"issues": []}


def test_issue_statuses_are_the_six_system_statuses(sc: SourceCraft, world: World) -> None:
    """`/issue_statuses` lists the six statuses of §9.3 with their types, in one page."""
    body = sc.as_(world.outsider).get("/issue_statuses").json()
    assert set(body) == {"statuses"}
    assert [(s["slug"], s["status_type"]) for s in body["statuses"]] == [
        ("open", "initial"),
        ("inProgress", "in_progress"),
        ("paused", "paused"),
        ("closed", "completed"),
        ("declined", "cancelled"),
        ("duplicate", "cancelled"),
    ]
