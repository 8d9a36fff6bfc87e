"""GitLab issues: CRUD, state events, filters, ordering, confidentiality, iids, and /issues."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.gitlab.conftest import NOT_FOUND, PROJECT_NOT_FOUND, UNAUTHORIZED


def issues_url(project: dict[str, Any], iid: int | None = None) -> str:
    url = f"/api/v4/projects/{project['id']}/issues"
    return url if iid is None else f"{url}/{iid}"


@pytest.fixture
def project(factory):
    return factory.project("app", visibility="public")


@pytest.fixture
def members(factory, project):
    """One user per role of the public project, plus a non-member."""
    people = {}
    for role, level in (("guest", 10), ("planner", 15), ("reporter", 20), ("owner", 50)):
        people[role] = factory.user(role)
        factory.member(project, people[role], level)
    people["stranger"] = factory.user("stranger")
    return people


# ---------------------------------------------------------------- POST


def test_create_issue_anonymous_gets_401(client, project):
    """POST without a token is 401, even on a public project."""
    response = client.post(issues_url(project), json={"title": "t"})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_create_issue_in_unreadable_project_gets_404(client, factory):
    """A private project the user cannot read is 404 Project Not Found."""
    private = factory.project("secret")
    response = client.post(issues_url(private), headers=factory.user("stranger").headers, json={"title": "t"})
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "title is missing"),
        ({"title": "   "}, "title is missing"),
        ({"title": "x" * 1025}, "title is too long (maximum is 1024 characters)"),
        ({"title": "t", "state_event": "explode"}, "state_event does not have a valid value"),
        ({"title": "t", "confidential": "maybe"}, "confidential is invalid"),
    ],
)
def test_create_issue_invalid_gets_400(client, factory, project, body, error):
    """Missing, blank or too long titles and malformed fields are 400."""
    response = client.post(issues_url(project), headers=factory.admin.headers, json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_create_issue(client, factory, project):
    """A 201 issue carries GitLab's fields, with labels, assignees and a due date."""
    alice = factory.user("alice")
    factory.member(project, alice, 20)
    response = client.post(
        issues_url(project),
        headers=factory.admin.headers,
        json={
            "title": " Crash on start ",
            "description": "It crashes.",
            "labels": "bug,p1",
            "assignee_ids": [alice.id],
            "due_date": "2030-01-31",
            "weight": 3,
        },
    )
    assert response.status_code == 201
    body = response.json()
    expected = {
        "iid": 1,
        "project_id": project["id"],
        "title": "Crash on start",
        "description": "It crashes.",
        "state": "opened",
        "closed_at": None,
        "closed_by": None,
        "labels": ["bug", "p1"],
        "milestone": None,
        "type": "ISSUE",
        "issue_type": "issue",
        "user_notes_count": 0,
        "merge_requests_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": "2030-01-31",
        "confidential": False,
        "discussion_locked": False,
        "weight": 3,
        "blocking_issues_count": 0,
        "web_url": "http://issuegraph.test/root/app/-/issues/1",
        "references": {"short": "#1", "relative": "#1", "full": "root/app#1"},
        "task_completion_status": {"count": 0, "completed_count": 0},
    }
    assert {k: body[k] for k in expected} == expected
    assert body["author"]["username"] == "root"
    assert [a["username"] for a in body["assignees"]] == ["alice"]
    assert body["assignee"]["username"] == "alice"
    assert body["_links"]["self"] == f"http://issuegraph.test/api/v4/projects/{project['id']}/issues/1"
    assert body["time_stats"]["time_estimate"] == 0


def test_non_member_creates_issue_in_public_project(client, members, project):
    """Any signed-in user may open an issue in a public project (GitLab)."""
    response = client.post(issues_url(project), headers=members["stranger"].headers, json={"title": "hello"})
    assert response.status_code == 201
    assert response.json()["author"]["username"] == "stranger"


def test_guest_cannot_set_privileged_fields(client, members, project):
    """Labels and assignees from a Guest are ignored, as on GitLab."""
    response = client.post(
        issues_url(project),
        headers=members["guest"].headers,
        json={"title": "t", "labels": "bug", "assignee_ids": [members["guest"].id]},
    )
    assert response.status_code == 201
    assert (response.json()["labels"], response.json()["assignees"]) == ([], [])


def test_iids_are_sequential_per_project_and_never_reused(client, factory, project):
    """iids count per project from 1; a deleted iid is never handed out again."""
    other = factory.project("other")
    assert [factory.issue(project, f"t{n}")["iid"] for n in range(3)] == [1, 2, 3]
    assert factory.issue(other, "x")["iid"] == 1
    assert client.delete(issues_url(project, 3), headers=factory.admin.headers).status_code == 204
    assert factory.issue(project, "after delete")["iid"] == 4


def test_create_issue_form_and_query_transport(client, factory, project):
    """Parameters may come as a form body or a query string."""
    form = client.post(
        issues_url(project), headers=factory.admin.headers, data={"title": "via form", "labels": "a,b"}
    )
    query = client.post(issues_url(project), headers=factory.admin.headers, params={"title": "via query"})
    assert (form.status_code, form.json()["title"], form.json()["labels"]) == (201, "via form", ["a", "b"])
    assert (query.status_code, query.json()["title"]) == (201, "via query")


# ---------------------------------------------------------------- GET one


def test_get_issue_anonymous_on_public_project(client, factory, project):
    """Anonymous callers read public projects' issues; private ones are 404 Project Not Found."""
    issue = factory.issue(project, "visible")
    assert client.get(issues_url(project, issue["iid"])).json()["title"] == "visible"
    private = factory.project("secret")
    factory.issue(private, "hidden")
    response = client.get(issues_url(private, 1))
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_get_issue_not_found_and_invalid(client, factory, project):
    """An unknown iid is 404 Not found; a non-integer iid is 400."""
    response = client.get(issues_url(project, 42), headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = client.get(f"{issues_url(project)}/abc", headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (400, {"error": "issue_iid is invalid"})


def test_get_issue_by_encoded_project_path(client, factory, project):
    """The project may be given as its URL-encoded path."""
    factory.issue(project, "by path")
    response = client.get("/api/v4/projects/root%2Fapp/issues/1", headers=factory.admin.headers)
    assert response.json()["title"] == "by path"


# ---------------------------------------------------------------- confidential issues


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("anonymous", False),
        ("stranger", False),
        ("guest", False),
        ("planner", True),
        ("reporter", True),
        ("owner", True),
        ("admin", True),
        ("author", True),
        ("assignee", True),
    ],
)
def test_confidential_issue_visibility(client, factory, project, members, who, sees):
    """Confidential issues: Planner/Reporter and above, admins, the author and assignees only."""
    author, assignee = factory.user("author"), factory.user("assignee")
    factory.member(project, author, 10)
    factory.member(project, assignee, 10)
    secret = factory.issue(project, "secret", by=author, confidential=True)
    client.put(
        issues_url(project, secret["iid"]),
        headers=factory.admin.headers,
        json={"assignee_ids": [assignee.id]},
    )
    factory.issue(project, "public")
    special = {
        "anonymous": {},
        "admin": factory.admin.headers,
        "author": author.headers,
        "assignee": assignee.headers,
    }
    headers = special[who] if who in special else members[who].headers
    one = client.get(issues_url(project, secret["iid"]), headers=headers)
    listed = [i["title"] for i in client.get(issues_url(project), headers=headers).json()]
    if sees:
        assert one.status_code == 200
        assert listed == ["public", "secret"]
    else:
        assert (one.status_code, one.json()) == (404, NOT_FOUND)
        assert listed == ["public"]
    if who != "anonymous":
        everywhere = client.get("/api/v4/issues", headers=headers, params={"scope": "all"}).json()
        assert ("secret" in [i["title"] for i in everywhere]) is sees


# ---------------------------------------------------------------- PUT


def test_update_issue_anonymous_gets_401(client, factory, project):
    """PUT without a token is 401."""
    factory.issue(project, "t")
    assert client.put(issues_url(project, 1), json={"title": "x"}).status_code == 401


def test_update_issue_as_guest_non_author_gets_403(client, factory, project, members):
    """A Guest may not edit someone else's issue."""
    factory.issue(project, "t")
    response = client.put(issues_url(project, 1), headers=members["guest"].headers, json={"title": "x"})
    assert (response.status_code, response.json()) == (403, {"message": "403 Forbidden"})


def test_update_issue_unknown_gets_404(client, factory, project):
    """PUT on an unknown iid is 404 Not found."""
    response = client.put(issues_url(project, 9), headers=factory.admin.headers, json={"title": "x"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_update_issue_invalid_gets_400(client, factory, project):
    """A blank title or an unknown state_event is 400."""
    factory.issue(project, "t")
    for body, error in (
        ({"title": ""}, "title can't be blank"),
        ({"state_event": "merge"}, "state_event does not have a valid value"),
    ):
        response = client.put(issues_url(project, 1), headers=factory.admin.headers, json=body)
        assert (response.status_code, response.json()) == (400, {"error": error})


def test_author_and_planner_update_issue(client, factory, project, members):
    """The author (a Guest) edits their issue; a Planner edits anybody's, labels included."""
    mine = factory.issue(project, "mine", by=members["guest"])
    response = client.put(
        issues_url(project, mine["iid"]), headers=members["guest"].headers, json={"title": "still mine"}
    )
    assert (response.status_code, response.json()["title"]) == (200, "still mine")
    response = client.put(
        issues_url(project, mine["iid"]),
        headers=members["planner"].headers,
        json={"description": "triaged", "add_labels": "bug,ux", "confidential": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["description"], body["labels"], body["confidential"]) == ("triaged", ["bug", "ux"], True)
    body = client.put(
        issues_url(project, mine["iid"]), headers=members["planner"].headers, json={"remove_labels": "ux"}
    ).json()
    assert body["labels"] == ["bug"]
    assert body["updated_at"] > mine["updated_at"]


def test_state_event_close_and_reopen(client, factory, project, members):
    """state_event=close closes (closed_at, closed_by, a system note); reopen clears them."""
    issue = factory.issue(project, "t")
    url = issues_url(project, issue["iid"])
    closed = client.put(url, headers=members["reporter"].headers, json={"state_event": "close"}).json()
    assert (closed["state"], closed["closed_by"]["username"]) == ("closed", "reporter")
    assert closed["closed_at"] is not None
    reopened = client.put(url, headers=members["reporter"].headers, json={"state_event": "reopen"}).json()
    assert (reopened["state"], reopened["closed_at"], reopened["closed_by"]) == ("opened", None, None)
    notes = client.get(f"{url}/notes", headers=factory.admin.headers, params={"sort": "asc"}).json()
    assert [(n["body"], n["system"]) for n in notes] == [("closed", True), ("reopened", True)]


def test_close_closed_issue_is_a_no_op(client, factory, project):
    """Closing an already closed issue keeps closed_at and adds no note."""
    issue = factory.issue(project, "t")
    url = issues_url(project, issue["iid"])
    first = client.put(url, headers=factory.admin.headers, json={"state_event": "close"}).json()
    second = client.put(url, headers=factory.admin.headers, json={"state_event": "close"}).json()
    assert second["closed_at"] == first["closed_at"]
    assert len(client.get(f"{url}/notes", headers=factory.admin.headers).json()) == 1


# ---------------------------------------------------------------- DELETE


def test_delete_issue_anonymous_gets_401(client, factory, project):
    """DELETE without a token is 401."""
    factory.issue(project, "t")
    assert client.delete(issues_url(project, 1)).status_code == 401


def test_delete_issue_without_owner_gets_403(client, factory, project, members):
    """Only Owners and admins delete issues; the author as Reporter gets 403."""
    factory.issue(project, "t", by=members["reporter"])
    response = client.delete(issues_url(project, 1), headers=members["reporter"].headers)
    assert (response.status_code, response.json()) == (403, {"message": "403 Forbidden"})


def test_delete_issue(client, factory, project, members):
    """An Owner deletes an issue (204); it is then 404, and a second delete too."""
    factory.issue(project, "t")
    assert client.delete(issues_url(project, 1), headers=members["owner"].headers).status_code == 204
    for method in ("get", "delete"):
        response = client.request(method, issues_url(project, 1), headers=members["owner"].headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---------------------------------------------------------------- filters and ordering


@pytest.fixture
def catalogue(client, factory, project, members):
    """Five issues with different states, labels, authors, assignees and texts."""
    reporter, guest = members["reporter"], members["guest"]
    made = [
        factory.issue(project, "Login fails", labels="bug,auth", assignee_ids=[reporter.id]),
        factory.issue(project, "Dark mode", labels="feature", description="please add a dark theme"),
        factory.issue(project, "Crash on login", by=guest),  # a Guest's labels would be ignored
        factory.issue(project, "Secret audit", labels="security", confidential=True),
        factory.issue(project, "Docs typo", assignee_ids=[guest.id]),
    ]
    client.put(issues_url(project, 3), headers=factory.admin.headers, json={"labels": "bug"})
    client.put(issues_url(project, 2), headers=factory.admin.headers, json={"state_event": "close"})
    return made


def _iids(client, project, headers, **params):
    response = client.get(issues_url(project), headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [i["iid"] for i in response.json()]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"state": "opened"}, [5, 4, 3, 1]),
        ({"state": "closed"}, [2]),
        ({"state": "all"}, [5, 4, 3, 2, 1]),
        ({"labels": "bug"}, [3, 1]),
        ({"labels": "bug,auth"}, [1]),
        ({"labels": "None"}, [5]),
        ({"labels": "Any"}, [4, 3, 2, 1]),
        ({"search": "LOGIN"}, [3, 1]),
        ({"search": "dark theme"}, [2]),
        ({"iids[]": [1, 3]}, [3, 1]),
        ({"confidential": "true"}, [4]),
        ({"confidential": "false"}, [5, 3, 2, 1]),
        ({"assignee_id": "none"}, [4, 3, 2]),
        ({"assignee_id": "any"}, [5, 1]),
        ({"assignee_username": "guest"}, [5]),
        ({"author_username": "guest"}, [3]),
        ({"order_by": "title", "sort": "asc"}, [3, 2, 5, 1, 4]),
        ({"order_by": "created_at", "sort": "asc"}, [1, 2, 3, 4, 5]),
        ({"order_by": "updated_at", "sort": "desc"}, [2, 3, 5, 4, 1]),
        ({"state": "opened", "labels": "bug", "sort": "asc"}, [1, 3]),
    ],
)
def test_issue_filters(client, factory, project, catalogue, params, expected):
    """state, labels, search, iids[], confidential, assignee, author, order_by and sort filter and order."""
    assert _iids(client, project, factory.admin.headers, **params) == expected


def test_assignee_and_author_id_filters(client, factory, project, members, catalogue):
    """assignee_id and author_id take user ids."""
    headers = factory.admin.headers
    assert _iids(client, project, headers, assignee_id=members["reporter"].id) == [1]
    assert _iids(client, project, headers, author_id=members["guest"].id) == [3]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"state": "sleeping"}, "state does not have a valid value"),
        ({"order_by": "colour"}, "order_by does not have a valid value"),
        ({"sort": "sideways"}, "sort does not have a valid value"),
        ({"iids[]": "x"}, "iids is invalid"),
        ({"created_after": "yesterday"}, "created_after is invalid"),
    ],
)
def test_issue_filters_invalid_gets_400(client, factory, project, params, error):
    """Unknown filter values are 400 in GitLab's error shape."""
    response = client.get(issues_url(project), headers=factory.admin.headers, params=params)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_confidential_filter_respects_visibility(client, project, members, catalogue):
    """A Guest asking for confidential issues gets none they cannot read."""
    assert _iids(client, project, members["guest"].headers, confidential="true") == []


# ---------------------------------------------------------------- GET /issues


def test_all_issues_anonymous_gets_401(client):
    """GET /issues needs a token."""
    assert client.get("/api/v4/issues").status_code == 401


def test_all_issues_scopes(client, factory, members):
    """GET /issues: created_by_me by default, assigned_to_me, and all readable issues with scope=all."""
    alice = members["guest"]
    mine_project = factory.project("mine", owner=alice)
    hidden = factory.project("hidden")
    factory.issue(hidden, "not readable")
    factory.issue(mine_project, "by alice", by=alice)
    public = factory.project("open", visibility="public")
    factory.issue(public, "for alice", assignee_ids=[alice.id])
    factory.issue(public, "unrelated")

    def titles(**params):
        return sorted(
            i["title"] for i in client.get("/api/v4/issues", headers=alice.headers, params=params).json()
        )

    assert titles() == ["by alice"]
    assert titles(scope="assigned_to_me") == ["for alice"]
    assert titles(scope="all") == ["by alice", "for alice", "unrelated"]
    assert titles(scope="all", search="alice", state="opened") == ["by alice", "for alice"]
    response = client.get("/api/v4/issues", headers=alice.headers, params={"scope": "everything"})
    assert response.status_code == 400


def test_group_reporter_reads_confidential_issues_everywhere(client, factory):
    """A group Reporter sees the group projects' confidential issues in both lists; a group Guest not."""
    group = factory.group("team")
    project = factory.project("inner", group=group)
    factory.issue(project, "secret", confidential=True)
    reporter, guest = factory.user("rep"), factory.user("gst")
    factory.group_member(group, reporter, 20)
    factory.group_member(group, guest, 10)
    for user, expected in ((reporter, ["secret"]), (guest, [])):
        in_project = client.get(issues_url(project), headers=user.headers).json()
        everywhere = client.get("/api/v4/issues", headers=user.headers, params={"scope": "all"}).json()
        assert [i["title"] for i in in_project] == expected
        assert [i["title"] for i in everywhere] == expected


def test_failed_commit_is_a_500_and_nothing_is_kept(client, factory, project, monkeypatch):
    """If the commit fails, the client gets a 500 rather than a 201 for a write that was lost."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    real_commit = Session.commit
    calls = []

    def failing_once(self):
        if not calls:
            calls.append(1)
            raise OperationalError("COMMIT", {}, Exception("disk on fire"))
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", failing_once)
    response = client.post(issues_url(project), headers=factory.admin.headers, json={"title": "lost"})
    monkeypatch.setattr(Session, "commit", real_commit)
    assert (response.status_code, response.json()) == (500, {"message": "500 Internal Server Error"})
    assert client.get(issues_url(project), headers=factory.admin.headers).json() == []
