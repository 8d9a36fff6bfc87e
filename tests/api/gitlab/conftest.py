"""Fixtures for the GitLab face: the link spec's world (§12), a query counter, python-gitlab in-process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from issuegraph.api.app import create_app
from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Base
from tests.conftest import Account, Factory

NOT_FOUND = {"message": "404 Not found"}
PROJECT_NOT_FOUND = {"message": "404 Project Not Found"}
UNAUTHORIZED = {"message": "401 Unauthorized"}
FORBIDDEN_LINK = {
    "message": "Couldn't link issues. You must have at least the Guest role in both issue's projects."
}
NO_LINK = {"message": "No Issue Link found"}
ALREADY_ASSIGNED = {"message": "Issue(s) already assigned"}

_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The shared fixture's two migrated, empty databases, made faster for this directory.

    PostgreSQL is emptied with DELETE and sequence restarts instead of TRUNCATE (which costs
    0.5-1.5 s a test on a busy server), and commits do not wait for the WAL flush. Same result:
    empty tables, ids from 1, schema from the migrations.
    """
    if request.param == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in _TABLES:
            conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    engine.dispose()
    return url + "?options=-csynchronous_commit%3Doff"


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app for the session: FastAPI builds every route's dependency models on the first
    request an app serves (about 130 ms of CPU), so a new app per test would pay that each time."""
    application = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('app')}/unused.db"))
    application.state.database.dispose()
    return application


@pytest.fixture
def app(shared_app: Any, database: Database, settings: Settings) -> Any:
    """The shared app, serving this test's database and settings."""
    shared_app.state.database = database
    shared_app.state.settings = settings
    return shared_app


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


@contextmanager
def recorded_queries(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def query_recorder(app: Any) -> Any:
    """`with query_recorder() as statements:` counts what the app sends to its database."""
    return lambda: recorded_queries(app.state.database.request_engine)


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
