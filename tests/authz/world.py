"""The authorization matrix's world and the rules it is checked against.

The world is built once per database for the whole package (tests/authz/conftest.py); the
expected visibility comes from GitLab's rules written out here, not from the server's code:
- a project is readable by an admin, by anyone if public, by any signed-in user if internal, and
  by its members (Guest and up, directly or through the group) if private;
- a confidential issue is readable by an admin, by members from Planner up, and by its author and
  its assignees (here two Guests: `author` wrote every confidential issue, `assignee` is assigned
  to each of them);
- a project's hooks need Maintainer (or admin), a group's hooks Owner (or admin: a Maintainer of
  the group is refused), instance-wide native subscriptions an administrator.

One public group holds a public, an internal and a private project; each project has an open and
a confidential issue with one comment; the public open issue (the hub) is linked to the five
others. Every project and the group have a GitLab hook and a native subscription (and the
instance one), all pointing at a loopback receiver, so that each has delivery logs. A second,
private group without members or projects has hooks too (only an administrator may see it). Each
project's last event is a comment on its open issue (the feed's end marker).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.events import delivery
from issuegraph.events.worker import Worker
from issuegraph.web.sessions import COOKIE
from tests.conftest import Account, Factory
from tests.web.webclient import set_password, signed_in

ROLES = {"guest": 10, "planner": 15, "reporter": 20, "developer": 30, "maintainer": 40}
GROUP_ROLES = {"group_maintainer": 40, "owner": 50}  # members of the group, so of its every project
CONFIDENTIAL_READERS = ("author", "assignee")  # Guests in every project, named on each confidential issue
MEMBERS = {**ROLES, **GROUP_ROLES, "author": 10, "assignee": 10}
ACTORS = ["anonymous", "non_member", *MEMBERS, "admin"]
# For reading, the group's Maintainer is its Owner again (both read everything through the group):
# the read matrices leave it out; the hooks matrix, where the two differ, asks both.
READERS = [actor for actor in ACTORS if actor != "group_maintainer"]
VISIBILITIES = ["public", "internal", "private"]
GROUP = "mx"
HIDDEN_GROUP = "hidgrp-zq"  # a private group with no members: only an administrator reads it
PASSWORD = "matrix password 1"
NATIVE_EVENTS = ["issue.created", "note.created", "issue_link.created"]


def path_of(vis: str) -> str:
    return f"{vis[:4]}-zq"


def title_of(vis: str, conf: bool) -> str:
    return f"{vis}-{'conf' if conf else 'open'}-title-k3"


def comment_of(vis: str, conf: bool) -> str:
    return f"comment-{vis}-{'conf' if conf else 'open'}-k3"


def last_comment_of(vis: str) -> str:
    return f"last-word-{vis}-k3"


def can_read_project(actor: str, vis: str) -> bool:
    return (
        actor == "admin"
        or vis == "public"
        or (vis == "internal" and actor != "anonymous")
        or actor in MEMBERS
    )


def can_read_issue(actor: str, vis: str, conf: bool) -> bool:
    if not can_read_project(actor, vis):
        return False
    if not conf or actor == "admin" or actor in CONFIDENTIAL_READERS:
        return True
    return MEMBERS.get(actor, 0) >= ROLES["planner"]


def can_manage_project_hooks(actor: str) -> bool:
    return actor == "admin" or MEMBERS.get(actor, 0) >= ROLES["maintainer"]


def can_manage_group_hooks(actor: str) -> bool:
    return actor == "admin" or GROUP_ROLES.get(actor, 0) >= GROUP_ROLES["owner"]


@dataclass
class Hooks:
    """One scope's GitLab hook and native subscription, each with one of its delivery logs."""

    gitlab: int = 0
    gitlab_log: int = 0
    native: int = 0
    native_log: int = 0


@dataclass(frozen=True)
class Event:
    """A change the world's building made, as the feed should show it."""

    type: str
    issue_id: int
    names: frozenset[int] = frozenset()  # the other issues its data names
    note_id: int | None = None


@dataclass
class World:
    client: TestClient
    accounts: dict[str, Account]
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, bool], dict[str, Any]] = field(default_factory=dict)
    links: dict[tuple[str, bool], int] = field(default_factory=dict)  # link id to the hub, per issue
    group: dict[str, Any] = field(default_factory=dict)
    hidden_group: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Hooks] = field(default_factory=dict)  # by visibility, "group", "hidden", "instance"
    web_sessions: dict[str, str] = field(default_factory=dict)  # session cookie per actor
    events: list[Event] = field(default_factory=list)  # in commit order

    @property
    def hub(self) -> dict[str, Any]:
        return self.issues[("public", False)]

    def headers(self, actor: str, face: str = "gitlab") -> dict[str, str]:
        if actor == "anonymous":
            return {}
        token = self.accounts[actor].token
        return {"PRIVATE-TOKEN": token} if face == "gitlab" else {"Authorization": f"Bearer {token}"}

    def web_headers(self, actor: str) -> dict[str, str]:
        """The browser's session cookie (anonymous: none); the client's own jar is kept empty."""
        return {} if actor == "anonymous" else {"Cookie": f"{COOKIE}={self.web_sessions[actor]}"}

    def hidden_markers(self, actor: str) -> list[str]:
        markers = []
        for vis, conf in self.issues:
            if not can_read_issue(actor, vis, conf):
                markers += [title_of(vis, conf), comment_of(vis, conf)]
        for vis in VISIBILITIES:
            if not can_read_project(actor, vis):
                markers += [path_of(vis), last_comment_of(vis)]
        if actor != "admin":
            markers.append(HIDDEN_GROUP)
        return markers

    def issue_key(self, issue_id: int) -> tuple[str, bool]:
        return next(key for key, issue in self.issues.items() if issue["id"] == issue_id)

    def readable_issue_ids(self, actor: str) -> set[int]:
        return {i["id"] for key, i in self.issues.items() if can_read_issue(actor, *key)}

    def hidden_issue_ids(self, actor: str) -> set[int]:
        return {i["id"] for key, i in self.issues.items() if not can_read_issue(actor, *key)}


def build(client: TestClient, database: Database, settings: Settings, receiver_url: str) -> World:
    factory = Factory(client)
    accounts = {name: factory.user(name.replace("_", "")) for name in ["non_member", *MEMBERS]}
    accounts["admin"] = factory.user("otheradmin", admin=True)
    world = World(client, accounts)
    group = factory.group(GROUP, visibility="public")
    world.group = group
    for role, level in GROUP_ROLES.items():
        factory.group_member(group, accounts[role], level)
    for vis in VISIBILITIES:
        project = factory.project(path_of(vis), group=group, visibility=vis)
        world.projects[vis] = project
        for role, level in MEMBERS.items():
            if role not in GROUP_ROLES:
                factory.member(project, accounts[role], level)
        for conf in (False, True):
            if conf:
                issue = factory.issue(project, title_of(vis, conf), by=accounts["author"], confidential=True)
                world.events.append(Event("issue.created", issue["id"]))
                _assign(client, issue, accounts["assignee"])
                world.events.append(Event("issue.updated", issue["id"]))
            else:
                issue = factory.issue(project, title_of(vis, conf))
                world.events.append(Event("issue.created", issue["id"]))
            world.issues[(vis, conf)] = issue
            _comment(world, factory, issue, comment_of(vis, conf))
    hub = world.hub
    blocked = False
    for key, issue in world.issues.items():
        if issue is hub:
            continue
        kind = "is_blocked_by" if not key[1] else "relates_to"
        factory.link(hub, issue, kind)
        world.events.append(Event("issue_link.created", hub["id"], frozenset({issue["id"]})))
        if kind == "is_blocked_by" and not blocked:  # its first open blocker blocks the hub
            world.events.append(Event("issue.blocked", hub["id"], frozenset({issue["id"]})))
            blocked = True
        world.links[key] = _link_id(client, factory, hub, issue)
    # Hooks come last, so that only the closing comments are delivered to them (a few rounds).
    world.hooks["group"] = _hooks(client, f"groups/{group['id']}", receiver_url)
    world.hidden_group = factory.group(HIDDEN_GROUP, visibility="private")
    world.hooks["hidden"] = _hooks(client, f"groups/{world.hidden_group['id']}", receiver_url)
    world.hooks["instance"] = Hooks(native=_native_hook(client, "/api/graph/v1/webhooks", receiver_url))
    for vis, project in world.projects.items():
        world.hooks[vis] = _hooks(client, f"projects/{project['id']}", receiver_url)
    for vis in VISIBILITIES:  # each project's last event: the feed reads up to it
        _comment(world, factory, world.issues[(vis, False)], last_comment_of(vis))
    _deliver_all(database, settings)
    for scope, hooks in world.hooks.items():
        if scope != "hidden":  # a group without projects has had nothing to deliver
            _find_logs(client, factory, world, scope, hooks)
    for actor in ACTORS:
        if actor != "anonymous":
            set_password(client, factory.admin.headers, accounts[actor].id, PASSWORD)
            world.web_sessions[actor] = signed_in(client, accounts[actor].username, PASSWORD)
            client.cookies.clear()
    return world


def _comment(world: World, factory: Factory, issue: dict[str, Any], body: str) -> None:
    response = world.client.post(
        f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/notes",
        headers=factory.admin.headers,
        json={"body": body},
    )
    assert response.status_code == 201, response.text
    world.events.append(Event("note.created", issue["id"], note_id=int(response.json()["id"])))


def _assign(client: TestClient, issue: dict[str, Any], who: Account) -> None:
    response = client.put(
        f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}",
        headers={"PRIVATE-TOKEN": Factory(client).admin.token},
        json={"assignee_ids": [who.id]},
    )
    assert response.status_code == 200, response.text
    assert [a["id"] for a in response.json()["assignees"]] == [who.id]


def _link_id(client: TestClient, factory: Factory, hub: dict[str, Any], other: dict[str, Any]) -> int:
    links = client.get(
        f"/api/v4/projects/{hub['project_id']}/issues/{hub['iid']}/links", headers=factory.admin.headers
    ).json()
    return int(next(link["issue_link_id"] for link in links if link["id"] == other["id"]))


def _hooks(client: TestClient, scope_path: str, receiver_url: str) -> Hooks:
    admin = Factory(client).admin.headers
    body = {
        "url": f"{receiver_url}/gitlab/{scope_path}",
        "issues_events": True,
        "confidential_issues_events": True,
        "note_events": True,
        "confidential_note_events": True,
    }
    response = client.post(f"/api/v4/{scope_path}/hooks", headers=admin, json=body)
    assert response.status_code == 201, response.text
    native = _native_hook(client, f"/api/graph/v1/{scope_path}/webhooks", receiver_url)
    return Hooks(gitlab=int(response.json()["id"]), native=native)


def _native_hook(client: TestClient, base: str, receiver_url: str) -> int:
    response = client.post(
        base,
        headers=Factory(client).admin.headers,
        json={"url": f"{receiver_url}/native{base}", "event_types": NATIVE_EVENTS},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _deliver_all(database: Database, settings: Settings, timeout: float = 60.0) -> None:
    """Dispatch every event (the feed's order) and deliver until nothing is due, as
    `issuegraph worker` would; the loopback receiver answers 200 at once."""
    worker = Worker(database, settings)

    async def rounds() -> None:
        deadline = time.monotonic() + timeout
        async with delivery.Sender(settings) as sender:
            idle = 0
            while idle < 3:  # three empty rounds in a row: nothing more is due
                assert time.monotonic() < deadline, "deliveries did not settle in time"
                idle = idle + 1 if await worker.run_once(sender) == 0 else 0
                await asyncio.sleep(0.02)

    asyncio.run(rounds())


def _find_logs(client: TestClient, factory: Factory, world: World, scope: str, hooks: Hooks) -> None:
    """A delivery log of each hook, read as the admin (the matrix resends and redelivers it)."""
    base = "" if scope == "instance" else _scope_path(world, scope)
    if hooks.gitlab:
        logs = client.get(f"/api/v4/{base}/hooks/{hooks.gitlab}/events", headers=factory.admin.headers).json()
        assert logs, (scope, "no GitLab hook deliveries")
        hooks.gitlab_log = int(logs[0]["id"])
    native_base = f"/api/graph/v1/{base}/webhooks" if base else "/api/graph/v1/webhooks"
    logs = client.get(f"{native_base}/{hooks.native}/deliveries", headers=factory.admin.headers).json()
    assert logs, (scope, "no native deliveries")
    hooks.native_log = int(logs[0]["id"])


def _scope_path(world: World, scope: str) -> str:
    if scope in ("group", "hidden"):
        return f"groups/{(world.group if scope == 'group' else world.hidden_group)['id']}"
    return f"projects/{world.projects[scope]['id']}"


# ---------------------------------------------------------------- checks every matrix shares

# Keys whose value is an issue's global id (a link's ends, an event's issue, a blocker) and
# keys whose value is a list of them (the web graph's marks).
ISSUE_ID_KEYS = {
    "source",
    "target",
    "source_id",
    "target_id",
    "issue_id",
    "target_issue_id",
    "source_issue_id",
    "blocker_id",
    "child_id",
}
ISSUE_ID_LIST_KEYS = {"ready", "critical_path"}


def check_issue_ids(w: World, actor: str, url: str, data: Any) -> None:
    """No hidden issue's global id: not as an issue object's id, not as a link end, an event's
    issue, a blocker or in a list of issue ids."""
    hidden = {str(i) for i in w.hidden_issue_ids(actor)}

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if ("iid" in value or "title" in value) and _text(value.get("id")) in hidden:  # an issue
                raise AssertionError((actor, url, value))
            for key, item in value.items():
                if key in ISSUE_ID_KEYS and _text(item) in hidden:
                    raise AssertionError((actor, url, key, item))
                if key in ISSUE_ID_LIST_KEYS and isinstance(item, list):
                    leaked = [i for i in item if _text(i) in hidden]
                    assert not leaked, (actor, url, key, leaked)
                walk(item)

    walk(data)


def check_no_markers(w: World, actor: str, url: str, body: str) -> None:
    """No hidden title, comment or project path anywhere in the answer (spaces ignored)."""
    flat = body.replace(" ", "")
    for marker in w.hidden_markers(actor):
        assert marker.replace(" ", "") not in flat, (actor, url, marker)


_REFERENCE = re.compile(r"(?:^|\s)([A-Za-z0-9_.-]*)#([0-9]+)")


def check_system_notes(w: World, actor: str, url: str, notes: list[dict[str, Any]]) -> None:
    """Every issue a shown system note names is one the actor may read."""
    here = next(vis for vis, p in w.projects.items() if f"/projects/{p['id']}/" in url)
    for note in notes:
        if not note.get("system"):
            continue
        for path, iid in _REFERENCE.findall(note["body"]):
            vis = here if not path else next(v for v in VISIBILITIES if path_of(v) == path)
            issue = next(k for k, i in w.issues.items() if k[0] == vis and i["iid"] == int(iid))
            assert can_read_issue(actor, *issue), (actor, url, note["body"])


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
