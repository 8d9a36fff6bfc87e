"""Fixtures for the GitLab face: the link spec's world (§12), a query counter, python-gitlab in-process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gitlab
import pytest
import requests
from fastapi.testclient import TestClient

from tests.conftest import Account, Factory

NOT_FOUND = {"message": "404 Not found"}
PROJECT_NOT_FOUND = {"message": "404 Project Not Found"}
GROUP_NOT_FOUND = {"message": "404 Group Not Found"}
UNAUTHORIZED = {"message": "401 Unauthorized"}
FORBIDDEN_LINK = {
    "message": "Couldn't link issues. You must have at least the Guest role in both issue's projects."
}
NO_LINK = {"message": "No Issue Link found"}
ALREADY_ASSIGNED = {"message": "Issue(s) already assigned"}


@dataclass
class World:
    """The fixtures of GitLab's `spec/requests/api/issue_links_spec.rb`."""

    project: dict[str, Any]  # public
    private_project: dict[str, Any]
    guest_user: Account  # Guest in both projects
    non_member: Account
    issue: dict[str, Any]  # the URL issue
    target_issue: dict[str, Any]
    other_issue: dict[str, Any]

    def links_url(self, issue: dict[str, Any] | None = None) -> str:
        issue = issue or self.issue
        return f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/links"

    @staticmethod
    def target(issue: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"target_project_id": issue["project_id"], "target_issue_iid": issue["iid"], **extra}


@pytest.fixture
def world(factory: Factory) -> World:
    project = factory.project("project", visibility="public")
    private_project = factory.project("private-project", visibility="private")
    guest_user = factory.user("guest")
    non_member = factory.user("non-member")
    factory.member(project, guest_user, 10)
    factory.member(private_project, guest_user, 10)
    return World(
        project=project,
        private_project=private_project,
        guest_user=guest_user,
        non_member=non_member,
        issue=factory.issue(project, "issue"),
        target_issue=factory.issue(project, "target issue"),
        other_issue=factory.issue(project, "other issue"),
    )


class _TestClientAdapter(requests.adapters.BaseAdapter):
    """Lets an unmodified requests-based client (python-gitlab) talk to the in-process app."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:
        reply = self.client.request(
            request.method or "GET", request.url or "", headers=dict(request.headers), content=request.body
        )
        response = requests.Response()
        response.status_code = reply.status_code
        response.headers = requests.structures.CaseInsensitiveDict(reply.headers)
        response._content = reply.content
        response.url = request.url or ""
        response.request = request
        response.reason = reply.reason_phrase
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def python_gitlab(client: TestClient) -> Any:
    """`python_gitlab(account)`: a python-gitlab client for that account, served in-process."""

    def make(account: Account) -> gitlab.Gitlab:
        session = requests.Session()
        session.mount("http://testserver", _TestClientAdapter(client))
        return gitlab.Gitlab("http://testserver", private_token=account.token, session=session)

    return make
