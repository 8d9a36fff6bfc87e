"""Fixtures for graph tests: small hand-built graphs written straight to the database.

Users, groups and projects go through the GitLab face (tests/conftest.py's factory), so
memberships and tokens are real; issues and links are inserted directly, which keeps
each graph exact (ids, states, confidentiality) and the tests fast. Every test runs on
SQLite and PostgreSQL through the shared ``database_url`` fixture.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from issuegraph.db.engine import Database
from issuegraph.db.models import Issue, IssueAssignee, IssueLink, Project, utcnow

API = "/api/graph/v1"


@dataclass(frozen=True)
class GIssue:
    id: int
    iid: int
    project_id: int
    reference: str


class GraphWorld:
    """Builds a graph and queries the native API about it."""

    def __init__(self, database: Database, factory: Any, client: TestClient) -> None:
        self.database = database
        self.factory = factory
        self.client = client
        self.admin = factory.admin
        self._paths: dict[int, str] = {}

    # ---- building

    def group(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.factory.group(path, **kw)

    def project(self, path: str, group: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        project = self.factory.project(path, group=group, **kw)
        self._paths[project["id"]] = project["path_with_namespace"]
        return project

    def issues(self, project: dict[str, Any], *titles: str, **fields: Any) -> list[GIssue]:
        """Insert issues; ``closed``, ``confidential``, ``weight`` and ``author_id`` apply to all."""
        closed = fields.pop("closed", False)
        now = utcnow()
        with self.database.session() as session:
            start = session.get(Project, project["id"]).last_issue_iid  # type: ignore[union-attr]
            made = []
            for n, title in enumerate(titles, start=1):
                issue = Issue(
                    project_id=project["id"],
                    iid=start + n,
                    title=title,
                    description="",
                    state="closed" if closed else "opened",
                    status="closed" if closed else "open",
                    priority="normal",
                    confidential=fields.get("confidential", False),
                    discussion_locked=False,
                    weight=fields.get("weight"),
                    author_id=fields.get("author_id", self.admin.id),
                    created_at=now,
                    updated_at=now,
                )
                session.add(issue)
                made.append(issue)
            session.flush()
            session.execute(
                update(Project).where(Project.id == project["id"]).values(last_issue_iid=start + len(titles))
            )
            path = self._paths[project["id"]]
            return [GIssue(i.id, i.iid, i.project_id, f"{path}#{i.iid}") for i in made]

    def issue(self, project: dict[str, Any], title: str = "issue", **fields: Any) -> GIssue:
        return self.issues(project, title, **fields)[0]

    def link(self, source: GIssue, target: GIssue, link_type: str = "blocks") -> None:
        """Store one canonical link: ``source`` blocks / is parent of / duplicates / relates to ``target``."""
        self.links((source, target, link_type))

    def links(self, *triples: tuple[GIssue, GIssue, str]) -> None:
        now = utcnow()
        with self.database.session() as session:
            for source, target, link_type in triples:
                session.add(
                    IssueLink(
                        source_id=source.id,
                        target_id=target.id,
                        link_type=link_type,
                        pair_lo=min(source.id, target.id),
                        pair_hi=max(source.id, target.id),
                        author_id=self.admin.id,
                        created_at=now,
                        updated_at=now,
                    )
                )

    def chain(self, issues: list[GIssue], link_type: str = "blocks") -> None:
        """issues[0] -> issues[1] -> ... with one link type."""
        self.links(*((a, b, link_type) for a, b in itertools.pairwise(issues)))

    def assign(self, issue: GIssue, user_id: int) -> None:
        with self.database.session() as session:
            session.add(IssueAssignee(issue_id=issue.id, user_id=user_id, position=0))

    def set_state(self, issue: GIssue, state: str) -> None:
        with self.database.session() as session:
            session.execute(
                update(Issue)
                .where(Issue.id == issue.id)
                .values(state=state, status="closed" if state == "closed" else "open")
            )

    # ---- querying

    def url(self, project: dict[str, Any] | GIssue, suffix: str = "", *, by_path: bool = True) -> str:
        project_id = project.project_id if isinstance(project, GIssue) else project["id"]
        ref = quote(self._paths[project_id], safe="") if by_path else str(project_id)
        if isinstance(project, GIssue):
            return f"{API}/projects/{ref}/issues/{project.iid}{suffix}"
        return f"{API}/projects/{ref}{suffix}"

    def get(self, path: str, who: Any = None, expect: int = 200, raw: bool = False, **params: Any) -> Any:
        response = self.client.get(path, headers=(who or self.admin).headers, params=params)
        assert response.status_code == expect, response.text
        if raw:
            return response
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else response
        )

    def post(self, path: str, body: Any, who: Any = None, expect: int = 200) -> Any:
        response = self.client.post(path, headers=(who or self.admin).headers, json=body)
        assert response.status_code == expect, response.text
        return response.json()


@pytest.fixture
def graph(database: Database, factory: Any, client: TestClient) -> GraphWorld:
    return GraphWorld(database, factory, client)


def refs(steps: list[dict[str, Any]]) -> list[str]:
    """A path as references, hidden steps as '?'."""
    return ["?" if s.get("hidden") else s["reference"] for s in steps]
