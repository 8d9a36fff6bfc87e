"""Authorization matrix of the web UI: every actor (signed in through the sign-in form, its
session cookie sent by the client as a browser would) x every page and JSON endpoint that shows
a project, a group, an issue or a graph.

An issue or project the actor cannot read is the 404 page with the GitLab API's own message for
the same actor; anonymous visitors see public projects only, signed-in users internal ones too,
private projects and confidential issues as GitLab's rules (tests/authz/world.py). Lists show
exactly the readable issues; no answer carries a hidden title, comment, path or issue id.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.authz.world import (
    GROUP,
    HIDDEN_GROUP,
    READERS,
    World,
    can_read_issue,
    can_read_project,
    check_issue_ids,
    check_no_markers,
    check_system_notes,
    path_of,
    title_of,
)

_SYSTEM_NOTE = re.compile(r'<span class="system-body">(.*?)</span>', re.S)
_ERROR = re.compile(r'<p class="error-message" id="error-message">([^<]*)</p>')


def web_requests(w: World) -> list[tuple[str, str | None, str]]:
    """(url, what it shows: None for nothing readable-dependent, "project:<vis>" or
    "issue:<vis>:<conf>", and the API url whose 404 message a refusal must repeat)."""
    out: list[tuple[str, str | None, str]] = [
        ("/", None, ""),
        ("/-/sign_in", None, ""),
        (f"/-/groups/{GROUP}", None, ""),
        (f"/-/groups/{w.group['id']}?state=all", None, ""),
        (f"/-/groups/{w.hidden_group['id']}", "group:hidden", f"/api/v4/groups/{w.hidden_group['id']}"),
        (f"/-/groups/{HIDDEN_GROUP}", "group:hidden", f"/api/v4/groups/{HIDDEN_GROUP}"),
    ]
    for vis, project in w.projects.items():
        base, api = f"/-/projects/{project['id']}", f"/api/v4/projects/{project['id']}"
        key = f"project:{vis}"
        out += [
            (base, key, api),
            (f"{base}/issues", key, api),
            (f"{base}/issues?state=all&search=k3", key, api),
            (f"{base}/graph", key, api),
            (f"{base}/graph/marks.json", key, api),
            (f"{base}/graph/export", key, api),
            (f"{base}/graph/export?format=dot&download=true", key, api),
        ]
    hub = f"/-/projects/{w.hub['project_id']}/issues/{w.hub['iid']}/link_targets"
    out += [  # the picker by reference: "#2" is that iid in every project
        (f"{hub}?target=%232", "issue:public:0", ""),
        (f"{hub}?target={GROUP}/{path_of('private')}%231", "issue:public:0", ""),
    ]
    for (vis, conf), issue in w.issues.items():
        key = f"issue:{vis}:{int(conf)}"
        base = f"/-/projects/{issue['project_id']}/issues/{issue['iid']}"
        api = f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}"
        out += [
            (base, key, api),
            (f"{base}/link_targets?target=k3", key, api),
            (f"{base}/graph", key, api),
            (f"{base}/graph.json", key, api),
        ]
    # GitLab's web_urls (the group's, each project's issue list, each issue's): redirects to the
    # pages above for readers, the same 404 page for everyone else.
    out += [
        (f"/groups/{GROUP}", None, ""),
        (f"/groups/{HIDDEN_GROUP}", "group:hidden", f"/api/v4/groups/{HIDDEN_GROUP}"),
    ]
    for vis, project in w.projects.items():
        out.append(
            (
                f"/{project['path_with_namespace']}/-/issues",
                f"project:{vis}",
                f"/api/v4/projects/{project['id']}",
            )
        )
    for (vis, conf), issue in w.issues.items():
        api = f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}"
        out.append((urlsplit(issue["web_url"]).path, f"issue:{vis}:{int(conf)}", api))
    return out


def _redirect_target(world: World, url: str) -> str:
    """The page a GitLab web_url leads to."""
    if url.startswith("/groups/"):
        group = world.group if url == f"/groups/{GROUP}" else world.hidden_group
        return f"/-/groups/{group['id']}"
    full, rest = url.lstrip("/").split("/-/", 1)
    [project] = [p for p in world.projects.values() if p["path_with_namespace"] == full]
    return f"/-/projects/{project['id']}/{rest}"


def _readable(actor: str, key: str | None) -> bool:
    if key is None:
        return True
    parts = key.split(":")
    if parts[0] == "group":  # the private group without members
        return actor == "admin"
    if parts[0] == "project":
        return can_read_project(actor, parts[1])
    return can_read_issue(actor, parts[1], parts[2] == "1")


def _expected_status(url: str, readable: bool) -> int:
    if not readable:
        return 404
    if re.fullmatch(r"/-/projects/[^/]+", url):
        return 303
    return 200 if url == "/" or url.startswith("/-/") else 302  # a GitLab web_url redirects


@pytest.fixture(scope="module")
def pages(world: World) -> list[tuple[str, str | None, str]]:
    world.client.cookies.clear()  # each request carries its actor's cookie, nothing else
    return web_requests(world)


@pytest.mark.parametrize("actor", READERS)
def test_pages_show_exactly_what_the_actor_may_read(
    world: World, pages: list[tuple[str, str | None, str]], actor: str
) -> None:
    """Every page as this actor: readable ones answer (a project's address redirects to its
    issues), the rest are the 404 page with the API's message; no hidden title, comment, path or
    issue id in any page or JSON answer; lists show every readable issue of their scope."""
    api_messages: dict[tuple[str, str], str] = {}
    for url, key, api in pages:
        response = world.client.get(url, headers=world.web_headers(actor), follow_redirects=False)
        readable = _readable(actor, key)
        assert response.status_code == _expected_status(url, readable), (
            actor,
            url,
            response.status_code,
            response.text[-300:],
        )
        shown = response.text.replace(url.split("?")[0], "")  # the page's own address (sign-in link)
        if "/link_targets" in url:  # the picker repeats what was typed when nothing matches
            shown = shown.replace(f"“{html.escape(unquote(url.split('target=')[1]))}”", "")
        check_no_markers(world, actor, url, shown)
        if response.status_code == 302:  # a GitLab web_url, to a page the rows above check
            assert response.headers["location"] == _redirect_target(world, url), (actor, url)
            continue
        content_type = response.headers.get("content-type", "")
        if not readable:
            assert _error_message(response.text) == _api_message(world, api_messages, actor, api), (
                actor,
                url,
            )
            continue
        if content_type.startswith("application/json"):
            check_issue_ids(world, actor, url, response.json())
        if content_type.startswith("text/html") and "/link_targets" not in url:
            _check_signed_in_as(world, actor, url, response.text)
        if re.fullmatch(r"/-/projects/\d+/issues/\d+", url):
            notes = [{"system": True, "body": html.unescape(b)} for b in _SYSTEM_NOTE.findall(response.text)]
            check_system_notes(world, actor, url, notes)
            if key == "issue:public:0":  # one note per link to the hub, shown if its other end is readable
                assert len(notes) == len(world.readable_issue_ids(actor)) - 1, (actor, url, notes)
        _check_counts(world, actor, url, response.text)
        _check_complete(world, actor, url, key, response)


def _error_message(html: str) -> str | None:
    match = _ERROR.search(html)
    return match.group(1) if match else None


def _api_message(world: World, known: dict[tuple[str, str], str], actor: str, api: str) -> str:
    """What the GitLab API answers this actor for the same project or issue (asked once)."""
    if (actor, api) not in known:
        response = world.client.get(api, headers=world.headers(actor))
        assert response.status_code == 404, (actor, api, response.status_code)
        known[(actor, api)] = str(response.json()["message"])
    return known[(actor, api)]


def _check_signed_in_as(world: World, actor: str, url: str, html: str) -> None:
    if actor == "anonymous":
        assert "Signed in as" not in html, (actor, url)
    else:
        assert f"Signed in as <strong>{world.accounts[actor].username}</strong>" in html, (actor, url)


def _check_complete(world: World, actor: str, url: str, key: str | None, response: Any) -> None:
    """The lists show every issue the actor may read in their scope (hidden ones are checked
    absent by the markers)."""
    path = url.split("?")[0]
    readable = {k: i for k, i in world.issues.items() if can_read_issue(actor, *k)}
    if key == "group:hidden":
        return
    if path.startswith("/-/groups/"):
        shown = list(readable)
    elif key and key.startswith("project:") and path.endswith("/issues"):
        shown = [k for k in readable if k[0] == key.split(":")[1]]
    elif path == "/":
        for vis in ("public", "internal", "private"):
            assert (path_of(vis) in response.text) == can_read_project(actor, vis), (actor, url, vis)
        return
    elif path.endswith("/link_targets"):
        here = int(path.split("/")[-2])
        target = unquote(url.split("target=")[1])
        shown = [
            k
            for k, i in readable.items()
            if not (i["iid"] == here and _same_project(world, url, k)) and _picked(target, k, i)
        ]
        if actor == "anonymous":  # the picker suggests nothing to someone who cannot link
            shown = []
        titles = re.findall(r"[a-z]+-(?:open|conf)-title-k3", response.text)
        assert sorted(titles) == sorted(title_of(*k) for k in shown), (actor, url, titles)
        return
    elif key == "issue:public:0" and re.fullmatch(r"/-/projects/[^/]+/issues/\d+", path):
        shown = list(readable)  # the hub's page lists every issue linked to it
    elif key == "issue:public:0" and path.endswith("/graph.json"):
        nodes = {n["data"]["id"] for n in response.json()["nodes"] if n["data"]["kind"] != "hidden"}
        blockers = {world.issues[("internal", False)]["id"], world.issues[("private", False)]["id"]}
        expected = {world.hub["id"], *(b for b in blockers if b in {i["id"] for i in readable.values()})}
        assert nodes == {str(i) for i in expected}, (actor, url, nodes)
        return
    else:
        return
    for k in shown:
        assert title_of(*k) in response.text, (actor, url, title_of(*k))


def _picked(target: str, key: tuple[str, bool], issue: dict[str, Any]) -> bool:
    """Whether the picker's text matches the issue: words of its title, `#iid` in any project,
    or `path#iid`."""
    if "#" not in target:
        return target in title_of(*key)
    path, iid = target.split("#")
    return issue["iid"] == int(iid) and (not path or path == f"{GROUP}/{path_of(key[0])}")


_COUNTS = re.compile(
    r"(\d+) open</span> · "
    r'<span class="ready">(\d+) ready</span> ·\s*<span class="blocked">(\d+) blocked</span>'
)
_ROW_COUNTS = (
    r'<a href="{href}">[^<]*</a>.*?</td>\s*'
    r'<td>(\d+)</td><td class="ready">(\d+)</td><td class="blocked">(\d+)</td>'
)


def expected_counts(world: World, actor: str, scope: str) -> tuple[int, int, int]:
    """(open, ready, blocked) of a project (by visibility) or the group, as this actor: readable
    issues only; the hub is blocked (by open issues of the internal and private projects,
    readable or not: a hidden open blocker still blocks, docs/graph.md)."""
    keys = [k for k in world.issues if can_read_issue(actor, *k) and scope in ("group", k[0])]
    blocked = sum(1 for k in keys if k == ("public", False))
    return len(keys), len(keys) - blocked, blocked


def _check_counts(world: World, actor: str, url: str, html_text: str) -> None:
    """The open / ready / blocked figures count readable issues only."""
    path = url.split("?")[0]
    match = re.fullmatch(r"/-/projects/(\d+)/issues", path)
    if match or path.startswith("/-/groups/"):
        hidden = path.split("/")[-1] in (HIDDEN_GROUP, str(world.hidden_group["id"]))
        scope = "hidden" if hidden else "group"
        if match:
            scope = next(v for v, p in world.projects.items() if str(p["id"]) == match[1])
        found = _COUNTS.search(html_text)
        assert found is not None, (actor, url)
        assert tuple(int(n) for n in found.groups()) == expected_counts(world, actor, scope), (actor, url)
    elif path == "/":
        rows = [(f"/-/groups/{world.group['id']}", "group")]
        if actor == "admin":
            rows.append((f"/-/groups/{world.hidden_group['id']}", "hidden"))
        rows += [
            (f"/-/projects/{p['id']}/issues", v)
            for v, p in world.projects.items()
            if can_read_project(actor, v)
        ]
        for href, scope in rows:
            found = re.search(_ROW_COUNTS.format(href=re.escape(href)), html_text, re.S)
            assert found is not None, (actor, href)
            assert tuple(int(n) for n in found.groups()) == expected_counts(world, actor, scope), (
                actor,
                href,
            )


def _same_project(world: World, url: str, key: tuple[str, bool]) -> bool:
    return url.split("/")[3] == str(world.projects[key[0]]["id"])
