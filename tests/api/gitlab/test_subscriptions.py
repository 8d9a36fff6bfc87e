"""GitLab issue subscriptions (api/gitlab/subscriptions.py): `POST .../issues/:iid/subscribe` and
`/unsubscribe`. The mail they decide is tested in tests/events/test_mail.py."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.gitlab.conftest import NOT_FOUND, PROJECT_NOT_FOUND, UNAUTHORIZED, World
from tests.conftest import Factory

ACTIONS = ("subscribe", "unsubscribe")


def _url(issue: dict[str, Any], action: str) -> str:
    return f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/{action}"


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_is_401(client: TestClient, world: World, action: str) -> None:
    """Without a token: 401, even on a public project."""
    response = client.post(_url(world.issue, action))
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("action", ACTIONS)
def test_read_api_token_is_403(client: TestClient, factory: Factory, world: World, action: str) -> None:
    """A `read_api` token may not change a subscription: 403."""
    reader = factory.user("reader", scopes="read_api")
    assert client.post(_url(world.issue, action), headers=reader.headers).status_code == 403


@pytest.mark.parametrize("action", ACTIONS)
def test_unreadable_project_is_404(client: TestClient, factory: Factory, world: World, action: str) -> None:
    """A private project the caller is not a member of does not exist for it: 404."""
    hidden = factory.issue(world.private_project, "hidden")
    response = client.post(_url(hidden, action), headers=world.non_member.headers)
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


@pytest.mark.parametrize("action", ACTIONS)
def test_unknown_issue_is_404_and_bad_iid_400(
    client: TestClient, factory: Factory, world: World, action: str
) -> None:
    """An iid with no issue: 404; an iid that is no number: 400."""
    headers = factory.admin.headers
    response = client.post(_url({**world.issue, "iid": 999}, action), headers=headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = client.post(_url({**world.issue, "iid": "x"}, action), headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": "issue_iid is invalid"})


def test_subscribe_and_unsubscribe(client: TestClient, factory: Factory, world: World) -> None:
    """201 with the issue and its `subscribed` on a change, 304 (no body) when already so; the
    author follows its issue from the start, a Guest of a public project may follow too."""
    issue_url = _url(world.issue, "")[:-1]
    author, watcher = factory.admin, world.guest_user
    assert client.get(issue_url, headers=author.headers).json()["subscribed"] is True
    assert client.get(issue_url, headers=watcher.headers).json()["subscribed"] is False

    first = client.post(_url(world.issue, "subscribe"), headers=watcher.headers)
    assert first.status_code == 201
    assert (first.json()["iid"], first.json()["subscribed"]) == (world.issue["iid"], True)
    again = client.post(_url(world.issue, "subscribe"), headers=watcher.headers)
    assert (again.status_code, again.content) == (304, b"")
    assert client.get(issue_url, headers=watcher.headers).json()["subscribed"] is True

    gone = client.post(_url(world.issue, "unsubscribe"), headers=author.headers)
    assert gone.status_code == 201 and gone.json()["subscribed"] is False
    assert client.post(_url(world.issue, "unsubscribe"), headers=author.headers).status_code == 304
    assert client.get(issue_url, headers=author.headers).json()["subscribed"] is False


def test_assignees_and_commenters_follow_implicitly(
    client: TestClient, factory: Factory, world: World
) -> None:
    """`subscribed` is true for an assignee and for the author of a comment, not for the author
    of a system note (linking the issue writes one in the linker's name), and an explicit
    unsubscribe outlasts the comment."""
    issue_url = _url(world.issue, "")[:-1]
    assignee, commenter, linker = factory.user("assignee"), factory.user("commenter"), factory.user("linker")
    for user, level in ((assignee, 10), (commenter, 10), (linker, 20)):
        factory.member(world.project, user, level)

    def subscribed(user: Any) -> bool:
        answer = client.get(issue_url, headers=user.headers)
        assert answer.status_code == 200
        return bool(answer.json()["subscribed"])

    assert (subscribed(assignee), subscribed(commenter), subscribed(linker)) == (False, False, False)
    changed = client.put(issue_url, headers=factory.admin.headers, json={"assignee_ids": [assignee.id]})
    assert changed.status_code == 200
    note = client.post(f"{issue_url}/notes", headers=commenter.headers, json={"body": "me too"})
    assert note.status_code == 201
    link = client.post(world.links_url(), headers=linker.headers, json=world.target(world.target_issue))
    assert link.status_code == 201
    assert (subscribed(assignee), subscribed(commenter), subscribed(linker)) == (True, True, False)

    assert client.post(_url(world.issue, "unsubscribe"), headers=commenter.headers).status_code == 201
    again = client.post(f"{issue_url}/notes", headers=commenter.headers, json={"body": "still"})
    assert again.status_code == 201
    assert subscribed(commenter) is False
