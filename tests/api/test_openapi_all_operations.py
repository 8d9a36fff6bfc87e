"""schemathesis over every operation issuegraph's own /openapi.json documents (GitLab face, native
graph API, SourceCraft face), bounded in time: at most 8 generated examples an operation, no
deadline, derandomized.

tests/api/test_openapi_schemathesis.py fuzzes the GitLab issue operations harder (with aimed path
parameters and hand-written valid requests); tests/api/sourcecraft/test_contract.py fuzzes the
SourceCraft face against SourceCraft's own published spec. This one makes sure no documented
operation escapes: users, tokens (rotation included), groups, members, projects, the graph API and
the 45 SourceCraft operations as /openapi.json documents them.
Checks: no 5xx, a documented status, content type and body schema. Half of the cases get their
path parameters pointed at seeded objects (project, group, issues 1-2, their link, a user).
A DELETE may remove a seeded object; later cases then meet documented 404s (the harder, aimed
fuzzing of the issue operations keeps its doomed objects apart).
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from issuegraph.accounts.service import ensure_admin_token
from issuegraph.api.app import create_app
from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Base
from tests.api.test_openapi_schemathesis import CHECKS
from tests.conftest import ADMIN_TOKEN, Factory


def _schema() -> Any:
    app = create_app(Settings(database_url=f"sqlite:///{tempfile.gettempdir()}/issuegraph-never-opened.db"))
    app.state.database.dispose()
    return schemathesis.openapi.from_dict(app.openapi())


schema = _schema()


@dataclass
class World:
    app: Any
    auth: dict[str, str]
    targets: dict[str, str]

    def aim(self, case: schemathesis.Case) -> None:
        if not case.path_parameters:
            return
        digest = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
        if digest % 2 == 0:
            return
        case.path_parameters = {
            name: self.targets.get(name, value) for name, value in case.path_parameters.items()
        }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("allops") / "allops.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        with engine.connect() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ISSUEGRAPH_DATABASE_URL", url)
        env.setenv("ISSUEGRAPH_ADMIN_TOKEN", ADMIN_TOKEN)
        env.setenv("ISSUEGRAPH_AUTH_FAILURE_LIMIT", "1000000")  # the fuzzer sends bad tokens on purpose
        get_settings.cache_clear()
        database = Database(get_settings())
        with database.session() as session:
            ensure_admin_token(session, ADMIN_TOKEN)
        app = create_app(get_settings())
        app.state.database.dispose()
        app.state.database = database
        with TestClient(app) as client:
            factory = Factory(client)
            group = factory.group("acme", visibility="public")
            project = factory.project("api", group=group, visibility="public")
            first, second = factory.issue(project, "one"), factory.issue(project, "two")
            link = factory.link(first, second, "blocks")
            user = factory.user("member")
            factory.member(project, user, 30)
            factory.group_member(group, user, 30)
            targets = {
                "project_id": str(project["id"]),
                "project_ref": str(project["id"]),
                "group_id": str(group["id"]),
                "group_ref": "acme",
                "issue_iid": "1",
                "iid": "2",
                "issue_link_id": str(link["source_issue"]["id"] and _link_id(client, project["id"])),
                "user_id": str(user.id),
                "token_id": str(_token_id(client, user)),
                "org_slug": "acme",
                "repo_slug": "api",
                "issue_slug": "1",
                "org_id": str(group["id"]),
                "repo_id": str(project["id"]),
                "issue_id": str(first["id"]),
            }
        yield World(app, {"PRIVATE-TOKEN": ADMIN_TOKEN}, targets)
        database.dispose()
    get_settings.cache_clear()


def _link_id(client: TestClient, project_id: int) -> int:
    links = client.get(
        f"/api/v4/projects/{project_id}/issues/1/links", headers={"PRIVATE-TOKEN": ADMIN_TOKEN}
    )
    return int(links.json()[0]["issue_link_id"])


def _token_id(client: TestClient, user: Any) -> int:
    return int(client.get("/api/v4/personal_access_tokens/self", headers=user.headers).json()["id"])


@schema.parametrize()
@settings(
    max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_every_documented_operation_conforms(case: schemathesis.Case, world: World) -> None:
    """Generated requests to every documented operation: no 5xx, nothing undocumented."""
    world.aim(case)
    response = case.call(app=world.app, headers=world.auth)
    case.validate_response(response, checks=CHECKS, headers=world.auth)


def test_every_route_is_documented() -> None:
    """Every route of the three faces is an operation of /openapi.json: 54 GitLab (hooks and
    subscriptions included), 42 graph (webhooks and the change feed included), 45 SourceCraft."""
    operations = {op.label for op in (r.ok() for r in schema.get_all_operations())}
    faces = Counter(
        "gitlab" if " /api/v4/" in label else "graph" if " /api/graph/" in label else "sourcecraft"
        for label in operations
    )
    assert faces == {"gitlab": 54, "graph": 42, "sourcecraft": 45}
    assert "POST /api/v4/{kind}/{ref}/hooks" in operations  # projects and groups, one route
    assert "GET /api/graph/v1/events" in operations
    assert "DELETE /issue_links/id:{issue_link_id}" in operations
    assert "POST /api/v4/personal_access_tokens/{token_id}/rotate" in operations
    assert "POST /api/graph/v1/links/bulk" in operations


def test_stateful_sequences_conform(world: World) -> None:
    """schemathesis' stateful tests follow the documented OpenAPI links (create a project, then
    its issues; create an issue, then read, change, comment, link and delete it): every step is
    a documented answer, never a 5xx. Bounded: 15 scenarios of at most 6 steps."""
    base = schema.as_state_machine()
    app, auth = world.app, world.auth

    class Workflow(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"app": app, "headers": auth}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=auth)

    Workflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
