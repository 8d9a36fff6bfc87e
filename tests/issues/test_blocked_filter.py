"""`blocked=true|false` on GitLab issue lists and `blocking_issues_count`."""

from __future__ import annotations


def test_blocked_filter_and_blocking_count(client, factory):
    """Only open blockers block; blocking_issues_count counts open blocked issues."""
    project = factory.project("p")
    a, b, c, d = (factory.issue(project, t) for t in "abcd")
    factory.link(a, b, "blocks")  # b blocked by open a
    factory.link(c, d, "blocks")
    client.put(
        f"/api/v4/projects/{project['id']}/issues/{c['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )  # d's only blocker is closed
    url = f"/api/v4/projects/{project['id']}/issues"
    blocked = client.get(
        url, headers=factory.admin.headers, params={"blocked": "true", "state": "opened"}
    ).json()
    assert [i["iid"] for i in blocked] == [b["iid"]]
    ready = client.get(
        url, headers=factory.admin.headers, params={"blocked": "false", "state": "opened"}
    ).json()
    assert sorted(i["iid"] for i in ready) == sorted([a["iid"], d["iid"]])
    counts = {
        i["iid"]: i["blocking_issues_count"] for i in client.get(url, headers=factory.admin.headers).json()
    }
    assert counts[a["iid"]] == 1 and counts[c["iid"]] == 1 and counts[b["iid"]] == 0
    client.put(
        f"/api/v4/projects/{project['id']}/issues/{b['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )
    counts = {
        i["iid"]: i["blocking_issues_count"] for i in client.get(url, headers=factory.admin.headers).json()
    }
    assert counts[a["iid"]] == 0  # the blocked issue is closed now
