"""Fixtures for the SourceCraft face: a small world of orgs, repos, users and issues, a client
that speaks as one account with `Authorization: Bearer`, and the error-envelope assertion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts import service as accounts_service
from issuegraph.accounts.service import Actor
from issuegraph.db.models import Issue, IssueLink, Project
from issuegraph.issues import service as issues_service
from issuegraph.issues.service import IssueFields
from issuegraph.projects import service as projects
from tests.api.sourcecraft.spec import check_response
from tests.conftest import Account, Factory

ERROR_KEYS = {"error_code", "message", "request_id", "details"}


def assert_error(response: Any, status: int, error_code: str, **details: str) -> dict[str, Any]:
    """A SourceCraft error: the full envelope, the id of the X-Request-Id header, string details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["error_code"] == error_code, body
    assert body["request_id"] and body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body["message"], str) and body["message"]
    assert all(isinstance(v, str) for v in body["details"].values()), body
    for key, value in details.items():
        assert body["details"].get(key) == value, body
    return body


class SourceCraft:
    """The face as one caller sees it; `as_(account)` switches caller, `anonymous()` drops the token."""

    def __init__(self, client: TestClient, account: Account | None) -> None:
        self.client = client
        self.account = account

    def as_(self, account: Account | None) -> SourceCraft:
        return SourceCraft(self.client, account)

    def anonymous(self) -> SourceCraft:
        return SourceCraft(self.client, None)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send, then check the response against SourceCraft's published spec (S30)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.account is not None:
            headers.setdefault("Authorization", f"Bearer {self.account.token}")
        response = self.client.request(method, path, headers=headers, **kwargs)
        check_response(method, unquote(urlsplit(path).path), response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@dataclass
class World:
    """Org `acme` (private) with repos `api` and `web`; `guest` is a Guest of `api` only,
    `planner` a Planner of both, `outsider` a member of nothing."""

    org: dict[str, Any]
    repo: dict[str, Any]
    other_repo: dict[str, Any]
    public_repo: dict[str, Any]  # `acme/docs`, public
    guest: Account
    planner: Account
    outsider: Account
    issue: dict[str, Any]  # acme/api#1
    target: dict[str, Any]  # acme/api#2
    other: dict[str, Any]  # acme/web#1

    def issue_path(self, issue: dict[str, Any], form: str) -> str:
        """The issue's URL in the given addressing form (spec §3)."""
        if form == "id":
            return f"/issues/id:{issue['id']}"
        project = self.project_of(issue)
        return f"/repos/{project['path_with_namespace']}/issues/{issue['iid']}"

    def repo_path(self, project: dict[str, Any], form: str) -> str:
        return f"/repos/id:{project['id']}" if form == "id" else f"/repos/{project['path_with_namespace']}"

    def org_path(self, form: str) -> str:
        return f"/orgs/id:{self.org['id']}" if form == "id" else f"/orgs/{self.org['full_path']}"

    def project_of(self, issue: dict[str, Any]) -> dict[str, Any]:
        for project in (self.repo, self.other_repo, self.public_repo):
            if project["id"] == issue["project_id"]:
                return project
        raise KeyError(issue["project_id"])


def _project(project: Project) -> dict[str, Any]:
    return {"id": project.id, "path": project.path, "path_with_namespace": project.full_path}


def _issue(issue: Issue) -> dict[str, Any]:
    return {"id": issue.id, "iid": issue.iid, "project_id": issue.project_id}


@pytest.fixture
def world(database: Any, client: TestClient) -> World:
    """Built through the services in one transaction (a few ms; the same rules as over HTTP),
    described with the GitLab face's field names so `Factory` helpers accept its parts."""
    with database.session() as session:
        root = accounts_repo.find_user_by_username(session, "root")
        admin = Actor(user=root, scopes=frozenset({"api"}))
        org = projects.create_group(session, admin, name="Acme", path="acme")
        repo, other_repo, public_repo = (
            projects.create_project(session, admin, name=path, path=path, namespace_id=org.id, visibility=vis)
            for path, vis in (("api", "private"), ("web", "private"), ("docs", "public"))
        )
        accounts: dict[str, Account] = {}
        for username in ("guest", "planner", "outsider"):
            user = accounts_service.create_user(
                session, admin, username=username, name=username.title(), email=f"{username}@example.test"
            )
            _, raw = accounts_service.issue_token(session, user, name="t", scopes=["api"], expires_at=None)
            accounts[username] = Account(id=user.id, username=username, token=raw)
        access = {p.id: projects.resolve_project(session, admin, p.id) for p in (repo, other_repo)}
        for project, username, level in (
            (repo, "guest", 10),
            (repo, "planner", 15),
            (other_repo, "planner", 15),
        ):
            projects.add_project_member(session, access[project.id], accounts[username].id, level)
        made = [
            issues_service.create_issue(session, access[project.id], IssueFields(title=title))
            for project, title in ((repo, "issue"), (repo, "target"), (other_repo, "other"))
        ]
        return World(
            org={"id": org.id, "full_path": org.full_path},
            repo=_project(repo),
            other_repo=_project(other_repo),
            public_repo=_project(public_repo),
            guest=accounts["guest"],
            planner=accounts["planner"],
            outsider=accounts["outsider"],
            issue=_issue(made[0]),
            target=_issue(made[1]),
            other=_issue(made[2]),
        )


@pytest.fixture
def sc(client: TestClient, factory: Factory) -> SourceCraft:
    """The SourceCraft face as the admin."""
    return SourceCraft(client, factory.admin)


def bulk_issues(database: Any, project_id: int, count: int, *, author_id: int = 1) -> list[int]:
    """Insert `count` issues straight into the database (fast set-up for limits and paging)."""
    with database.session() as session:
        project = session.get(Project, project_id)
        first = project.last_issue_iid + 1
        project.last_issue_iid += count
        rows = [
            Issue(project_id=project_id, iid=first + n, title=f"bulk {first + n}", author_id=author_id)
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def bulk_links(database: Any, source_id: int, target_ids: list[int]) -> None:
    """Link `source_id` to each target as `related_to`, straight into the database."""
    with database.session() as session:
        session.add_all(
            IssueLink(
                source_id=source_id,
                target_id=target,
                link_type="related_to",
                pair_lo=min(source_id, target),
                pair_hi=max(source_id, target),
                author_id=1,
            )
            for target in target_ids
        )
