"""Close policies (allow / warn / deny) and closing duplicates, through both faces."""

from __future__ import annotations

import pytest


@pytest.fixture
def setup(client, factory):
    group = factory.group("acme")
    project = factory.project("api", group=group)
    blocker, blocked = factory.issue(project, "blocker"), factory.issue(project, "blocked")
    factory.link(blocker, blocked, "blocks")
    return project, blocker, blocked


def _policy(client, factory, project, policy, **extra):
    response = client.put(
        f"/api/v4/projects/{project['id']}",
        headers=factory.admin.headers,
        json={"close_policy": policy, **extra},
    )
    assert response.status_code == 200, response.text
    assert response.json()["close_policy"] == policy


def _close_gitlab(client, factory, issue):
    return client.put(
        f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )


def _close_sourcecraft(client, factory, issue):
    return client.patch(
        f"/repos/acme/api/issues/{issue['iid']}", headers=factory.admin.bearer, json={"status_slug": "closed"}
    )


def test_allow_is_the_default(client, factory, setup):
    """By default an issue with an open blocker closes without remarks."""
    _, _, blocked = setup
    response = _close_gitlab(client, factory, blocked)
    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    assert "close_warnings" not in response.json()


def test_warn_closes_and_says_what_is_open(client, factory, setup):
    """`warn` closes the issue and lists the open blocker."""
    project, blocker, blocked = setup
    _policy(client, factory, project, "warn")
    response = _close_gitlab(client, factory, blocked)
    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    assert response.json()["close_warnings"] == [
        {
            "reason": "open_blocker",
            "issue_id": blocker["id"],
            "iid": blocker["iid"],
            "project_id": project["id"],
        }
    ]


def test_deny_refuses_on_gitlab_and_keeps_the_issue_open(client, factory, setup):
    """`deny` answers 409 listing the open blocker; the issue stays open, no note is written."""
    project, blocker, blocked = setup
    _policy(client, factory, project, "deny")
    response = _close_gitlab(client, factory, blocked)
    assert response.status_code == 409
    assert response.json()["open"][0]["issue_id"] == blocker["id"]
    issue = client.get(
        f"/api/v4/projects/{project['id']}/issues/{blocked['iid']}", headers=factory.admin.headers
    )
    assert issue.json()["state"] == "opened"
    notes = client.get(
        f"/api/v4/projects/{project['id']}/issues/{blocked['iid']}/notes", headers=factory.admin.headers
    )
    assert all(n["body"] != "closed" for n in notes.json())


def test_deny_allows_once_the_blocker_is_closed(client, factory, setup):
    """A closed blocker no longer holds the issue open."""
    project, blocker, blocked = setup
    _policy(client, factory, project, "deny")
    assert _close_gitlab(client, factory, blocker).status_code == 200
    assert _close_gitlab(client, factory, blocked).status_code == 200


def test_deny_covers_open_children(client, factory, setup):
    """A parent with an open sub-issue cannot be closed under `deny`."""
    project, _, _ = setup
    parent, child = factory.issue(project, "parent"), factory.issue(project, "child")
    factory.link(parent, child, "parent_of")
    _policy(client, factory, project, "deny")
    response = _close_gitlab(client, factory, parent)
    assert response.status_code == 409
    assert response.json()["open"] == [
        {"reason": "open_child", "issue_id": child["id"], "iid": child["iid"], "project_id": project["id"]}
    ]


def test_deny_refuses_on_sourcecraft(client, factory, setup):
    """Through SourceCraft, `deny` is a 409 in SourceCraft's error envelope; the status is unchanged."""
    project, _, blocked = setup
    _policy(client, factory, project, "deny")
    response = _close_sourcecraft(client, factory, blocked)
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"error_code", "message", "request_id", "details"}
    assert body["request_id"] == response.headers["x-request-id"]
    issue = client.get(f"/repos/acme/api/issues/{blocked['iid']}", headers=factory.admin.bearer)
    assert issue.json()["status"]["slug"] == "open"


def test_warn_closes_on_sourcecraft(client, factory, setup):
    """Through SourceCraft, `warn` closes the issue and lists what is still open in `close_warnings`."""
    project, blocker, blocked = setup
    _policy(client, factory, project, "warn")
    response = _close_sourcecraft(client, factory, blocked)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["slug"] == "closed"
    assert response.json()["close_warnings"] == [  # visible on this face too, as on GitLab's
        {
            "reason": "open_blocker",
            "issue_id": blocker["id"],
            "iid": blocker["iid"],
            "project_id": project["id"],
        }
    ]
    gitlab = client.get(
        f"/api/v4/projects/{project['id']}/issues/{blocked['iid']}", headers=factory.admin.headers
    )
    assert gitlab.json()["state"] == "closed"


def test_closing_the_original_closes_its_open_duplicates(client, factory, setup):
    """With close_duplicates on, closing an issue closes the issues that duplicate it."""
    project, _, _ = setup
    original = factory.issue(project, "original")
    dup_a, dup_b = factory.issue(project, "dup a"), factory.issue(project, "dup b")
    factory.link(dup_a, original, "duplicates")
    factory.link(original, dup_b, "duplicated_by")
    _policy(client, factory, project, "allow", close_duplicates=True)
    assert _close_gitlab(client, factory, original).status_code == 200
    for dup in (dup_a, dup_b):
        issue = client.get(f"/repos/acme/api/issues/{dup['iid']}", headers=factory.admin.bearer).json()
        assert issue["status"]["slug"] == "duplicate"


def test_duplicates_stay_open_without_the_setting(client, factory, setup):
    """Without close_duplicates, closing the original leaves duplicates open."""
    project, _, _ = setup
    original, dup = factory.issue(project, "original"), factory.issue(project, "dup")
    factory.link(dup, original, "duplicates")
    assert _close_gitlab(client, factory, original).status_code == 200
    issue = client.get(f"/api/v4/projects/{project['id']}/issues/{dup['iid']}", headers=factory.admin.headers)
    assert issue.json()["state"] == "opened"


def test_invalid_policy_is_a_400(client, factory, setup):
    """An unknown close policy is refused."""
    project, _, _ = setup
    response = client.put(
        f"/api/v4/projects/{project['id']}", headers=factory.admin.headers, json={"close_policy": "sometimes"}
    )
    assert response.status_code == 400


def test_sourcecraft_repository_carries_the_settings(client, factory, setup):
    """PATCH /repos/id:N sets close_policy and close_duplicates; the repository shows them; bad is 400."""
    project, _, blocked = setup
    url = f"/repos/id:{project['id']}"
    assert client.get(url, headers=factory.admin.bearer).json()["close_policy"] == "allow"
    response = client.patch(
        url, headers=factory.admin.bearer, json={"close_policy": "deny", "close_duplicates": True}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["close_policy"], response.json()["close_duplicates"]) == ("deny", True)
    gitlab = client.get(f"/api/v4/projects/{project['id']}", headers=factory.admin.headers).json()
    assert (gitlab["close_policy"], gitlab["close_duplicates"]) == ("deny", True)
    assert _close_sourcecraft(client, factory, blocked).status_code == 409
    refused = client.patch(url, headers=factory.admin.bearer, json={"close_policy": "sometimes"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"error_code", "message", "request_id", "details"}
