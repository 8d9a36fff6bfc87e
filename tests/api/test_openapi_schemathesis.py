"""Issue #2, point 4: schemathesis against issuegraph's own OpenAPI (`app.openapi()`), for the
GitLab face's issue and issue-link operations (`/api/v4/projects/{project_id}/issues...`).

The app runs in-process (schemathesis' ASGI transport), authenticated with the admin token,
on one seeded world per database kind (SQLite and PostgreSQL). schemathesis generates each
operation's requests in three phases: the documented examples, coverage (boundary and
wrong-typed values of every parameter and body field, unexpected methods) and fuzzing (valid and
invalid data, at most 25 examples an operation). Three requests in four get their path
parameters pointed at seeded objects: the project by id or by URL-encoded full path, issue iids
1-4 and the ids of their links; DELETE operations get objects of their own, so that they do not
empty the world the others read. The fourth keeps the generated path (unknown or malformed ids).
A second test sends hand-written valid requests (VALID), so the success paths are checked too;
a third sends each operation as callers who must be refused (no token, a bad token, a read_api
token, a user outside the private project), so the 401, 403 and 404 bodies are checked as well.

Checks, on every response:
- not_a_server_error: no 5xx;
- status_code_conformance: the status is one the operation documents;
- content_type_conformance: the body has the documented media type;
- response_schema_conformance: the body matches the documented schema.

No check is turned off. schemathesis' other checks are not asked for, because they test
properties this face does not claim: positive_data_acceptance (a schema-valid request naming
an unknown issue is rightly a 404) and negative_data_rejection (like GitLab, the face reads its
parameters from a JSON body, a form or the query string, so a value the JSON schema calls the
wrong type, such as "3" for an integer, is accepted).
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

from issuegraph.accounts.service import ensure_admin_token
from issuegraph.api.app import create_app
from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Base
from tests.conftest import ADMIN_TOKEN, Factory

PREFIX = "/api/v4/projects/{project_id}/issues"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _own_schema() -> Any:
    """The OpenAPI the server publishes (the app is built only to ask for it: no database is opened)."""
    app = create_app(Settings(database_url=f"sqlite:///{tempfile.gettempdir()}/issuegraph-never-opened.db"))
    app.state.database.dispose()
    return schemathesis.openapi.from_dict(app.openapi()).include(
        path_regex=r"^/api/v4/projects/\{project_id\}/issues"
    )


schema = _own_schema()
OPERATIONS = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}

# Requests fuzzing rarely gets right, so the success paths are checked too. Keyed by operation;
# sent with the seeded path parameters; "{project}" stands for the seeded project.
VALID: dict[str, list[dict[str, Any]]] = {
    f"POST {PREFIX}": [
        {"title": "fuzzed", "description": "by schemathesis", "labels": "bug,feature", "weight": 3},
        {"title": "due", "due_date": "2030-01-01", "confidential": True},
    ],
    f"PUT {PREFIX}/{{issue_iid}}": [
        {"state_event": "close"},
        {"state_event": "reopen", "title": "renamed", "add_labels": "feature"},
    ],
    f"POST {PREFIX}/{{issue_iid}}/links": [
        {"target_project_id": "{project}", "target_issue_iid": 4, "link_type": "blocks"},
        {"target_project_id": "{project}", "target_issue_iid": 3, "link_type": "is_blocked_by"},
        {"target_project_id": "{project}", "target_issue_iid": 2},  # linked already: 409
        {"target_project_id": "{project}", "target_issue_iid": 1},  # itself: 422
        {"target_project_id": "{project}", "target_issue_iid": 2, "link_type": "sideways"},  # 400
    ],
    f"POST {PREFIX}/{{issue_iid}}/notes": [{"body": "a fuzzed comment"}],
}


@dataclass
class World:
    app: Any
    auth: dict[str, str]
    others: dict[str, dict[str, str]]  # headers of callers who get refusals: 401, 403, 404
    targets: list[dict[str, str]]  # path parameters naming seeded objects
    doomed_issues: list[dict[str, str]]  # the same, for DELETE .../issues/{issue_iid}
    doomed_links: list[dict[str, str]]  # the same, for DELETE .../links/{issue_link_id}

    def aim(self, case: schemathesis.Case) -> None:
        """Point three cases in four at seeded objects (chosen from the case, so reruns agree)."""
        if not case.path_parameters:
            return
        digest = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
        if digest % 4 == 0:
            return
        pool = self.targets
        if case.method.upper() == "DELETE":
            pool = self.doomed_links if "issue_link_id" in case.path_parameters else self.doomed_issues
        chosen = pool[digest % len(pool)]
        case.path_parameters = {name: chosen[name] for name in case.path_parameters}


def _fresh_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("openapi") / "openapi.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.connect() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def _callers(factory: Factory) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "bad token": {"PRIVATE-TOKEN": "not-a-token"},
        "read_api": factory.user("reader", scopes="read_api").headers,
        "stranger": factory.user("stranger").headers,
    }


def _seed(factory: Factory) -> dict[str, list[dict[str, str]]]:
    project = factory.project("api", group=factory.group("acme"))
    issues = [factory.issue(project, f"issue {n}") for n in range(1, 11)]
    first = factory.link(issues[0], issues[1], "relates_to")
    second = factory.link(issues[0], issues[2], "parent_of")
    doomed = [factory.link(issues[4], issues[n], "blocks") for n in (5, 6)]
    pid, path = str(project["id"]), project["path_with_namespace"].replace("/", "%2F")

    def params(ref: str, iid: int, link: dict[str, Any]) -> dict[str, str]:
        return {"project_id": ref, "issue_iid": str(iid), "issue_link_id": str(link["id"])}

    return {
        "targets": [
            params(ref, iid, link)
            for ref in (pid, path)
            for iid, link in ((1, first), (1, second), (2, first), (3, second), (4, first))
        ],
        "doomed_issues": [params(pid, iid, first) for iid in (8, 9, 10)],
        "doomed_links": [params(pid, 5, doomed[0]), params(pid, 7, doomed[1])],
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One migrated database of each kind, an app on it, and a seeded world."""
    url = _fresh_database(request, tmp_path_factory)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ISSUEGRAPH_DATABASE_URL", url)
        env.setenv("ISSUEGRAPH_ADMIN_TOKEN", ADMIN_TOKEN)
        env.setenv("ISSUEGRAPH_EXTERNAL_URL", "http://issuegraph.test")
        get_settings.cache_clear()
        database = Database(get_settings())
        with database.session() as session:
            ensure_admin_token(session, ADMIN_TOKEN)
        app = create_app(get_settings())
        app.state.database.dispose()
        app.state.database = database
        with TestClient(app) as client:
            pools = _seed(Factory(client))
            others = _callers(Factory(client))
        yield World(app, {"PRIVATE-TOKEN": ADMIN_TOKEN}, others, **pools)
        database.dispose()
    get_settings.cache_clear()


@schema.parametrize()
@settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_generated_requests_conform(case: schemathesis.Case, world: World) -> None:
    """Generated requests (examples, boundary values, fuzzing) never get a 5xx or an undocumented response."""
    world.aim(case)
    response = case.call(app=world.app, headers=world.auth)
    case.validate_response(response, checks=CHECKS, headers=world.auth)


@pytest.mark.parametrize(
    ("label", "body"), [(label, body) for label, bodies in VALID.items() for body in bodies]
)
def test_valid_requests_conform(label: str, body: dict[str, Any], world: World) -> None:
    """Hand-written valid requests (success paths, and refusals a valid body can meet) are documented."""
    operation = OPERATIONS[label]
    target = world.targets[0]
    names = {p.name for p in operation.iter_parameters() if p.location == "path"}
    filled = {k: (target["project_id"] if v == "{project}" else v) for k, v in body.items()}
    case = operation.Case(
        path_parameters={name: target[name] for name in names}, body=filled, media_type="application/json"
    )
    response = case.call(app=world.app, headers=world.auth)
    assert response.status_code < 500, response.text
    case.validate_response(response, checks=CHECKS, headers=world.auth)


@pytest.mark.parametrize("caller", ["anonymous", "bad token", "read_api", "stranger"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_refusals_conform(label: str, caller: str, world: World) -> None:
    """Without a token, with a bad or read-only one, or outside the private project: a documented refusal."""
    operation = OPERATIONS[label]
    target = world.targets[0]
    names = {p.name for p in operation.iter_parameters() if p.location == "path"}
    extra: dict[str, Any] = {}
    if label in VALID:
        body = VALID[label][0]
        filled = {k: (target["project_id"] if v == "{project}" else v) for k, v in body.items()}
        extra = {"body": filled, "media_type": "application/json"}
    case = operation.Case(path_parameters={name: target[name] for name in names}, **extra)
    response = case.call(app=world.app, headers=world.others[caller])
    assert response.status_code in (401, 403, 404), response.text
    case.validate_response(response, checks=CHECKS, headers=world.others[caller])


def test_every_issue_and_link_operation_is_fuzzed() -> None:
    """The OpenAPI documents all 13 GitLab issue, subscription and link operations: none escapes fuzzing."""
    assert sorted(OPERATIONS) == sorted(
        f"{method} {PREFIX}{suffix}"
        for method, suffix in [
            ("GET", ""),
            ("POST", ""),
            ("GET", "/{issue_iid}"),
            ("PUT", "/{issue_iid}"),
            ("DELETE", "/{issue_iid}"),
            ("GET", "/{issue_iid}/notes"),
            ("POST", "/{issue_iid}/notes"),
            ("POST", "/{issue_iid}/subscribe"),
            ("POST", "/{issue_iid}/unsubscribe"),
            ("GET", "/{issue_iid}/links"),
            ("POST", "/{issue_iid}/links"),
            ("GET", "/{issue_iid}/links/{issue_link_id}"),
            ("DELETE", "/{issue_iid}/links/{issue_link_id}"),
        ]
    )
