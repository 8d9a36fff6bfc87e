"""GitLab groups: create, list, get by id or path, and their projects (members: test_members.py)."""

from __future__ import annotations

import pytest

from tests.api.gitlab.conftest import GROUP_NOT_FOUND, UNAUTHORIZED

# ---------------------------------------------------------------- POST /groups


def test_create_group_anonymous_gets_401(client):
    """POST /groups without a token is 401."""
    response = client.post("/api/v4/groups", json={"name": "G", "path": "g"})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_create_subgroup_without_owner_role_gets_403(client, factory):
    """A subgroup needs the Owner role in the parent; a Maintainer gets 403."""
    parent = factory.group("parent")
    maintainer = factory.user("maint")
    factory.group_member(parent, maintainer, 40)
    response = client.post(
        "/api/v4/groups",
        headers=maintainer.headers,
        json={"name": "Sub", "path": "sub", "parent_id": parent["id"]},
    )
    assert response.status_code == 403


def test_create_subgroup_of_unreadable_parent_gets_404(client, factory):
    """A subgroup of a private group the user cannot see is 404 Group Not Found."""
    parent = factory.group("parent")
    stranger = factory.user("stranger")
    response = client.post(
        "/api/v4/groups",
        headers=stranger.headers,
        json={"name": "Sub", "path": "sub", "parent_id": parent["id"]},
    )
    assert (response.status_code, response.json()) == (404, GROUP_NOT_FOUND)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "name is missing, path is missing"),
        ({"name": "G", "path": "bad path"}, "path is invalid"),
        ({"name": "G", "path": "g", "visibility": "secret"}, "visibility does not have a valid value"),
    ],
)
def test_create_group_invalid_gets_400(client, factory, body, error):
    """Missing name/path, a bad path and an unknown visibility are 400."""
    response = client.post("/api/v4/groups", headers=factory.admin.headers, json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_create_group_taken_path_gets_400(client, factory):
    """A second top-level group with the same path is 400, GitLab's wording."""
    factory.group("g")
    response = client.post("/api/v4/groups", headers=factory.admin.headers, json={"name": "G", "path": "g"})
    assert response.status_code == 400
    assert "has already been taken" in response.json()["error"]


def test_create_group_and_subgroup(client, factory):
    """A user creates a group (becoming its Owner) and a subgroup under it."""
    alice = factory.user("alice")
    group = factory.group("team", owner=alice, visibility="internal")
    assert (group["path"], group["full_path"], group["visibility"], group["parent_id"]) == (
        "team",
        "team",
        "internal",
        None,
    )
    sub = client.post(
        "/api/v4/groups", headers=alice.headers, json={"name": "Sub", "path": "sub", "parent_id": group["id"]}
    )
    assert sub.status_code == 201
    assert (sub.json()["full_path"], sub.json()["parent_id"]) == ("team/sub", group["id"])
    members = client.get(f"/api/v4/groups/{group['id']}/members", headers=alice.headers).json()
    assert [(m["username"], m["access_level"]) for m in members] == [("alice", 50)]


# ---------------------------------------------------------------- GET /groups, /groups/:id


def test_list_groups_by_visibility(client, factory):
    """Anonymous callers see public groups; users also internal ones and their private ones."""
    factory.group("pub", visibility="public")
    factory.group("int", visibility="internal")
    private = factory.group("priv", visibility="private")
    factory.group("other", visibility="private")
    member = factory.user("member")
    factory.group_member(private, member, 10)

    def paths(headers):
        return sorted(g["path"] for g in client.get("/api/v4/groups", headers=headers).json())

    assert paths({}) == ["pub"]
    assert paths(factory.user("someone").headers) == ["int", "pub"]
    assert paths(member.headers) == ["int", "priv", "pub"]
    assert paths(factory.admin.headers) == ["int", "other", "priv", "pub"]


def test_list_groups_search_and_pagination(client, factory):
    """GET /groups filters by search and sends pagination headers."""
    for path in ("alpha", "beta", "gamma"):
        factory.group(path)
    response = client.get("/api/v4/groups", headers=factory.admin.headers, params={"per_page": 2})
    assert [g["path"] for g in response.json()] == ["alpha", "beta"]
    assert (response.headers["X-Total"], response.headers["X-Next-Page"]) == ("3", "2")
    searched = client.get("/api/v4/groups", headers=factory.admin.headers, params={"search": "amm"}).json()
    assert [g["path"] for g in searched] == ["gamma"]


def test_get_private_group_non_member_gets_404(client, factory):
    """A private group is 404 Group Not Found to a non-member and to anonymous callers."""
    group = factory.group("secret")
    for headers in ({}, factory.user("stranger").headers):
        response = client.get(f"/api/v4/groups/{group['id']}", headers=headers)
        assert (response.status_code, response.json()) == (404, GROUP_NOT_FOUND)


def test_get_unknown_group_gets_404(client, factory):
    """An unknown group id or path is 404 Group Not Found."""
    for ref in ("9999", "nope"):
        response = client.get(f"/api/v4/groups/{ref}", headers=factory.admin.headers)
        assert (response.status_code, response.json()) == (404, GROUP_NOT_FOUND)


def test_get_group_by_id_and_encoded_path(client, factory):
    """A group is found by numeric id and by URL-encoded full path (subgroups too)."""
    group = factory.group("team", visibility="public")
    sub = client.post(
        "/api/v4/groups",
        headers=factory.admin.headers,
        json={"name": "Sub", "path": "sub", "parent_id": group["id"]},
    ).json()
    assert client.get(f"/api/v4/groups/{group['id']}").json()["full_path"] == "team"
    assert client.get("/api/v4/groups/team", headers=factory.admin.headers).json()["id"] == group["id"]
    assert client.get("/api/v4/groups/team%2Fsub", headers=factory.admin.headers).json()["id"] == sub["id"]


def test_group_projects(client, factory):
    """GET /groups/:id/projects lists the group's readable projects; include_subgroups adds nested ones."""
    group = factory.group("team", visibility="public")
    sub = client.post(
        "/api/v4/groups",
        headers=factory.admin.headers,
        json={"name": "Sub", "path": "sub", "parent_id": group["id"]},
    ).json()
    factory.project("top", group=group, visibility="public")
    factory.project("hidden", group=group, visibility="private")
    factory.project("nested", group=sub, visibility="public")
    stranger = factory.user("stranger")
    listed = client.get(f"/api/v4/groups/{group['id']}/projects", headers=stranger.headers).json()
    assert [p["path"] for p in listed] == ["top"]
    deep = client.get(
        f"/api/v4/groups/{group['id']}/projects",
        headers=factory.admin.headers,
        params={"include_subgroups": "true"},
    ).json()
    assert sorted(p["path"] for p in deep) == ["hidden", "nested", "top"]
