"""GitLab members of groups and projects (api/gitlab/members.py): listed, added, removed; levels."""

from __future__ import annotations

import pytest

from tests.api.gitlab.conftest import GROUP_NOT_FOUND, PROJECT_NOT_FOUND

# ---------------------------------------------------------------- group members


@pytest.fixture
def group(factory):
    return factory.group("team")


def test_group_members_anonymous_gets_401(client, group):
    """Group member routes need a token."""
    assert client.get(f"/api/v4/groups/{group['id']}/members").status_code == 401
    assert (
        client.post(
            f"/api/v4/groups/{group['id']}/members", json={"user_id": 1, "access_level": 10}
        ).status_code
        == 401
    )


def test_add_group_member_without_maintainer_gets_403(client, factory, group):
    """A Developer of the group cannot add members (403); a non-member cannot see the group (404)."""
    developer, newcomer = factory.user("dev"), factory.user("new")
    factory.group_member(group, developer, 30)
    body = {"user_id": newcomer.id, "access_level": 10}
    assert (
        client.post(f"/api/v4/groups/{group['id']}/members", headers=developer.headers, json=body).status_code
        == 403
    )
    response = client.post(f"/api/v4/groups/{group['id']}/members", headers=newcomer.headers, json=body)
    assert (response.status_code, response.json()) == (404, GROUP_NOT_FOUND)


def test_maintainer_cannot_grant_owner(client, factory, group):
    """A Maintainer may add members but not Owners."""
    maintainer, newcomer = factory.user("maint"), factory.user("new")
    factory.group_member(group, maintainer, 40)
    url = f"/api/v4/groups/{group['id']}/members"
    assert (
        client.post(
            url, headers=maintainer.headers, json={"user_id": newcomer.id, "access_level": 50}
        ).status_code
        == 403
    )
    assert (
        client.post(
            url, headers=maintainer.headers, json={"user_id": newcomer.id, "access_level": 40}
        ).status_code
        == 201
    )


def test_add_group_member_unknown_user_gets_404(client, factory, group):
    """Adding an unknown user is 404 User Not Found."""
    response = client.post(
        f"/api/v4/groups/{group['id']}/members",
        headers=factory.admin.headers,
        json={"user_id": 9999, "access_level": 10},
    )
    assert (response.status_code, response.json()) == (404, {"message": "404 User Not Found"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "user_id is missing, access_level is missing"),
        ({"user_id": 2, "access_level": 25}, "access_level does not have a valid value"),
        ({"user_id": 2, "access_level": "guest"}, "access_level does not have a valid value"),
    ],
)
def test_add_group_member_invalid_gets_400(client, factory, group, body, error):
    """Missing parameters and access levels outside 10/15/20/30/40/50 are 400."""
    factory.user("alice")
    response = client.post(f"/api/v4/groups/{group['id']}/members", headers=factory.admin.headers, json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_add_group_member_twice_gets_409(client, factory, group):
    """Adding an existing member again is 409."""
    alice = factory.user("alice")
    factory.group_member(group, alice, 10)
    response = client.post(
        f"/api/v4/groups/{group['id']}/members",
        headers=factory.admin.headers,
        json={"user_id": alice.id, "access_level": 20},
    )
    assert response.status_code == 409


def test_group_members_every_level(client, factory, group):
    """Every GitLab access level can be granted, listed and removed."""
    levels = [10, 15, 20, 30, 40, 50]
    users = [factory.user(f"u{level}") for level in levels]
    for user, level in zip(users, levels, strict=True):
        response = client.post(
            f"/api/v4/groups/{group['id']}/members",
            headers=factory.admin.headers,
            json={"user_id": user.id, "access_level": level},
        )
        assert response.status_code == 201
        assert (response.json()["id"], response.json()["access_level"]) == (user.id, level)
    listed = client.get(f"/api/v4/groups/{group['id']}/members", headers=users[0].headers).json()
    assert [(m["username"], m["access_level"]) for m in listed] == [("root", 50)] + [
        (u.username, level) for u, level in zip(users, levels, strict=True)
    ]
    url = f"/api/v4/groups/{group['id']}/members/{users[0].id}"
    assert client.delete(url, headers=factory.admin.headers).status_code == 204
    response = client.delete(url, headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, {"message": "404 Member Not Found"})


def test_group_membership_applies_to_projects_and_subgroups(client, factory, group):
    """A group Guest reads the group's private projects and those of its subgroups; removal revokes it."""
    sub = client.post(
        "/api/v4/groups",
        headers=factory.admin.headers,
        json={"name": "Sub", "path": "sub", "parent_id": group["id"]},
    ).json()
    top = factory.project("top", group=group)
    nested = factory.project("nested", group=sub)
    alice = factory.user("alice")
    for project in (top, nested):
        assert client.get(f"/api/v4/projects/{project['id']}", headers=alice.headers).status_code == 404
    factory.group_member(group, alice, 10)
    for project in (top, nested):
        body = client.get(f"/api/v4/projects/{project['id']}", headers=alice.headers).json()
        assert body["permissions"]["project_access"]["access_level"] == 10
    client.delete(f"/api/v4/groups/{group['id']}/members/{alice.id}", headers=factory.admin.headers)
    assert client.get(f"/api/v4/projects/{top['id']}", headers=alice.headers).status_code == 404


def test_member_may_leave_group(client, factory, group):
    """A member may remove themselves; removing someone else needs Maintainer (403)."""
    alice, bob = factory.user("alice"), factory.user("bob")
    factory.group_member(group, alice, 10)
    factory.group_member(group, bob, 10)
    assert (
        client.delete(f"/api/v4/groups/{group['id']}/members/{bob.id}", headers=alice.headers).status_code
        == 403
    )
    assert (
        client.delete(f"/api/v4/groups/{group['id']}/members/{alice.id}", headers=alice.headers).status_code
        == 204
    )


# ---------------------------------------------------------------- project members


@pytest.fixture
def projects(factory):
    group = factory.group("team")
    return {
        visibility: factory.project(f"{visibility}-project", group=group, visibility=visibility)
        for visibility in ("private", "internal", "public")
    }


def test_project_members_anonymous_gets_401(client, projects):
    """Member routes need a token, even on a public project."""
    url = f"/api/v4/projects/{projects['public']['id']}/members"
    assert client.get(url).status_code == 401
    assert client.post(url, json={"user_id": 1, "access_level": 10}).status_code == 401
    assert client.delete(f"{url}/1").status_code == 401


def test_add_project_member_without_maintainer_gets_403(client, factory, projects):
    """A Developer cannot add members; a non-member of a private project gets 404."""
    developer, newcomer = factory.user("dev"), factory.user("new")
    factory.member(projects["private"], developer, 30)
    url = f"/api/v4/projects/{projects['private']['id']}/members"
    body = {"user_id": newcomer.id, "access_level": 10}
    assert client.post(url, headers=developer.headers, json=body).status_code == 403
    response = client.post(url, headers=newcomer.headers, json=body)
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_maintainer_cannot_grant_owner_in_project(client, factory, projects):
    """A project Maintainer may add Maintainers but not Owners."""
    maintainer, newcomer = factory.user("maint"), factory.user("new")
    factory.member(projects["private"], maintainer, 40)
    url = f"/api/v4/projects/{projects['private']['id']}/members"
    assert (
        client.post(
            url, headers=maintainer.headers, json={"user_id": newcomer.id, "access_level": 50}
        ).status_code
        == 403
    )
    assert (
        client.post(
            url, headers=maintainer.headers, json={"user_id": newcomer.id, "access_level": 40}
        ).status_code
        == 201
    )


def test_project_member_not_found(client, factory, projects):
    """An unknown user is 404 User Not Found; removing a non-member 404 Member Not Found."""
    url = f"/api/v4/projects/{projects['public']['id']}/members"
    response = client.post(url, headers=factory.admin.headers, json={"user_id": 9999, "access_level": 10})
    assert (response.status_code, response.json()) == (404, {"message": "404 User Not Found"})
    response = client.delete(f"{url}/{factory.user('alice').id}", headers=factory.admin.headers)
    assert (response.status_code, response.json()) == (404, {"message": "404 Member Not Found"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"user_id": 2}, "access_level is missing"),
        ({"user_id": 2, "access_level": 60}, "access_level does not have a valid value"),
        ({"user_id": 2, "access_level": 0}, "access_level does not have a valid value"),
    ],
)
def test_add_project_member_invalid_gets_400(client, factory, projects, body, error):
    """Missing access_level and levels outside 10/15/20/30/40/50 are 400."""
    factory.user("alice")
    response = client.post(
        f"/api/v4/projects/{projects['public']['id']}/members", headers=factory.admin.headers, json=body
    )
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_add_project_member_twice_gets_409(client, factory, projects):
    """Adding an existing member again is 409."""
    alice = factory.user("alice")
    factory.member(projects["public"], alice, 10)
    response = client.post(
        f"/api/v4/projects/{projects['public']['id']}/members",
        headers=factory.admin.headers,
        json={"user_id": alice.id, "access_level": 30},
    )
    assert response.status_code == 409


def test_project_members_every_level(client, factory, projects):
    """Every access level can be granted, is listed, shows in permissions, and can be removed."""
    project = projects["private"]
    levels = [10, 15, 20, 30, 40, 50]
    users = [factory.user(f"u{level}") for level in levels]
    for user, level in zip(users, levels, strict=True):
        factory.member(project, user, level)
        body = client.get(f"/api/v4/projects/{project['id']}", headers=user.headers).json()
        assert body["permissions"]["project_access"]["access_level"] == level
    listed = client.get(f"/api/v4/projects/{project['id']}/members", headers=users[0].headers).json()
    assert [(m["id"], m["access_level"]) for m in listed] == [
        (u.id, lv) for u, lv in zip(users, levels, strict=True)
    ]
    response = client.delete(
        f"/api/v4/projects/{project['id']}/members/{users[0].id}", headers=factory.admin.headers
    )
    assert response.status_code == 204
    assert client.get(f"/api/v4/projects/{project['id']}", headers=users[0].headers).status_code == 404


def test_project_member_may_leave(client, factory, projects):
    """A member may remove themselves but not another member."""
    alice, bob = factory.user("alice"), factory.user("bob")
    project = projects["private"]
    factory.member(project, alice, 10)
    factory.member(project, bob, 10)
    url = f"/api/v4/projects/{project['id']}/members"
    assert client.delete(f"{url}/{bob.id}", headers=alice.headers).status_code == 403
    assert client.delete(f"{url}/{alice.id}", headers=alice.headers).status_code == 204


def test_group_level_is_the_highest_of_group_and_project(client, factory):
    """A user's level in a project is the highest of the direct and inherited group memberships."""
    group = factory.group("team")
    project = factory.project("app", group=group)
    alice = factory.user("alice")
    factory.group_member(group, alice, 30)
    factory.member(project, alice, 10)
    body = client.get(f"/api/v4/projects/{project['id']}", headers=alice.headers).json()
    assert body["permissions"]["project_access"]["access_level"] == 30
