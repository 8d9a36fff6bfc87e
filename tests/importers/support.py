"""Shared pieces of the importer tests: servers, a seeded source, running the import, snapshots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest
from sqlalchemy import create_engine, text

from issuegraph.testing.serverproc import fresh_pg_database, running_server

ROOT = Path(__file__).resolve().parents[2]  # the checkout

TOKEN = "import-e2e-root-token-0123"
IMPORT_TIMEOUT = 300.0


@contextmanager
def database(kind: str, tmp: Path, name: str) -> Iterator[str]:
    """A fresh database of that kind (SQLite file or PostgreSQL database of our own)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / (name + '.db')}"
        return
    from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_available

    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    with fresh_pg_database(PG_ADMIN_URL, f"ig_imp_{name}") as url:
        yield url


@contextmanager
def source_and_copy(kind: str, tmp: Path, *, with_source_db: bool = False) -> Iterator[Any]:
    """Two running servers on fresh databases: (source URL, copy URL, copy database URL[, source
    database URL])."""
    with ExitStack() as stack:
        source_db = stack.enter_context(database(kind, tmp, "source"))
        copy_db = stack.enter_context(database(kind, tmp, "copy"))
        source = stack.enter_context(running_server(source_db, TOKEN)).url
        copy = stack.enter_context(running_server(copy_db, TOKEN)).url
        yield (source, copy, copy_db, source_db) if with_source_db else (source, copy, copy_db)


def import_command(face: str, source: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "issuegraph.cli", "import", face, source, "--token", TOKEN, *args]


def run_import(
    copy_db: str, command: list[str], tmp: Path, env_extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run the import as a process against the copy's database; its JSON summary."""
    import json

    out = tmp / f"summary-{time.monotonic_ns()}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env["ISSUEGRAPH_DATABASE_URL"] = copy_db
    env.update(env_extra or {})
    done = subprocess.run(
        [*command, "--summary-json", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict[str, Any] = json.loads(out.read_text())
    summary["stdout"] = done.stdout
    return summary


def start_import(copy_db: str, command: list[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env["ISSUEGRAPH_DATABASE_URL"] = copy_db
    return subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_when(
    proc: subprocess.Popen[bytes], copy_db: str, kind: str, at_least: int, timeout: float = 120
) -> int:
    """SIGKILL the import once `at_least` objects of `kind` are committed; returns how many were."""
    engine = create_engine(copy_db.replace("postgresql://", "postgresql+psycopg://"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the import finished before it could be killed"
            try:
                with engine.connect() as conn:
                    n = conn.execute(
                        text("SELECT count(*) FROM imported_objects WHERE object_kind = :k"), {"k": kind}
                    ).scalar_one()
            except Exception:  # the table may not exist yet
                n = 0
            if n >= at_least:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                return int(n)
            time.sleep(0.02)
        raise AssertionError("the import never got that far")
    finally:
        engine.dispose()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# ---------------------------------------------------------------- a seeded source


def client(base: str, token: str = TOKEN) -> gitlab.Gitlab:
    return gitlab.Gitlab(base, private_token=token)


def user_token(gl: gitlab.Gitlab, username: str, name: str) -> str:
    user = gl.users.create({"username": username, "name": name, "email": f"{username}@example.com"})
    token = gl.http_post(
        f"/users/{user.id}/personal_access_tokens", post_data={"name": "t", "scopes": ["api"]}
    )
    return str(token["token"])  # type: ignore[index]


def seed(base: str) -> dict[str, Any]:
    """Two groups (one with a subgroup), three projects, members, closed and confidential issues,
    labels, a milestone, comments by several users and cross-project links of all seven types."""
    gl = client(base)
    alice_token = user_token(gl, "alice", "Alice Liddell")
    user_token(gl, "bob", "Bob Builder")
    users = {u.username: u.id for u in gl.users.list(get_all=True)}
    acme = gl.groups.create({"name": "Acme", "path": "acme", "visibility": "internal"})
    platform = gl.groups.create({"name": "Platform", "path": "platform", "parent_id": acme.id})
    beta = gl.groups.create({"name": "Beta Corp", "path": "beta"})
    acme.members.create({"user_id": users["alice"], "access_level": 30})
    api = gl.projects.create(
        {"name": "API", "path": "api", "namespace_id": acme.id, "description": "the api"}
    )
    core = gl.projects.create({"name": "Core", "path": "core", "namespace_id": platform.id})
    web = gl.projects.create({"name": "Web", "path": "web", "namespace_id": beta.id, "visibility": "public"})
    web.members.create({"user_id": users["bob"], "access_level": 20})
    alice = client(base, alice_token)
    issues: dict[str, Any] = {}
    for project, prefix in ((api, "api"), (core, "core"), (web, "web")):
        for n in range(1, 6):
            issues[f"{prefix}{n}"] = project.issues.create(
                {
                    "title": f"{prefix} issue {n}",
                    "description": f"Body of {prefix} {n}\n\nsee #1",
                    "labels": "bug,backend" if n % 2 else "feature",
                    "assignee_ids": [users["bob"]] if n == 2 else [],
                    "confidential": n == 3,
                    "weight": n,
                    "due_date": "2027-01-1" + str(n),
                }
            )
    by_alice = alice.projects.get(api.id).issues.create({"title": "written by alice"})
    issues["api6"] = api.issues.get(by_alice.iid)
    for key in ("api2", "core4", "web5"):
        issues[key].state_event = "close"
        issues[key].save()
    issues["api1"].notes.create({"body": "first comment by root"})
    alice.projects.get(api.id).issues.get(issues["api1"].iid).notes.create({"body": "alice agrees"})
    issues["web2"].notes.create({"body": "a comment on web"})
    sc = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    v1 = sc.post("/repos/acme/api/milestones", json={"name": "v1", "description": "first"})
    assert v1.status_code == 200, v1.text
    changed = sc.patch(
        "/repos/acme/api/issues/4", json={"milestone_id": v1.json()["id"], "status_slug": "inProgress"}
    )
    assert changed.is_success, changed.text
    links = [
        ("api1", "core1", "relates_to"),
        ("api2", "core2", "blocks"),
        ("api3", "web1", "is_blocked_by"),
        ("core3", "web2", "parent_of"),
        ("web3", "api4", "subissue_of"),
        ("web4", "core4", "duplicates"),
        ("core5", "api5", "duplicated_by"),
        ("api1", "api2", "blocks"),
        ("api1", "api6", "parent_of"),
    ]
    projects = {"api": api, "core": core, "web": web}
    for a, b, kind in links:
        src, dst = issues[a], issues[b]
        target = projects[b.rstrip("0123456789")]
        src.links.create({"target_project_id": target.id, "target_issue_iid": dst.iid, "link_type": kind})
    sc.close()
    gl.session.close()
    alice.session.close()
    return {"projects": ["acme/api", "acme/platform/core", "beta/web"], "links": len(links)}


# ---------------------------------------------------------------- what a server answers


_DROP = {"id", "project_id", "web_url", "_links", "issue_link_id", "noteable_id", "avatar_url", "epic"}


def _user(value: Any) -> Any:
    """A GitLab user (has `username`) or a SourceCraft reference ({id, slug}): its name."""
    if isinstance(value, dict) and ("username" in value or set(value) == {"id", "slug"}):
        return value.get("username", value.get("slug"))
    return value


def _clean(value: Any, *, ms: bool, drop: frozenset[str] = frozenset()) -> Any:
    """Ids and URLs differ between two servers by design; users compared by username; `drop`:
    fields a face cannot carry, at any depth."""
    if isinstance(value, dict):
        return {k: _clean(_user(v), ms=ms, drop=drop) for k, v in value.items() if k not in _DROP | drop}
    if isinstance(value, list):
        return [_clean(_user(v), ms=ms, drop=drop) for v in value]
    if ms and isinstance(value, str) and len(value) >= 20 and value[10:11] == "T" and value.endswith("Z"):
        return value[:23] if "." in value else value[:19] + ".000"  # GitLab's API carries milliseconds
    return value


def snapshot(base: str, paths: list[str], *, ms: bool, drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every issue, comment and link of these projects as both faces answer, without ids."""
    headers = {"PRIVATE-TOKEN": TOKEN, "Authorization": f"Bearer {TOKEN}"}
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:

        def get(path: str, **params: Any) -> Any:
            response = http.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            return response.json()

        for path in paths:
            quoted = path.replace("/", "%2F")
            issues: list[dict[str, Any]] = []
            for page in range(1, 1000):
                got = get(
                    f"/api/v4/projects/{quoted}/issues", per_page=100, page=page, order_by="id", sort="asc"
                )
                issues += got
                if len(got) < 100:
                    break
            for issue in issues:
                iid = issue["iid"]
                key = f"{path}#{iid}"
                notes = get(f"/api/v4/projects/{quoted}/issues/{iid}/notes", per_page=100, sort="asc")
                links = get(f"/api/v4/projects/{quoted}/issues/{iid}/links")
                sc_issue = get(f"/issues/id:{issue['id']}")
                sc_links = get(f"/issues/id:{issue['id']}/issue_links")["links"]
                sc_comments = get(f"/issues/id:{issue['id']}/comments")["issue_comments"]
                out[key] = _clean(
                    {
                        "gitlab": issue,
                        "notes": [n for n in notes if not n["system"]],
                        "links": sorted(
                            ({**x, "_ref": x["web_url"].split("/", 3)[3]} for x in links),
                            key=lambda x: x["_ref"],
                        ),
                        "sourcecraft": sc_issue,
                        "sc_links": sorted(
                            # "link_author" in drop: a face that does not say who linked
                            (
                                {k: v for k, v in x.items() if k != "author" or "link_author" not in drop}
                                for x in sc_links
                            ),
                            key=lambda x: (x["target"]["slug"], x["link_type"]),
                        ),
                        "sc_comments": sc_comments,
                    },
                    ms=ms,
                    drop=drop,
                )
    return out


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two snapshots differ, as 'path: left != right' lines (empty when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only on the {'right' if key not in a else 'left'}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for n, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{n}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
