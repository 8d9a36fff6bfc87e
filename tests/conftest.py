"""Shared fixtures: every test runs on SQLite and on PostgreSQL, schema built by Alembic.

Isolation: SQLite gets a fresh copy of a migrated template file per test; PostgreSQL
gets one migrated database per session, emptied before each test. One app serves the whole
session (each test swaps in its own database and settings). Under CI=true a PostgreSQL test
is never skipped: an unreachable server fails the run.

These are the only database and app fixtures; a face's conftest adds its own world and
helpers on top, never a second copy of these.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text

from issuegraph.accounts.service import ensure_admin_token
from issuegraph.api.app import create_app
from issuegraph.config import Settings, get_settings
from issuegraph.db import migrate
from issuegraph.db.engine import Database
from issuegraph.db.models import Base

PG_ADMIN_URL = os.environ.get("ISSUEGRAPH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "root-test-token-0123456789"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any connection failure means "not available"
        return str(exc)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated PostgreSQL database for this test session (dropped at the end)."""
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    name = f"ig_test_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives restarts
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of each kind: empty tables, ids from 1, schema from the migrations.

    PostgreSQL is emptied with DELETE and sequence restarts rather than TRUNCATE (which costs
    0.5-1.5 s a test on a busy server; deleting a test's few rows takes milliseconds), and its
    commits do not wait for the WAL flush (test data need no durability).
    """
    if request.param == "sqlite":
        # One path for the session, the template copied over it for each test: the same URL
        # lets the `database` fixture keep its engine (and compiled statements) across tests.
        template: Path = request.getfixturevalue("sqlite_template")
        target = template.with_name("test.db")
        for leftover in (target.with_name("test.db-wal"), target.with_name("test.db-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in _TABLES:
            conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    engine.dispose()
    return url + "?options=-csynchronous_commit%3Doff"


@pytest.fixture
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for this test; services that read get_settings() see the same values."""
    monkeypatch.setenv("ISSUEGRAPH_DATABASE_URL", database_url)
    monkeypatch.setenv("ISSUEGRAPH_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("ISSUEGRAPH_EXTERNAL_URL", "http://issuegraph.test")
    if "ISSUEGRAPH_AUTH_FAILURE_LIMIT" not in os.environ:
        # Refusal ladders send many bad tokens from one address on purpose; the throttle's own
        # tests (tests/accounts/test_auth_throttle.py) set a low limit first.
        monkeypatch.setenv("ISSUEGRAPH_AUTH_FAILURE_LIMIT", "1000000")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


class FrozenClock:
    """A clock that stands still until a test moves it on: windows end without waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The rate limits' clock (issuegraph.ratelimits), frozen for this test."""
    from issuegraph.ratelimits import service

    clock = FrozenClock()
    monkeypatch.setattr(service, "clock", clock)
    return clock


_databases: dict[tuple[Any, ...], Database] = {}


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """The test's Database. Its engines are kept for the session, keyed by what builds them,
    and only their connections are closed after each test: SQLAlchemy caches compiled SQL per
    engine, and compiling every statement afresh in each test was a tenth of the suite's time."""
    key = (settings.database_url, settings.db_pool_size, settings.db_connect_timeout)
    db = _databases.get(key)
    if db is None:
        db = _databases[key] = Database(settings)
    db.settings = settings
    with db.session() as session:
        ensure_admin_token(session, ADMIN_TOKEN)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app for the session: FastAPI builds every route's dependency models on the first
    request an app serves (about 130 ms of CPU), so a new app per test would pay that each time."""
    application = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('app')}/unused.db"))
    application.state.database.dispose()
    return application


@pytest.fixture
def app(shared_app: Any, database: Database, settings: Settings) -> Any:
    """The session's app, serving this test's database and settings."""
    shared_app.state.database = database
    shared_app.state.settings = settings
    return shared_app


@pytest.fixture
def own_app(database: Database, settings: Settings) -> Any:
    """An app of this test's own, for a test that changes the app (adds a route, say) or
    needs settings that are read when the app is built."""
    application = create_app(settings)
    application.state.database.dispose()
    application.state.database = database
    return application


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@contextmanager
def recorded_queries(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs, as SQLAlchemy's
    before_cursor_execute sees them (on PostgreSQL asyncpg sends BEGIN and COMMIT itself)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def query_recorder(app: Any) -> Callable[[], AbstractContextManager[list[str]]]:
    """`with query_recorder() as statements:` what the app sends to its database (warehouse's
    query_recorder, STYLE §12): a list endpoint's count must not grow with its rows."""
    return lambda: recorded_queries(app.state.database.request_engine)


@dataclass
class Account:
    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    """Builds fixtures through the GitLab API as the admin, the way a user would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.admin = Account(id=1, username="root", token=ADMIN_TOKEN)
        self._n = itertools.count(1)

    def _ok(self, response: Any, status: int = 201) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def user(self, username: str | None = None, *, admin: bool = False, scopes: str = "api") -> Account:
        username = username or f"user{next(self._n)}"
        user = self._ok(
            self.client.post(
                "/api/v4/users",
                headers=self.admin.headers,
                json={
                    "username": username,
                    "name": username.title(),
                    "email": f"{username}@example.test",
                    "admin": admin,
                },
            )
        )
        token = self._ok(
            self.client.post(
                f"/api/v4/users/{user['id']}/personal_access_tokens",
                headers=self.admin.headers,
                json={"name": "t", "scopes": scopes.split(",")},
            )
        )
        return Account(id=user["id"], username=username, token=token["token"])

    def group(
        self,
        path: str,
        *,
        visibility: str = "private",
        owner: Account | None = None,
        parent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        who = owner or self.admin
        body: dict[str, Any] = {"name": path.title(), "path": path, "visibility": visibility}
        if parent is not None:
            body["parent_id"] = parent["id"]
        return self._ok(self.client.post("/api/v4/groups", headers=who.headers, json=body))

    def project(
        self,
        path: str,
        *,
        group: dict[str, Any] | None = None,
        visibility: str = "private",
        owner: Account | None = None,
    ) -> dict[str, Any]:
        who = owner or self.admin
        body: dict[str, Any] = {"name": path, "path": path, "visibility": visibility}
        if group is not None:
            body["namespace_id"] = group["id"]
        return self._ok(self.client.post("/api/v4/projects", headers=who.headers, json=body))

    def member(self, project: dict[str, Any], user: Account, level: int = 10) -> None:
        self._ok(
            self.client.post(
                f"/api/v4/projects/{project['id']}/members",
                headers=self.admin.headers,
                json={"user_id": user.id, "access_level": level},
            )
        )

    def group_member(self, group: dict[str, Any], user: Account, level: int = 10) -> None:
        self._ok(
            self.client.post(
                f"/api/v4/groups/{group['id']}/members",
                headers=self.admin.headers,
                json={"user_id": user.id, "access_level": level},
            )
        )

    def issue(
        self, project: dict[str, Any], title: str = "issue", *, by: Account | None = None, **fields: Any
    ) -> dict[str, Any]:
        who = by or self.admin
        return self._ok(
            self.client.post(
                f"/api/v4/projects/{project['id']}/issues",
                headers=who.headers,
                json={"title": title, **fields},
            )
        )

    def link(
        self,
        source: dict[str, Any],
        target: dict[str, Any],
        link_type: str = "relates_to",
        *,
        by: Account | None = None,
    ) -> dict[str, Any]:
        who = by or self.admin
        return self._ok(
            self.client.post(
                f"/api/v4/projects/{source['project_id']}/issues/{source['iid']}/links",
                headers=who.headers,
                json={
                    "target_project_id": target["project_id"],
                    "target_issue_iid": target["iid"],
                    "link_type": link_type,
                },
            )
        )


@pytest.fixture
def factory(client: TestClient) -> Factory:
    return Factory(client)
