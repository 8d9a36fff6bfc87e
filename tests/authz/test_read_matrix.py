"""Authorization matrix: roles x project visibility x confidential issue x every read route of
every face. Nothing an actor may not read appears in any answer: no title, comment, project path,
reference or id of it, and counts agree with what is shown.

The world is built once per database (module scope); the expected visibility comes from GitLab's
rules written out here, not from the server's code:
- a project is readable by an admin, by anyone if public, by any signed-in user if internal, and
  by its members (Guest and up) if private;
- a confidential issue is readable by an admin and by members from Planner up (it is authored by
  the admin, assigned to nobody).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from issuegraph.accounts.service import ensure_admin_token
from issuegraph.api.app import create_app
from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Base
from tests.conftest import ADMIN_TOKEN, Account, Factory

ROLES = {"guest": 10, "planner": 15, "reporter": 20, "developer": 30, "maintainer": 40}
ACTORS = ["anonymous", "non_member", *ROLES, "admin"]
VISIBILITIES = ["public", "internal", "private"]
GROUP = "mx"


def path_of(vis: str) -> str:
    return f"{vis[:4]}-zq"


def title_of(vis: str, conf: bool) -> str:
    return f"{vis}-{'conf' if conf else 'open'}-title-k3"


def comment_of(vis: str, conf: bool) -> str:
    return f"comment-{vis}-{'conf' if conf else 'open'}-k3"


def can_read_project(actor: str, vis: str) -> bool:
    return (
        actor == "admin" or vis == "public" or (vis == "internal" and actor != "anonymous") or actor in ROLES
    )


def can_read_issue(actor: str, vis: str, conf: bool) -> bool:
    if not can_read_project(actor, vis):
        return False
    return not conf or actor == "admin" or ROLES.get(actor, 0) >= ROLES["planner"]


@dataclass
class World:
    client: TestClient
    accounts: dict[str, Account]
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, bool], dict[str, Any]] = field(default_factory=dict)
    links: dict[tuple[str, bool], int] = field(default_factory=dict)  # link id to the hub, per issue

    @property
    def hub(self) -> dict[str, Any]:
        return self.issues[("public", False)]

    def headers(self, actor: str, face: str = "gitlab") -> dict[str, str]:
        if actor == "anonymous":
            return {}
        token = self.accounts[actor].token
        return {"PRIVATE-TOKEN": token} if face == "gitlab" else {"Authorization": f"Bearer {token}"}

    def hidden_markers(self, actor: str) -> list[str]:
        markers = []
        for vis, conf in self.issues:
            if not can_read_issue(actor, vis, conf):
                markers += [title_of(vis, conf), comment_of(vis, conf)]
        markers += [path_of(vis) for vis in VISIBILITIES if not can_read_project(actor, vis)]
        return markers


_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("authz") / "authz.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        engine.dispose()
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, external_url="http://issuegraph.test")
    database = Database(settings)
    with database.session() as session:
        ensure_admin_token(session, ADMIN_TOKEN)
    app = create_app(settings)
    app.state.database.dispose()
    app.state.database = database
    with TestClient(app) as client:
        yield _build(client)
    database.dispose()


def _build(client: TestClient) -> World:
    factory = Factory(client)
    accounts = {name: factory.user(name.replace("_", "")) for name in ["non_member", *ROLES]}
    accounts["admin"] = factory.user("otheradmin", admin=True)
    world = World(client, accounts)
    group = factory.group(GROUP, visibility="public")
    for vis in VISIBILITIES:
        project = factory.project(path_of(vis), group=group, visibility=vis)
        world.projects[vis] = project
        for role, level in ROLES.items():
            factory.member(project, accounts[role], level)
        for conf in (False, True):
            issue = factory.issue(project, title_of(vis, conf), confidential=conf)
            world.issues[(vis, conf)] = issue
            response = client.post(
                f"/api/v4/projects/{project['id']}/issues/{issue['iid']}/notes",
                headers=factory.admin.headers,
                json={"body": comment_of(vis, conf)},
            )
            assert response.status_code == 201, response.text
    hub = world.hub
    for key, issue in world.issues.items():
        if issue is hub:
            continue
        kind = "is_blocked_by" if not key[1] else "relates_to"
        factory.link(hub, issue, kind)
        world.links[key] = _link_id(client, hub, issue)
    return world


def _link_id(client: TestClient, hub: dict[str, Any], other: dict[str, Any]) -> int:
    links = client.get(
        f"/api/v4/projects/{hub['project_id']}/issues/{hub['iid']}/links",
        headers={"PRIVATE-TOKEN": ADMIN_TOKEN},
    ).json()
    return int(next(link["issue_link_id"] for link in links if link["id"] == other["id"]))


# ---------------------------------------------------------------- the routes, per face


def gitlab_reads(w: World) -> list[tuple[str, bool | None]]:
    """(url, readable?) pairs; None: a list whose every item is checked instead."""
    reads: list[tuple[str, bool | None]] = [
        ("/api/v4/projects?per_page=100", None),
        ("/api/v4/issues?per_page=100&scope=all", "signed_in"),
        ("/api/v4/groups?per_page=100", None),
        (f"/api/v4/groups/{GROUP}/projects?per_page=100", None),
        ("/api/v4/issues?per_page=100&scope=all&search=title", "signed_in"),
    ]
    for vis, project in w.projects.items():
        pid = project["id"]
        reads += [
            (f"/api/v4/projects/{pid}", "project:" + vis),
            (f"/api/v4/projects/{pid}/issues?per_page=100", "project:" + vis),
        ]  # type: ignore[list-item]
    for (vis, conf), issue in w.issues.items():
        base = f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}"
        key = f"issue:{vis}:{int(conf)}"
        reads += [(base, key), (base + "/notes?per_page=100", key), (base + "/links", "auth|" + key)]  # type: ignore[list-item]
        if (vis, conf) in w.links:
            hub = w.hub
            reads.append(  # the link seen from the hub: readable only if its other end is
                (
                    f"/api/v4/projects/{hub['project_id']}/issues/{hub['iid']}/links/{w.links[(vis, conf)]}",
                    "auth|" + key,
                )
            )
    return reads


def sourcecraft_reads(w: World) -> list[tuple[str, Any]]:
    reads: list[tuple[str, Any]] = [(f"/orgs/{GROUP}/repos", None), ("/me/issues", None)]
    for vis, project in w.projects.items():
        reads += [
            (f"/repos/{GROUP}/{project['path']}/issues", "project:" + vis),
            (f"/repos/id:{project['id']}", "project:" + vis),
            (f"/repos/{GROUP}/{project['path']}/labels", "project:" + vis),
        ]
    for (vis, conf), issue in w.issues.items():
        key = f"issue:{vis}:{int(conf)}"
        reads += [
            (f"/issues/id:{issue['id']}", key),
            (f"/repos/{GROUP}/{path_of(vis)}/issues/{issue['iid']}", key),
            (f"/issues/id:{issue['id']}/comments", key),
            (f"/issues/id:{issue['id']}/issue_links", key),
            (f"/issues/id:{issue['id']}/labels", key),
        ]
    return reads


def graph_reads(w: World) -> list[tuple[str, Any]]:
    base = "/api/graph/v1"
    reads: list[tuple[str, Any]] = [
        (f"{base}/groups/{GROUP}/ready", None),
        (f"{base}/groups/{GROUP}/blocked", None),
        (f"{base}/groups/{GROUP}/export", None),
        (f"{base}/groups/{GROUP}/export?format=dot", None),
        (f"{base}/groups/{GROUP}/export?format=mermaid", None),
    ]
    for vis, project in w.projects.items():
        for route in ("ready", "blocked", "critical-path", "export"):
            reads.append((f"{base}/projects/{project['id']}/{route}", "project:" + vis))
    for (vis, conf), issue in w.issues.items():
        key = f"issue:{vis}:{int(conf)}"
        for route in ("blockers", "blocking", "ancestors", "tree", "canonical"):
            reads.append((f"{base}/projects/{issue['project_id']}/issues/{issue['iid']}/{route}", key))
    return reads


FACES = {"gitlab": gitlab_reads, "sourcecraft": sourcecraft_reads, "graph": graph_reads}
_REFERENCE = re.compile(r"(?:^|\s)([A-Za-z0-9_.-]*)#([0-9]+)")


def _readable(actor: str, key: str | None) -> bool | None:
    if key is None:
        return None
    if key == "signed_in":
        return actor != "anonymous"
    if key.startswith("auth|"):  # GitLab's issue links API wants a signed-in user
        return actor != "anonymous" and _readable(actor, key[5:])
    parts = key.split(":")
    if parts[0] == "project":
        return can_read_project(actor, parts[1])
    return can_read_issue(actor, parts[1], parts[2] == "1")


def _check_system_notes(w: World, actor: str, url: str, notes: list[dict[str, Any]]) -> None:
    """Every issue a shown system note names is one the actor may read."""
    here = next(vis for vis, p in w.projects.items() if f"/projects/{p['id']}/" in url)
    for note in notes:
        if not note.get("system"):
            continue
        for path, iid in _REFERENCE.findall(note["body"]):
            vis = here if not path else next(v for v in VISIBILITIES if path_of(v) == path)
            issue = next(k for k, i in w.issues.items() if k[0] == vis and i["iid"] == int(iid))
            assert can_read_issue(actor, *issue), (actor, url, note["body"])


_ISSUE_ID_KEYS = {
    "source",
    "target",
    "source_id",
    "target_id",
    "issue_id",
    "target_issue_id",
    "source_issue_id",
}


def _check_issue_ids(w: World, actor: str, url: str, data: Any) -> None:
    """No hidden issue's global id: not as an issue object's id, not as a link end or issue_id."""
    hidden = {str(i["id"]) for k, i in w.issues.items() if not can_read_issue(actor, *k)}

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if ("iid" in value or "title" in value) and _text(value.get("id")) in hidden:  # an issue
                raise AssertionError((actor, url, value))
            for key, item in value.items():
                if key in _ISSUE_ID_KEYS and _text(item) in hidden:
                    raise AssertionError((actor, url, key, item))
                walk(item)

    walk(data)


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None


@pytest.mark.parametrize("face", list(FACES))
@pytest.mark.parametrize("actor", ACTORS)
def test_nothing_unreadable_appears(world: World, actor: str, face: str) -> None:
    """Every read route of the face, as this actor: readable things answer 200, hidden ones the
    face's not-found (or 401 for anonymous SourceCraft), and no answer carries a hidden title,
    comment, project path or issue id; list totals match the items shown."""
    markers = world.hidden_markers(actor)
    for url, key in FACES[face](world):
        response = world.client.get(url, headers=world.headers(actor, face))
        expected = _readable(actor, key)
        if face == "sourcecraft" and actor == "anonymous":
            assert response.status_code == 401, (url, response.text)
            continue
        if expected is False:
            unauthenticated = actor == "anonymous" and (key == "signed_in" or key.startswith("auth|"))
            assert response.status_code == (401 if unauthenticated else 404), (
                actor,
                url,
                response.status_code,
                response.text[:200],
            )
        else:
            assert response.status_code == 200, (actor, url, response.status_code, response.text[:200])
        body = response.text.replace(" ", "")
        for marker in markers:
            assert marker.replace(" ", "") not in body, (actor, url, marker)
        if response.status_code == 200 and response.headers["content-type"].startswith("application/json"):
            _check_issue_ids(world, actor, url, response.json())
        if response.status_code == 200 and "x-total" in response.headers:
            assert int(response.headers["x-total"]) == len(response.json()), (actor, url)
        if url.split("?")[0].endswith("/notes") and response.status_code == 200:
            _check_system_notes(world, actor, url, response.json())


def test_the_world_is_what_the_matrix_assumes(world: World) -> None:
    """A sanity check of the fixture: the admin sees all six issues, anonymous the public one."""
    admin = world.client.get("/api/v4/issues?scope=all&per_page=100", headers=world.headers("admin")).json()
    assert len(admin) == 6
    anonymous = world.client.get(f"/api/v4/projects/{world.projects['public']['id']}/issues").json()
    assert [i["title"] for i in anonymous] == [title_of("public", False)]
