"""Authorization matrix of the webhook and change-feed routes: every actor x every scope (the
three projects, the public group, a private group only an administrator may read, the instance) x
every read route of GitLab's hooks API (with the resend and test calls), the native subscriptions
(with redeliver) and the change feed (pages and Server-Sent Events).

Hooks are GitLab's rule (tests/authz/world.py): signed in, then the project or group must be
readable (else its not-found), then Maintainer (project) or Owner (group) or an administrator
(else 403); instance-wide subscriptions are for administrators. The feed answers whoever can read
the project or group, and each event only if its issue and every issue its data names are
readable: checked here against the list of events the world's building made, filtered by the
rules, in commit order.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.authz.world import (
    ACTORS,
    GROUP,
    HIDDEN_GROUP,
    READERS,
    VISIBILITIES,
    World,
    can_manage_group_hooks,
    can_manage_project_hooks,
    can_read_issue,
    can_read_project,
    check_issue_ids,
    check_no_markers,
    path_of,
)

G = "/api/graph/v1"
SCOPES = [*VISIBILITIES, "group", "hidden", "instance"]


# ---------------------------------------------------------------- hooks: the routes and the rule


@pytest.fixture(scope="module")
def hook_routes(world: World) -> list[tuple[str, str, str, str]]:
    return hook_requests(world)


def hook_requests(w: World) -> list[tuple[str, str, str, str]]:
    """(scope, method, url, what): every read of a hook and its deliveries, the resend, test and
    redeliver calls, and a hook of another scope asked for under this one (`other`)."""
    out: list[tuple[str, str, str, str]] = []
    for scope in SCOPES:
        hooks = w.hooks[scope]
        other = w.hooks["instance" if scope != "instance" else "group"].native
        if scope != "instance":
            ref = _ref(w, scope)
            gl = f"/api/v4/{ref}/hooks"
            gl_other = w.hooks["public" if scope != "public" else "private"].gitlab
            out += [
                (scope, "GET", gl, "gitlab_list"),
                (scope, "GET", f"{gl}/{hooks.gitlab}", "gitlab_hook"),
                (scope, "GET", f"{gl}/{gl_other}", "other"),
            ]
            if hooks.gitlab_log:
                out += [
                    (scope, "GET", f"{gl}/{hooks.gitlab}/events", "logs"),
                    (scope, "POST", f"{gl}/{hooks.gitlab}/events/{hooks.gitlab_log}/resend", "resend"),
                    (scope, "POST", f"{gl}/{hooks.gitlab}/test/note_events", "test"),
                ]
            native = f"{G}/{ref}/webhooks"
        else:
            native = f"{G}/webhooks"
        out += [
            (scope, "GET", native, "native_list"),
            (scope, "GET", f"{native}/{hooks.native}", "native_hook"),
            (scope, "GET", f"{native}/{other}", "other"),
        ]
        if hooks.native_log:
            out += [
                (scope, "GET", f"{native}/{hooks.native}/deliveries", "logs"),
                (
                    scope,
                    "POST",
                    f"{native}/{hooks.native}/deliveries/{hooks.native_log}/redeliver",
                    "redeliver",
                ),
            ]
    # The private project and the hidden group by their paths too: refused or answered alike.
    for scope, ref in (
        ("private", f"projects/{GROUP}%2F{path_of('private')}"),
        ("hidden", f"groups/{HIDDEN_GROUP}"),
    ):
        out += [
            (scope, "GET", f"/api/v4/{ref}/hooks", "gitlab_list"),
            (scope, "GET", f"{G}/{ref}/webhooks", "native_list"),
        ]
    return out


def _ref(w: World, scope: str) -> str:
    if scope in VISIBILITIES:
        return f"projects/{w.projects[scope]['id']}"
    return f"groups/{(w.group if scope == 'group' else w.hidden_group)['id']}"


def may_manage(actor: str, scope: str) -> bool:
    if scope == "instance":
        return actor == "admin"
    if scope in ("group", "hidden"):
        return can_manage_group_hooks(actor)
    return can_manage_project_hooks(actor)


def expected_hook_status(actor: str, scope: str, method: str, what: str) -> int:
    if actor == "anonymous":
        return 401
    if scope in VISIBILITIES and not can_read_project(actor, scope):
        return 404  # the project's not-found, before any role is looked at
    if scope == "hidden" and actor != "admin":
        return 404  # the group's not-found
    if not may_manage(actor, scope):
        return 403
    if what == "other":
        return 404  # a hook of another scope is not found under this one
    if what == "test" and scope == "hidden":
        return 422  # past the permission check: the hidden group has no project, no note to sample
    return 201 if method == "POST" and what in ("resend", "test") else 200


@pytest.mark.parametrize("actor", ACTORS)
def test_hooks_answer_as_gitlab(
    world: World, hook_routes: list[tuple[str, str, str, str]], actor: str
) -> None:
    """Every hook route of every scope, as this actor: 401 anonymous, the project's 404 when it
    cannot be read, 403 below Maintainer (project) / Owner (group) / admin (instance), else the
    hook, its deliveries, a resend (201) or test (201) that reached the receiver; each face's
    error shape, and no hidden title, comment, path or issue id in any answer."""
    for scope, method, url, what in hook_routes:
        response = world.client.request(method, url, headers=world.headers(actor))
        expected = expected_hook_status(actor, scope, method, what)
        assert response.status_code == expected, (
            actor,
            method,
            url,
            response.status_code,
            response.text[:300],
        )
        body = response.json()
        if expected >= 400:
            _check_error_shape(url, expected, body)
        check_no_markers(world, actor, url, response.text)
        check_issue_ids(world, actor, url, body)
        if what == "resend" and expected == 201:
            assert body == {"response_status": 200}, (actor, url, body)  # the receiver answered
        if expected != 200:
            continue
        hooks = world.hooks[scope]
        if what == "gitlab_list":
            assert [h["id"] for h in body] == [hooks.gitlab], (actor, url)
        elif what == "native_list":
            assert [h["id"] for h in body["items"]] == [hooks.native] and body["total"] == 1, (actor, url)
        elif what in ("gitlab_hook", "native_hook"):
            assert body["id"] == (hooks.gitlab if what == "gitlab_hook" else hooks.native), (actor, url)
            assert "token" not in body and "secret" not in body, (actor, url)
        elif what == "logs":
            log = hooks.gitlab_log if url.startswith("/api/v4/") else hooks.native_log
            assert log in [entry["id"] for entry in body], (actor, url)
        elif what == "redeliver":
            assert body["response_status"] == 200, (actor, url, body)  # the receiver answered


def _check_error_shape(url: str, status: int, body: Any) -> None:
    if url.startswith("/api/v4/"):
        assert set(body) == {"message"}, (url, body)
        if status == 404:
            assert body["message"] in ("404 Project Not Found", "404 Group Not Found", "404 Not found"), (
                url,
                body,
            )
    else:
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), (url, body)


# ---------------------------------------------------------------- the change feed


def expected_events(w: World, actor: str, scope: str) -> list[tuple[str, int | None, frozenset[int], Any]]:
    """The world's events in the scope (a project's visibility or "group"), in commit order,
    that this actor may read: the event's issue and every issue it names readable."""
    keys = {i["id"]: key for key, i in w.issues.items()}
    out = []
    for event in w.events if scope != "hidden" else []:  # the hidden group has no projects
        vis = keys[event.issue_id][0]
        if scope != "group" and vis != scope:
            continue
        if all(can_read_issue(actor, *keys[i]) for i in {event.issue_id, *event.names}):
            out.append((event.type, event.issue_id, frozenset(event.names), event.note_id))
    return out


def seen_events(items: list[dict[str, Any]]) -> list[tuple[str, int | None, frozenset[int], Any]]:
    out = []
    for item in items:
        data = item["data"]
        cause = data.get("cause") or {}
        names = {data.get("source_id"), data.get("target_id"), cause.get("blocker_id"), cause.get("child_id")}
        names = {n for n in names if isinstance(n, int) and n != item["issue_id"]}
        out.append((item["type"], item["issue_id"], frozenset(names), data.get("note_id")))
    return out


def feed_scopes(w: World) -> list[tuple[str, str]]:
    """(scope, query): each project by id, the private one by its full path too, and the groups."""
    out = [(vis, f"project={p['id']}") for vis, p in w.projects.items()]
    out.append(("private", f"project={w.projects['private']['path_with_namespace'].replace('/', '%2F')}"))
    out.append(("group", f"group={w.group['id']}"))
    out.append(("hidden", f"group={HIDDEN_GROUP}"))
    return out


def _feed_status(actor: str, scope: str) -> int:
    if scope == "hidden":
        return 200 if actor == "admin" else 404
    return 200 if scope == "group" or can_read_project(actor, scope) else 404


@pytest.mark.parametrize("actor", READERS)
def test_feed_shows_exactly_what_the_actor_may_read(world: World, actor: str) -> None:
    """`GET /events` page by page, per project and for the group: the project's not-found when it
    cannot be read, else exactly the readable events in commit order (a confidential issue's
    events only for Planner and up, its author and its assignee; a link event only when both ends
    are readable), with no hidden title, comment, path or id."""
    for scope, query in feed_scopes(world):
        items, cursor = [], ""
        for _ in range(20):
            url = f"{G}/events?{query}&per_page=7{cursor}"
            response = world.client.get(url, headers=world.headers(actor))
            assert response.status_code == _feed_status(actor, scope), (actor, url, response.text[:300])
            check_no_markers(world, actor, url, response.text)
            if response.status_code != 200:
                _check_error_shape(url, 404, response.json())
                break
            page = response.json()
            check_issue_ids(world, actor, url, page)
            if not page["items"]:
                break
            items += page["items"]
            cursor = f"&cursor={page['next_cursor']}"
        else:
            raise AssertionError((actor, query, "the feed did not end"))
        if _feed_status(actor, scope) == 200:
            assert seen_events(items) == expected_events(world, actor, scope), (actor, query)


@pytest.mark.parametrize("actor", READERS)
def test_feed_stream_shows_the_same(world: World, actor: str) -> None:
    """`/events/stream` per project and for the group: the same refusal, or the same events as the
    pages, read up to the last one the actor may see (the world ends each project with an event
    every reader of it may read, so a leaked event would come before it)."""
    for scope, query in feed_scopes(world):
        url = f"{G}/events/stream?{query}"
        with world.client.stream("GET", url, headers=world.headers(actor)) as response:
            assert response.status_code == _feed_status(actor, scope), (actor, url)
            if response.status_code != 200:
                response.read()
                check_no_markers(world, actor, url, response.text)
                continue
            assert response.headers["content-type"].startswith("text/event-stream")
            expected = expected_events(world, actor, scope)
            items = _read_stream(response, len(expected))
        for item in items:
            check_no_markers(world, actor, url, str(item))
            check_issue_ids(world, actor, url, item)
        assert seen_events(items) == expected, (actor, url)


def _read_stream(response: Any, count: int) -> list[dict[str, Any]]:
    """The stream's first `count` events (fewer if it goes idle first)."""
    items: list[dict[str, Any]] = []
    data: list[str] = []
    if count == 0:
        return items
    for line in response.iter_lines():
        if line.startswith(": keep-alive"):
            break  # the stream has gone idle: it has sent everything there is
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            items.append(orjson.loads("".join(data)))
            data = []
            if len(items) >= count:
                break
    return items
