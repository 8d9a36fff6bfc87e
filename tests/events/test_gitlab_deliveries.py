"""GitLab hook deliveries: headers, Issue and Note Hook bodies, links, confidential, silent."""

from __future__ import annotations

import uuid
from typing import Any

from issuegraph.db.engine import Database
from tests.conftest import recorded_queries
from tests.events.conftest import Deliverer
from tests.events.helpers import add_hook, deliveries
from tests.events.receiver import Receiver


def test_issue_hook_headers_and_body(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """An issue's creation arrives with GitLab's headers and an Issue Hook body, action open."""
    project = factory.project("p1")
    add_hook(factory, project, receiver.url, token="s3cret")
    issue = factory.issue(project, "first", labels="bug", assignee_ids=[1])
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.header("Content-Type") == "application/json"
    assert req.header("X-Gitlab-Event") == "Issue Hook"
    assert req.header("X-Gitlab-Token") == "s3cret"
    assert req.header("X-Gitlab-Instance") == "http://issuegraph.test"
    assert req.header(
        "User-Agent",
    ).startswith("GitLab/")  # type: ignore[union-attr]
    for name in ("X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key"):
        uuid.UUID(req.header(name))
    body = req.json
    assert body["object_kind"] == "issue" and body["event_type"] == "issue"
    assert body["user"]["username"] == "root"
    assert body["project"]["path_with_namespace"] == project["path_with_namespace"]
    attrs = body["object_attributes"]
    assert (attrs["action"], attrs["iid"], attrs["title"], attrs["state"]) == (
        "open",
        issue["iid"],
        "first",
        "opened",
    )
    assert [label["title"] for label in body["labels"]] == ["bug"]
    assert [a["username"] for a in body["assignees"]] == ["root"]
    assert body["repository"]["name"] == project["name"]


def test_update_close_reopen_carry_changes(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """Edits send action update with previous/current; state_event sends close and reopen."""
    project = factory.project("p1")
    add_hook(factory, project, receiver.url)
    issue = factory.issue(project, "before")
    url = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}"
    h = factory.admin.headers
    assert factory.client.put(url, headers=h, json={"title": "after", "labels": "x"}).status_code == 200
    assert factory.client.put(url, headers=h, json={"state_event": "close"}).status_code == 200
    assert factory.client.put(url, headers=h, json={"state_event": "reopen"}).status_code == 200
    deliverer.until_idle()
    bodies = [r.json for r in receiver.wait_for(4)]
    assert [b["object_attributes"]["action"] for b in bodies] == ["open", "update", "close", "reopen"]
    assert bodies[1]["changes"]["title"] == {"previous": "before", "current": "after"}
    assert bodies[1]["changes"]["labels"]["previous"] == []
    assert [label["title"] for label in bodies[1]["changes"]["labels"]["current"]] == ["x"]
    assert bodies[2]["changes"]["state"] == {"previous": "opened", "current": "closed"}
    assert bodies[3]["object_attributes"]["state"] == "opened"


def test_note_hook(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A comment sends a Note Hook with the note and its issue."""
    project = factory.project("p1")
    issue = factory.issue(project, "x")
    add_hook(factory, project, receiver.url, issues_events=False)
    response = factory.client.post(
        f"/api/v4/projects/{project['id']}/issues/{issue['iid']}/notes",
        headers=factory.admin.headers,
        json={"body": "hello"},
    )
    assert response.status_code == 201
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.header("X-Gitlab-Event") == "Note Hook"
    body = req.json
    assert (body["object_kind"], body["event_type"]) == ("note", "note")
    assert body["object_attributes"]["note"] == "hello"
    assert body["object_attributes"]["noteable_type"] == "Issue"
    assert body["object_attributes"]["url"].endswith(f"/-/issues/{issue['iid']}#note_{response.json()['id']}")
    assert body["issue"]["iid"] == issue["iid"]


def test_link_change_updates_both_issues(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """Linking and unlinking send an Issue Hook update for each issue, `changes` naming the link."""
    project = factory.project("p1")
    a, b = factory.issue(project, "a"), factory.issue(project, "b")
    add_hook(factory, project, receiver.url)
    link = factory.link(a, b, "blocks")
    deliverer.until_idle()
    created = {r.json["object_attributes"]["iid"]: r.json for r in receiver.wait_for(2)}
    assert set(created) == {a["iid"], b["iid"]}
    seen_from_a = created[a["iid"]]["changes"]["links"]
    assert seen_from_a["previous"] == []
    assert seen_from_a["current"][0]["link_type"] == "blocks"
    assert seen_from_a["current"][0]["issue_iid"] == b["iid"]
    assert created[b["iid"]]["changes"]["links"]["current"][0]["link_type"] == "is_blocked_by"
    assert all(body["object_attributes"]["action"] == "update" for body in created.values())
    link_id = link["id"]
    response = factory.client.delete(
        f"/api/v4/projects/{project['id']}/issues/{a['iid']}/links/{link_id}", headers=factory.admin.headers
    )
    assert response.status_code == 200, response.text
    deliverer.until_idle()
    removed = [r.json for r in receiver.wait_for(4)[2:]]
    assert {body["object_attributes"]["iid"] for body in removed} == {a["iid"], b["iid"]}
    assert all(body["changes"]["links"]["current"] == [] for body in removed)
    assert all(len(body["changes"]["links"]["previous"]) == 1 for body in removed)


def test_a_link_from_an_unhooked_project_reaches_the_other_ends_hook(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Any
) -> None:
    """The link is made from a project without hooks; the hook of the other end's project hears
    of it, also when that issue is deleted before the link's event is dispatched. Events of
    projects no hook covers are numbered and left: nothing is loaded to describe them."""
    from sqlalchemy import func, select

    from issuegraph.db.models import Event
    from issuegraph.events import dispatch

    hooked, plain = factory.project("hooked"), factory.project("plain")
    there = factory.issue(hooked, "there")
    deliverer.round()  # before the hook: not sent to it
    add_hook(factory, hooked, receiver.url)
    here = factory.issue(plain, "here")
    factory.link(here, factory.issue(plain, "also here"))  # no hook hears of this one
    with recorded_queries(database.engine) as statements:
        assert deliverer.round() == 0
    assert not any("FROM notes" in s for s in statements)  # no issue described
    factory.link(here, there)
    deliverer.until_idle()
    [request] = receiver.wait_for(1)
    assert request.json["object_attributes"]["title"] == "there"
    [link] = request.json["changes"]["links"]["current"]
    assert link["link_type"] == "relates_to" and link["issue_iid"] is None  # "plain" is private
    later, doomed = factory.issue(plain, "later"), factory.issue(hooked, "doomed")
    deliverer.until_idle()
    seen = len(receiver.wait_for(2))  # "doomed" opened
    factory.link(later, doomed)
    deleted = factory.client.delete(
        f"/api/v4/projects/{hooked['id']}/issues/{doomed['iid']}", headers=factory.admin.headers
    )
    assert deleted.status_code == 204, deleted.text
    with database.session() as session:  # the link's events go out before the deletion's
        waiting = session.scalar(select(func.count()).select_from(Event).where(Event.seq.is_(None)))
        assert dispatch.dispatch_once(session, "http://testserver", limit=waiting - 1) == waiting - 1
        session.commit()
    deliverer.until_idle()
    bodies = [r.json for r in receiver.wait_for(seen + 1)[seen:]]
    assert [b["object_attributes"]["title"] for b in bodies if "links" in b["changes"]] == ["doomed"]


def test_confidential_only_to_hooks_that_ask(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """A confidential issue reaches only hooks with confidential_issues_events, as a confidential_issue."""
    project = factory.project("p1")
    plain = add_hook(factory, project, receiver.url + "?plain")
    secret = add_hook(factory, project, receiver.url + "?secret", confidential_issues_events=True)
    factory.issue(project, "hush", confidential=True)
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.path.endswith("?secret")
    assert req.header("X-Gitlab-Event") == "Confidential Issue Hook"
    assert req.json["event_type"] == "confidential_issue" and req.json["object_kind"] == "issue"
    assert deliveries(database, plain["id"]) == []
    assert len(deliveries(database, secret["id"])) == 1


def test_group_hook_covers_subgroup_projects(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A group hook hears of issues in projects of its subgroups; other groups' projects stay silent."""
    top = factory.group("top")
    sub = factory.group("sub", parent=top)
    other = factory.group("other")
    hook = factory.client.post(
        f"/api/v4/groups/{top['id']}/hooks",
        headers=factory.admin.headers,
        json={"url": receiver.url, "issues_events": True},
    )
    assert hook.status_code == 201, hook.text
    assert hook.json()["group_id"] == top["id"]
    factory.issue(factory.project("deep", group=sub), "in sub")
    factory.issue(factory.project("away", group=other), "elsewhere")
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.json["object_attributes"]["title"] == "in sub"


def test_group_hook_test_samples_its_subgroups_projects(factory: Any, receiver: Receiver) -> None:
    """test/:trigger on a group hook: the first issue (or note) of the group's projects and its
    subgroups'; none yet: 422 naming the group; another group's issues are never sampled."""
    top = factory.group("top")
    sub = factory.group("sub", parent=top)
    factory.issue(factory.project("away", group=factory.group("other")), "elsewhere")
    h = factory.admin.headers
    hook = factory.client.post(f"/api/v4/groups/{top['id']}/hooks", headers=h, json={"url": receiver.url})
    base = f"/api/v4/groups/{top['id']}/hooks/{hook.json()['id']}/test"
    empty = factory.client.post(f"{base}/issues_events", headers=h)
    assert (empty.status_code, empty.json()) == (
        422,
        {"message": "Ensure the group has a project with issues."},
    )
    issue = factory.issue(factory.project("deep", group=sub), "in sub")
    no_notes = factory.client.post(f"{base}/note_events", headers=h)
    assert (no_notes.status_code, no_notes.json()) == (
        422,
        {"message": "Ensure the group has a project with notes."},
    )
    tested = factory.client.post(f"{base}/issues_events", headers=h)
    assert (tested.status_code, tested.json()) == (201, {"message": "201 Created"})
    [request] = receiver.wait_for(1)
    assert request.header("X-Gitlab-Event") == "Issue Hook"
    assert request.json["object_attributes"]["id"] == issue["id"]
    assert request.json["project"]["path_with_namespace"] == "top/sub/deep"


def test_silent_change_reaches_hooks_marked_silent(
    factory: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A SourceCraft change with silent=true still reaches webhooks, marked "silent": true."""
    group = factory.group("org")
    project = factory.project("repo", group=group)
    add_hook(factory, project, receiver.url)
    response = factory.client.post(
        "/repos/org/repo/issues?silent=true", headers=factory.admin.bearer, json={"title": "quiet"}
    )
    assert response.status_code == 201, response.text
    factory.issue(project, "loud")
    deliverer.until_idle()
    bodies = {r.json["object_attributes"]["title"]: r.json for r in receiver.wait_for(2)}
    assert bodies["quiet"]["silent"] is True
    assert "silent" not in bodies["loud"]


def test_hooks_only_hear_of_later_changes(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """Events older than a hook are not sent to it."""
    project = factory.project("p1")
    factory.issue(project, "old")
    deliverer.until_idle()
    add_hook(factory, project, receiver.url)
    factory.issue(project, "new")
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.json["object_attributes"]["title"] == "new"


def test_a_link_names_the_other_issue_only_where_the_hooks_audience_may_read_it(
    factory: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A project hook hears of links to issues of its own project (confidential ones too) and to
    public or internal projects' open issues by name; a link to a private project's issue, or to
    a confidential issue elsewhere, keeps its id and type but not which issue is at the other end."""
    here = factory.project("here")
    public = factory.project("public", visibility="public")
    private = factory.project("private")
    a = factory.issue(here, "a")
    targets = {
        "same project, confidential": (factory.issue(here, "c", confidential=True), True),
        "public project": (factory.issue(public, "p"), True),
        "public project, confidential": (factory.issue(public, "pc", confidential=True), False),
        "private project": (factory.issue(private, "x"), False),
    }
    add_hook(factory, here, receiver.url)
    for target, _ in targets.values():
        factory.link(a, target, "relates_to")
    deliverer.until_idle()
    bodies = [
        r.json
        for r in receiver.wait_for(len(targets))  # c is confidential: this hook did not ask for it
        if r.json["object_attributes"]["iid"] == a["iid"]
    ]
    assert len(bodies) == len(targets)
    for (name, (target, named)), body in zip(targets.items(), bodies, strict=True):
        [entry] = body["changes"]["links"]["current"]
        assert entry["link_type"] == "relates_to", name
        expected = (target["id"], target["iid"], target["project_id"]) if named else (None, None, None)
        assert (entry["issue_id"], entry["issue_iid"], entry["project_id"]) == expected, name


def test_a_hook_test_samples_a_confidential_issue_only_for_confidential_triggers(
    factory: Any, receiver: Receiver
) -> None:
    """issues_events and note_events never sample a confidential issue or a note on one (the hook
    may not have asked for confidential events); the confidential triggers may."""
    project = factory.project("secrets")
    h = factory.admin.headers
    hook = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks", headers=h, json={"url": receiver.url}
    )
    base = f"/api/v4/projects/{project['id']}/hooks/{hook.json()['id']}/test"
    secret = factory.client.post(
        f"/api/v4/projects/{project['id']}/issues", headers=h, json={"title": "secret", "confidential": True}
    ).json()
    note_url = f"/api/v4/projects/{project['id']}/issues/{secret['iid']}/notes"
    assert factory.client.post(note_url, headers=h, json={"body": "hush"}).status_code == 201
    for trigger, what in (("issues_events", "issues"), ("note_events", "notes")):
        refused = factory.client.post(f"{base}/{trigger}", headers=h)
        assert (refused.status_code, refused.json()) == (422, {"message": f"Ensure the project has {what}."})
    for trigger in ("confidential_issues_events", "confidential_note_events"):
        assert factory.client.post(f"{base}/{trigger}", headers=h).status_code == 201
    confidential = receiver.wait_for(2)
    assert {r.header("X-Gitlab-Event") for r in confidential} == {
        "Confidential Issue Hook",
        "Confidential Note Hook",
    }

    public = factory.issue(project, "public")
    tested = factory.client.post(f"{base}/issues_events", headers=h)
    assert (tested.status_code, tested.json()) == (201, {"message": "201 Created"})
    request = receiver.wait_for(3)[2]
    assert request.header("X-Gitlab-Event") == "Issue Hook"
    assert request.json["object_attributes"]["id"] == public["id"]
