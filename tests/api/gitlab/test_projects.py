"""GitLab projects (api/gitlab/projects.py); `:id` as numeric id or URL-encoded path; who reads what."""

from __future__ import annotations

import pytest

from tests.api.gitlab.conftest import PROJECT_NOT_FOUND, UNAUTHORIZED

# ---------------------------------------------------------------- POST /projects


def test_create_project_anonymous_gets_401(client):
    """POST /projects without a token is 401."""
    response = client.post("/api/v4/projects", json={"name": "p"})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_create_project_in_group_without_developer_gets_403(client, factory):
    """A group Reporter cannot create projects in the group."""
    group = factory.group("team")
    reporter = factory.user("rep")
    factory.group_member(group, reporter, 20)
    response = client.post(
        "/api/v4/projects", headers=reporter.headers, json={"name": "p", "namespace_id": group["id"]}
    )
    assert response.status_code == 403


def test_create_project_in_unknown_namespace_gets_404(client, factory):
    """An unknown namespace_id is 404 Namespace Not Found."""
    response = client.post(
        "/api/v4/projects", headers=factory.admin.headers, json={"name": "p", "namespace_id": 9999}
    )
    assert (response.status_code, response.json()) == (404, {"message": "404 Namespace Not Found"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "name, path are missing, at least one parameter must be provided"),
        ({"path": "bad path"}, "path is invalid"),
        ({"name": "p", "visibility": "secret"}, "visibility does not have a valid value"),
    ],
)
def test_create_project_invalid_gets_400(client, factory, body, error):
    """No name nor path, a bad path and an unknown visibility are 400."""
    response = client.post("/api/v4/projects", headers=factory.admin.headers, json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_create_project_taken_path_gets_400(client, factory):
    """A second project with the same path in one namespace is 400."""
    factory.project("p")
    response = client.post("/api/v4/projects", headers=factory.admin.headers, json={"name": "p", "path": "p"})
    assert response.status_code == 400
    assert "has already been taken" in response.json()["error"]


def test_create_project_in_own_namespace_and_group(client, factory):
    """A user's project lands in their namespace; a group Developer's in the group, as Maintainer."""
    alice = factory.user("alice")
    own = factory.project("mine", owner=alice)
    assert (own["path_with_namespace"], own["visibility"], own["namespace"]["kind"]) == (
        "alice/mine",
        "private",
        "user",
    )
    assert own["web_url"] == "http://issuegraph.test/alice/mine"
    group = factory.group("team")
    factory.group_member(group, alice, 30)
    response = client.post(
        "/api/v4/projects",
        headers=alice.headers,
        json={"name": "My App", "namespace_id": group["id"], "visibility": "internal"},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["path"], body["path_with_namespace"], body["visibility"]) == (
        "my-app",
        "team/my-app",
        "internal",
    )
    assert body["permissions"]["project_access"]["access_level"] == 40


# ---------------------------------------------------------------- GET /projects/:id


@pytest.fixture
def projects(factory):
    group = factory.group("team")
    return {
        visibility: factory.project(f"{visibility}-project", group=group, visibility=visibility)
        for visibility in ("private", "internal", "public")
    }


@pytest.mark.parametrize(
    ("who", "readable"),
    [
        ("anonymous", {"public"}),
        ("non-member", {"public", "internal"}),
        ("guest", {"public", "internal", "private"}),
        ("admin", {"public", "internal", "private"}),
    ],
)
def test_visibility_read_rules(client, factory, projects, who, readable):
    """private: members and admins; internal: any user; public: anyone. Others get 404 Project Not Found."""
    headers = {}
    if who == "admin":
        headers = factory.admin.headers
    elif who != "anonymous":
        user = factory.user(who)
        headers = user.headers
        if who == "guest":
            factory.member(projects["private"], user, 10)
    for visibility, project in projects.items():
        for ref in (str(project["id"]), project["path_with_namespace"].replace("/", "%2F")):
            response = client.get(f"/api/v4/projects/{ref}", headers=headers)
            if visibility in readable:
                assert response.status_code == 200, (visibility, ref)
                assert response.json()["id"] == project["id"]
            else:
                assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND), (visibility, ref)
        issues = client.get(f"/api/v4/projects/{project['id']}/issues", headers=headers)
        assert issues.status_code == (200 if visibility in readable else 404)


def test_get_unknown_project_gets_404(client, factory):
    """An unknown id or path is 404 Project Not Found."""
    for ref in ("9999", "team%2Fnope", "nope"):
        response = client.get(f"/api/v4/projects/{ref}", headers=factory.admin.headers)
        assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_get_project_by_encoded_path_is_case_insensitive(client, factory):
    """GitLab resolves full paths case-insensitively."""
    project = factory.project("App", group=factory.group("Team"))
    assert (
        client.get("/api/v4/projects/team%2Fapp", headers=factory.admin.headers).json()["id"] == project["id"]
    )


def test_list_projects(client, factory, projects):
    """GET /projects lists what the caller can read; membership=true only their own; search filters."""
    alice = factory.user("alice")
    factory.member(projects["private"], alice, 10)
    paths = sorted(p["path"] for p in client.get("/api/v4/projects").json())
    assert paths == ["public-project"]
    paths = sorted(p["path"] for p in client.get("/api/v4/projects", headers=alice.headers).json())
    assert paths == ["internal-project", "private-project", "public-project"]
    mine = client.get("/api/v4/projects", headers=alice.headers, params={"membership": "true"}).json()
    assert [p["path"] for p in mine] == ["private-project"]
    found = client.get("/api/v4/projects", headers=alice.headers, params={"search": "INTERN"}).json()
    assert [p["path"] for p in found] == ["internal-project"]
    response = client.get(
        "/api/v4/projects", headers=alice.headers, params={"per_page": 1, "order_by": "id", "sort": "asc"}
    )
    assert [p["id"] for p in response.json()] == [projects["private"]["id"]]
    assert (response.headers["X-Total"], response.headers["X-Total-Pages"]) == ("3", "3")


# ---------------------------------------------------------------- PUT / DELETE /projects/:id


def test_update_project_anonymous_gets_401(client, projects):
    """PUT without a token is 401, even on a public project."""
    assert (
        client.put(f"/api/v4/projects/{projects['public']['id']}", json={"description": "x"}).status_code
        == 401
    )


def test_update_project_without_maintainer_gets_403(client, factory, projects):
    """A Developer cannot edit the project; a non-member of a private project gets 404."""
    developer = factory.user("dev")
    factory.member(projects["private"], developer, 30)
    url = f"/api/v4/projects/{projects['private']['id']}"
    assert client.put(url, headers=developer.headers, json={"description": "x"}).status_code == 403
    response = client.put(url, headers=factory.user("stranger").headers, json={"description": "x"})
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_update_project_invalid_gets_400(client, factory, projects):
    """An unknown visibility is 400."""
    response = client.put(
        f"/api/v4/projects/{projects['public']['id']}",
        headers=factory.admin.headers,
        json={"visibility": "secret"},
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "visibility does not have a valid value"},
    )


def test_update_project(client, factory, projects):
    """A Maintainer changes name, description, visibility and path; the new path resolves."""
    maintainer = factory.user("maint")
    factory.member(projects["private"], maintainer, 40)
    response = client.put(
        f"/api/v4/projects/{projects['private']['id']}",
        headers=maintainer.headers,
        json={"name": "Renamed", "description": "now public", "visibility": "public", "path": "renamed"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["visibility"], body["path_with_namespace"]) == (
        "Renamed",
        "now public",
        "public",
        "team/renamed",
    )
    assert client.get("/api/v4/projects/team%2Frenamed").json()["id"] == projects["private"]["id"]


def test_delete_project_anonymous_gets_401(client, projects):
    """DELETE without a token is 401."""
    assert client.delete(f"/api/v4/projects/{projects['public']['id']}").status_code == 401


def test_delete_project_without_owner_gets_403(client, factory, projects):
    """A Maintainer cannot delete the project."""
    maintainer = factory.user("maint")
    factory.member(projects["public"], maintainer, 40)
    assert (
        client.delete(f"/api/v4/projects/{projects['public']['id']}", headers=maintainer.headers).status_code
        == 403
    )


def test_delete_project(client, factory, projects):
    """An Owner deletes the project (202 Accepted); it is then 404, its issues gone."""
    owner = factory.user("owner")
    project = projects["public"]
    factory.member(project, owner, 50)
    factory.issue(project, "bye")
    response = client.delete(f"/api/v4/projects/{project['id']}", headers=owner.headers)
    assert (response.status_code, response.json()) == (202, {"message": "202 Accepted"})
    response = client.get(f"/api/v4/projects/{project['id']}", headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_openapi_documents_the_close_settings(shared_app):
    """PUT /projects/:id's body schema names close_policy (allow/warn/deny) and close_duplicates."""
    put = shared_app.openapi()["paths"]["/api/v4/projects/{project_id}"]["put"]
    properties = put["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert properties["close_policy"]["anyOf"][0]["enum"] == ["allow", "warn", "deny"]
    assert "close_warnings" in properties["close_policy"]["description"]
    assert properties["close_duplicates"]["anyOf"][0]["type"] == "boolean"
