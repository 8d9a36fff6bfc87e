"""Authorization matrix: roles x project visibility x confidential issue x every read route of
every face. Nothing an actor may not read appears in any answer: no title, comment, project path,
reference or id of it, and counts agree with what is shown.

The world and the rules it is checked against (GitLab's, written out, not the server's code) are
in tests/authz/world.py; the world is built once per database for the package.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.authz.world import (
    GROUP,
    READERS,
    World,
    can_read_issue,
    can_read_project,
    check_issue_ids,
    check_system_notes,
    path_of,
    title_of,
)

# ---------------------------------------------------------------- the routes, per face


def gitlab_reads(w: World) -> list[tuple[str, bool | None]]:
    """(url, readable?) pairs; None: a list whose every item is checked instead."""
    reads: list[tuple[str, bool | None]] = [
        ("/api/v4/projects?per_page=100", None),
        ("/api/v4/issues?per_page=100&scope=all", "signed_in"),
        ("/api/v4/groups?per_page=100", None),
        (f"/api/v4/groups/{GROUP}/projects?per_page=100", None),
        ("/api/v4/issues?per_page=100&scope=all&search=title", "signed_in"),
        (f"/api/v4/groups/{GROUP}", None),
        (f"/api/v4/groups/{GROUP}/members", "signed_in"),  # GitLab's members API wants a user
    ]
    for vis, project in w.projects.items():
        pid = project["id"]
        reads += [
            (f"/api/v4/projects/{pid}", "project:" + vis),
            (f"/api/v4/projects/{pid}/issues?per_page=100", "project:" + vis),
            (f"/api/v4/projects/{pid}/members", "auth|project:" + vis),
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
    reads: list[tuple[str, Any]] = [
        (f"/orgs/{GROUP}/repos", None),
        (f"/orgs/id:{w.group['id']}/repos", None),
        ("/me/issues", None),
    ]
    for vis, project in w.projects.items():
        key, by_id, by_slug = (
            "project:" + vis,
            f"/repos/id:{project['id']}",
            f"/repos/{GROUP}/{project['path']}",
        )
        reads += [(by_id, key), (by_slug, key)]
        reads += [
            (base + tail, key) for base in (by_id, by_slug) for tail in ("/issues", "/labels", "/milestones")
        ]
    for (vis, conf), issue in w.issues.items():
        key = f"issue:{vis}:{int(conf)}"
        by_id, by_slug = f"/issues/id:{issue['id']}", f"/repos/{GROUP}/{path_of(vis)}/issues/{issue['iid']}"
        reads += [(by_id, key), (by_slug, key)]
        # Sub-resources by slug go through the same lookup as the issue by slug (asked above for
        # all six): two issues are enough to show they are refused or answered alike.
        bases = (by_id, by_slug) if (vis, conf) in (("public", False), ("private", True)) else (by_id,)
        reads += [(base + tail, key) for base in bases for tail in ("/comments", "/issue_links", "/labels")]
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


@pytest.mark.parametrize("face", list(FACES))
@pytest.mark.parametrize("actor", READERS)
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
            check_issue_ids(world, actor, url, response.json())
        if response.status_code == 200 and "x-total" in response.headers:
            assert int(response.headers["x-total"]) == len(response.json()), (actor, url)
        if url.split("?")[0].endswith("/notes") and response.status_code == 200:
            check_system_notes(world, actor, url, response.json())


def test_the_world_is_what_the_matrix_assumes(world: World) -> None:
    """A sanity check of the fixture: the admin sees all six issues, anonymous the public one."""
    admin = world.client.get("/api/v4/issues?scope=all&per_page=100", headers=world.headers("admin")).json()
    assert len(admin) == 6
    anonymous = world.client.get(f"/api/v4/projects/{world.projects['public']['id']}/issues").json()
    assert [i["title"] for i in anonymous] == [title_of("public", False)]
