"""Native webhooks under /api/graph/v1: scopes, event types, the graph's own events, signatures."""

from __future__ import annotations

from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from tests.events.conftest import Deliverer
from tests.events.receiver import Receiver

ALL_TYPES = [
    "issue.created",
    "issue.updated",
    "issue.closed",
    "issue.reopened",
    "issue.deleted",
    "issue_link.created",
    "issue_link.deleted",
    "note.created",
    "issue.blocked",
    "issue.unblocked",
    "issue.children_done",
]
G = "/api/graph/v1"


def _subscribe(
    factory: Any, path: str, url: str, types: list[str], who: Any = None, **extra: Any
) -> dict[str, Any]:
    response = factory.client.post(
        f"{G}{path}/webhooks",
        headers=(who or factory.admin).headers,
        json={"url": url, "event_types": types, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _verified(receiver: Receiver, secret: str, count: int) -> list[dict[str, Any]]:
    """Every request verified by the standardwebhooks package, as a receiver would."""
    verifier = Verifier(secret)
    out = []
    for req in receiver.wait_for(count):
        headers = {k.lower(): v for k, v in req.headers.items()}
        out.append(verifier.verify(req.body, headers))
    return out


def test_ladder(factory: Any) -> None:
    """Anonymous 401, developer 403, stranger 404, unknown event type 400, instance needs admin."""
    project = factory.project("p1")
    dev, stranger = factory.user(), factory.user()
    factory.member(project, dev, 30)
    url = f"{G}/projects/{project['id']}/webhooks"
    body = {"url": "http://93.184.216.34/h", "event_types": ["issue.created"]}
    assert factory.client.post(url, json=body).status_code == 401
    assert factory.client.post(url, headers=dev.headers, json=body).status_code == 403
    assert factory.client.post(url, headers=stranger.headers, json=body).status_code == 404
    bad = factory.client.post(
        url, headers=factory.admin.headers, json={**body, "event_types": ["issue.exploded"]}
    )
    assert bad.status_code == 400 and "error" in bad.json()
    local = factory.client.post(
        url, headers=factory.admin.headers, json={**body, "url": "http://169.254.169.254/"}
    )
    assert local.status_code == 400 and local.json()["error"]["code"] == "invalid_url"
    assert factory.client.post(f"{G}/webhooks", headers=dev.headers, json=body).status_code == 403
    created = factory.client.post(url, headers=factory.admin.headers, json=body)
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    got = factory.client.get(f"{url}/{created.json()['id']}", headers=factory.admin.headers).json()
    assert "secret" not in got and got["scope"] == {"kind": "project", "id": project["id"]}


def test_every_event_type_signed(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """Each native event type arrives, verified by `standardwebhooks` with the subscription's secret."""
    project = factory.project("p1")
    hook = _subscribe(factory, f"/projects/{project['id']}", receiver.url, ALL_TYPES)
    h = factory.admin.headers
    parent = factory.issue(project, "parent")
    child = factory.issue(project, "child")
    blocker = factory.issue(project, "blocker")
    factory.link(parent, child, "parent_of")
    link = factory.link(blocker, child, "blocks")  # child: first open blocker -> blocked
    base = f"/api/v4/projects/{project['id']}/issues"
    factory.client.post(f"{base}/{child['iid']}/notes", headers=h, json={"body": "hi"})
    factory.client.put(f"{base}/{blocker['iid']}", headers=h, json={"state_event": "close"})  # unblocked
    factory.client.put(f"{base}/{blocker['iid']}", headers=h, json={"state_event": "reopen"})  # blocked
    factory.client.delete(f"{base}/{blocker['iid']}/links/{link['id']}", headers=h)  # unblocked
    factory.client.put(f"{base}/{child['iid']}", headers=h, json={"title": "renamed"})
    factory.client.put(f"{base}/{child['iid']}", headers=h, json={"state_event": "close"})  # children_done
    assert factory.client.delete(f"{base}/{blocker['iid']}", headers=h).status_code == 204
    deliverer.until_idle()
    events = _verified(receiver, hook["secret"], 17)
    seen = [(e["type"], e["data"]["issue"]["id"]) for e in events]
    assert {t for t, _ in seen} == set(ALL_TYPES)
    assert seen.count(("issue.blocked", child["id"])) == 2
    assert seen.count(("issue.unblocked", child["id"])) == 2
    assert seen.count(("issue.children_done", parent["id"])) == 1
    assert ("issue.deleted", blocker["id"]) in seen
    # one issue's events in commit order
    assert [t for t, i in seen if i == blocker["id"]] == [
        "issue.created",
        "issue_link.created",
        "issue.closed",
        "issue.reopened",
        "issue_link.deleted",
        "issue.deleted",
    ]
    link_event = next(
        e for e in events if e["type"] == "issue_link.created" and e["data"]["link"]["link_type"] == "blocks"
    )
    assert link_event["data"]["link"]["source_id"] == blocker["id"]
    renamed = next(
        e for e in events if e["type"] == "issue.updated" and "title" in e["data"].get("changes", {})
    )
    assert renamed["data"]["changes"]["title"] == {"previous": "child", "current": "renamed"}
    assert all(e["silent"] is False for e in events)


def test_forged_signature_fails(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A receiver holding another secret rejects the delivery."""
    project = factory.project("p1")
    _subscribe(factory, f"/projects/{project['id']}", receiver.url, ["issue.created"])
    factory.issue(project, "x")
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    other = "whsec_" + "B" * 43 + "="
    with pytest.raises(WebhookVerificationError):
        Verifier(other).verify(req.body, {k.lower(): v for k, v in req.headers.items()})


def test_secret_rotation_two_valid(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """During a rotation both secrets verify; after expiring the previous one only the new does."""
    project = factory.project("p1")
    hook = _subscribe(factory, f"/projects/{project['id']}", receiver.url, ["issue.created"])
    url = f"{G}/projects/{project['id']}/webhooks/{hook['id']}"
    rotated = factory.client.post(f"{url}/rotate-secret", headers=factory.admin.headers)
    assert rotated.status_code == 200 and rotated.json()["secrets"] == 2
    new = rotated.json()["secret"]
    factory.issue(project, "during")
    deliverer.until_idle()
    assert _verified(receiver, hook["secret"], 1)[0]["data"]["issue"]["title"] == "during"
    assert _verified(receiver, new, 1)[0]["data"]["issue"]["title"] == "during"
    assert factory.client.delete(f"{url}/previous-secret", headers=factory.admin.headers).status_code == 204
    factory.issue(project, "after")
    deliverer.until_idle()
    last = receiver.wait_for(2)[1]
    headers = {k.lower(): v for k, v in last.headers.items()}
    assert Verifier(new).verify(last.body, headers)["data"]["issue"]["title"] == "after"
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(last.body, headers)


def test_skip_silent_and_silent_flag(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A silent change is marked silent; a subscription with skip_silent does not get it."""
    group = factory.group("org")
    project = factory.project("repo", group=group)
    _subscribe(factory, f"/projects/{project['id']}", receiver.url + "?all", ["issue.created"])
    _subscribe(
        factory, f"/projects/{project['id']}", receiver.url + "?loud", ["issue.created"], skip_silent=True
    )
    response = factory.client.post(
        "/repos/org/repo/issues?silent=true", headers=factory.admin.bearer, json={"title": "q"}
    )
    assert response.status_code == 201
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.path.endswith("?all") and req.json["silent"] is True


def test_group_and_instance_scopes(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A group subscription covers its projects; an instance one (admin) covers every project."""
    group = factory.group("g")
    inside = factory.project("in", group=group)
    outside = factory.project("out")
    _subscribe(factory, f"/groups/{group['id']}", receiver.url + "?group", ["issue.created"])
    _subscribe(factory, "", receiver.url + "?instance", ["issue.created"])
    factory.issue(inside, "a")
    factory.issue(outside, "b")
    deliverer.until_idle()
    got = sorted((r.path.split("?")[1], r.json["data"]["issue"]["title"]) for r in receiver.wait_for(3))
    assert got == [("group", "a"), ("instance", "a"), ("instance", "b")]


def test_patch_list_delete_and_deliveries(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """PATCH changes types, the log lists attempts, redeliver resends, DELETE removes."""
    project = factory.project("p1")
    hook = _subscribe(factory, f"/projects/{project['id']}", receiver.url, ["issue.created"])
    url = f"{G}/projects/{project['id']}/webhooks/{hook['id']}"
    h = factory.admin.headers
    patched = factory.client.patch(url, headers=h, json={"event_types": ["issue.created", "note.created"]})
    assert patched.json()["event_types"] == ["issue.created", "note.created"]
    assert factory.client.get(f"{G}/projects/{project['id']}/webhooks", headers=h).json()["total"] == 1
    factory.issue(project, "x")
    deliverer.until_idle()
    [log] = factory.client.get(f"{url}/deliveries", headers=h).json()
    assert log["response_status"] == 200 and log["event_type"] == "issue.created"
    again = factory.client.post(f"{url}/deliveries/{log['id']}/redeliver", headers=h)
    assert again.json()["response_status"] == 200
    first, second = receiver.wait_for(2)
    assert first.header("webhook-id") == second.header("webhook-id") and first.body == second.body
    assert factory.client.delete(url, headers=h).status_code == 204
    assert factory.client.get(url, headers=h).status_code == 404


def test_graph_events_name_a_private_projects_issue_to_no_other_projects_hook(
    factory: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    """A blocker in a private project: the subscription of the blocked issue's project hears of
    the link and of `issue.blocked`, without the blocker's id; a public blocker is named."""
    here = factory.project("here", visibility="public")
    private = factory.project("private")
    public = factory.project("public", visibility="public")
    blocked, hidden, shown = factory.issue(here, "b"), factory.issue(private, "x"), factory.issue(public, "y")
    hook = _subscribe(
        factory, f"/projects/{here['id']}", receiver.url, ["issue_link.created", "issue.blocked"]
    )
    factory.link(hidden, blocked, "blocks")
    deliverer.until_idle()
    link_event, blocked_event = _verified(receiver, hook["secret"], 2)
    assert link_event["type"] == "issue_link.created" and blocked_event["type"] == "issue.blocked"
    link = link_event["data"]["link"]
    assert (link["source_id"], link["target_id"]) == (None, blocked["id"])
    assert blocked_event["data"]["cause"]["blocker_id"] is None
    factory.link(shown, blocked, "relates_to")
    deliverer.until_idle()
    [named] = _verified(receiver, hook["secret"], 3)[2:]
    assert {named["data"]["link"]["source_id"], named["data"]["link"]["target_id"]} == {
        shown["id"],
        blocked["id"],
    }


def test_redeliver_limit(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """Redeliveries share GitLab's resend limit (5 a minute per user and project): the 6th is 429
    in the graph API's error shape, with Retry-After."""
    project = factory.project("p1")
    hook = _subscribe(factory, f"/projects/{project['id']}", receiver.url, ["issue.created"])
    url = f"{G}/projects/{project['id']}/webhooks/{hook['id']}"
    h = factory.admin.headers
    factory.issue(project, "x")
    deliverer.until_idle()
    [log] = factory.client.get(f"{url}/deliveries", headers=h).json()
    redeliver = f"{url}/deliveries/{log['id']}/redeliver"
    assert [factory.client.post(redeliver, headers=h).status_code for _ in range(5)] == [200] * 5
    limited = factory.client.post(redeliver, headers=h)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert limited.json()["error"]["code"] == "rate_limited"


def test_children_done_names_a_child_only_where_the_hooks_audience_may_read_it(
    factory: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    """The last open sub-issue, in a private project, closes: the parent's project hears
    `issue.children_done` without the child's id."""
    here = factory.project("here", visibility="public")
    private = factory.project("private")
    parent, child = factory.issue(here, "parent"), factory.issue(private, "child")
    factory.link(parent, child, "parent_of")
    hook = _subscribe(factory, f"/projects/{here['id']}", receiver.url, ["issue.children_done"])
    closed = factory.client.put(
        f"/api/v4/projects/{private['id']}/issues/{child['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )
    assert closed.status_code == 200, closed.text
    deliverer.until_idle()
    [done] = _verified(receiver, hook["secret"], 1)
    assert done["type"] == "issue.children_done" and done["data"]["issue"]["id"] == parent["id"]
    assert done["data"]["cause"]["child_id"] is None
