"""Ready-to-work and blocked pages of projects and groups, and the reusable SQL helpers."""

from __future__ import annotations

from sqlalchemy import select

from issuegraph.db.models import Issue
from issuegraph.graph import repository as repo
from tests.graph.conftest import refs


def _refs(page):
    return [
        item["reference"] if "reference" in item else item["issue"]["reference"] for item in page["items"]
    ]


def test_ready_and_blocked_split_open_issues(graph):
    """Open issues with no open blocker are ready; the others are blocked, with their open blockers."""
    p = graph.project("work")
    blocker, blocked, freed, free, closed_blocker = graph.issues(
        p, "blocker", "blocked", "freed", "free", "cb"
    )
    done = graph.issue(p, "done", closed=True)
    graph.set_state(closed_blocker, "closed")
    graph.links((blocker, blocked, "blocks"), (closed_blocker, freed, "blocks"), (free, done, "related_to"))
    ready = graph.get(graph.url(p, "/ready"))
    assert _refs(ready) == [blocker.reference, freed.reference, free.reference]
    assert ready["next_cursor"] is None and ready["scope"]["kind"] == "project"
    page = graph.get(graph.url(p, "/blocked"))
    assert _refs(page) == [blocked.reference]
    assert refs(page["items"][0]["open_blockers"]) == [blocker.reference]


def test_hidden_open_blocker_still_blocks_and_is_a_placeholder(graph):
    """An open blocker the caller cannot read keeps the issue out of ready and shows as hidden."""
    g = graph.group("hb")
    p, secret = graph.project("p", group=g), graph.project("secret", group=g)
    guest = graph.factory.user("hbguest")
    graph.factory.member(p, guest, 10)
    x, y = graph.issues(p, "x", "y")
    h = graph.issue(secret, "h")
    c = graph.issue(p, "confidential", confidential=True)
    graph.links((h, x, "blocks"), (c, y, "blocks"))
    assert _refs(graph.get(graph.url(p, "/ready"), who=guest)) == []
    blocked = graph.get(graph.url(p, "/blocked"), who=guest)
    assert _refs(blocked) == [x.reference, y.reference]
    assert [item["open_blockers"] for item in blocked["items"]] == [[{"hidden": True}], [{"hidden": True}]]
    assert _refs(graph.get(graph.url(p, "/ready"))) == [c.reference]  # the admin reads the confidential one


def test_keyset_pages_walk_every_ready_issue_once(graph):
    """per_page=3 over 8 ready issues gives pages 3, 3, 2 and then no cursor."""
    p = graph.project("pages")
    issues = graph.issues(p, *(f"t{i}" for i in range(10)))
    graph.link(issues[0], issues[1])  # issues[1] is blocked; issues[0] is ready
    graph.set_state(issues[9], "closed")
    seen, cursor, sizes = [], None, []
    while True:
        params = {"per_page": 3} | ({"cursor": cursor} if cursor else {})
        page = graph.get(graph.url(p, "/ready"), **params)
        sizes.append(len(page["items"]))
        seen += _refs(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 2]
    assert seen == [i.reference for i in issues if i not in (issues[1], issues[9])]


def test_bad_cursor_and_per_page_are_refused(graph):
    """A forged cursor, a cursor of the other list, or per_page over 100 is a 400."""
    p = graph.project("cur")
    graph.issues(p, "a", "b")
    assert (
        graph.get(graph.url(p, "/ready"), expect=400, cursor="not-a-cursor")["error"]["code"]
        == "invalid_cursor"
    )
    graph.link(*graph.issues(p, "c", "d"))
    graph.link(*graph.issues(p, "e", "f"))
    blocked_cursor = graph.get(graph.url(p, "/blocked"), per_page=1)["next_cursor"]
    assert blocked_cursor
    assert (
        graph.get(graph.url(p, "/ready"), expect=400, cursor=blocked_cursor)["error"]["code"]
        == "invalid_cursor"
    )
    assert graph.get(graph.url(p, "/ready"), expect=400, per_page=101)["error"]["code"] == "invalid_parameter"


def test_cursor_is_bound_to_its_list(graph):
    """A ready cursor of one project (or of a group) is 400 invalid_cursor on another list."""
    g = graph.group("bound")
    one, two = graph.project("one", group=g), graph.project("two", group=g)
    graph.issues(one, "a", "b", "c")
    graph.issues(two, "d", "e", "f")
    cursor = graph.get(graph.url(one, "/ready"), per_page=1)["next_cursor"]
    assert graph.get(graph.url(one, "/ready"), per_page=1, cursor=cursor)["items"]
    refused = graph.get(graph.url(two, "/ready"), expect=400, per_page=1, cursor=cursor)
    assert refused["error"]["code"] == "invalid_cursor"
    group_cursor = graph.get(f"/api/graph/v1/groups/{g['id']}/ready", per_page=1)["next_cursor"]
    refused = graph.get(graph.url(one, "/ready"), expect=400, per_page=1, cursor=group_cursor)
    assert refused["error"]["code"] == "invalid_cursor"


def test_group_pages_cover_subgroups_and_skip_unreadable_projects(graph):
    """A group's ready list spans its projects and subgroups' projects the caller can read."""
    g = graph.group("grp")
    sub = graph.factory.client.post(
        "/api/v4/groups",
        headers=graph.admin.headers,
        json={"name": "Sub", "path": "sub", "parent_id": g["id"]},
    ).json()
    p1 = graph.project("one", group=g)
    p2 = graph.project("two", group=sub)
    hidden = graph.project("hidden", group=g)
    other = graph.project("elsewhere")
    member = graph.factory.user("gmember")
    graph.factory.member(p1, member, 10)
    graph.factory.member(p2, member, 10)
    a = graph.issue(p1, "a")
    b = graph.issue(p2, "b")
    graph.issue(hidden, "h")
    o = graph.issue(other, "o")
    graph.link(o, b)  # a blocker outside the group still blocks
    ready = graph.get(f"/api/graph/v1/groups/{g['id']}/ready", who=member)
    assert _refs(ready) == [a.reference]
    assert ready["scope"] == {"kind": "group", "id": g["id"], "full_path": "grp"}
    blocked = graph.get("/api/graph/v1/groups/grp/blocked", who=member)
    assert _refs(blocked) == [b.reference] and blocked["items"][0]["open_blockers"] == [{"hidden": True}]
    assert _refs(graph.get("/api/graph/v1/groups/grp/ready")) == [a.reference, "grp/hidden#1"]  # admin
    stranger = graph.factory.user("gstranger")
    assert (
        graph.get("/api/graph/v1/groups/grp/ready", who=stranger, expect=404)["error"]["code"]
        == "group_not_found"
    )


def test_sql_helpers_blocked_clause_and_open_blocked_count(graph):
    """blocked_clause / not_blocked_clause / open_blocked_count_subquery agree with the graph."""
    p = graph.project("helpers")
    a, b, c, d = graph.issues(p, "a", "b", "c", "d")
    graph.links((a, b, "blocks"), (a, c, "blocks"), (a, d, "blocks"), (b, c, "blocks"))
    graph.set_state(d, "closed")
    with graph.database.session(write=False) as session:
        blocked = set(
            session.scalars(select(Issue.iid).where(Issue.project_id == p["id"], repo.blocked_clause()))
        )
        free = set(
            session.scalars(select(Issue.iid).where(Issue.project_id == p["id"], repo.not_blocked_clause()))
        )
        counts = dict(
            session.execute(
                select(Issue.iid, repo.open_blocked_count_subquery().label("n")).where(
                    Issue.project_id == p["id"]
                )
            ).all()
        )
    assert blocked == {b.iid, c.iid, d.iid} and free == {a.iid}
    assert counts == {a.iid: 2, b.iid: 1, c.iid: 0, d.iid: 0}
    graph.set_state(a, "closed")
    with graph.database.session(write=False) as session:
        blocked = set(
            session.scalars(select(Issue.iid).where(Issue.project_id == p["id"], repo.blocked_clause()))
        )
    assert blocked == {c.iid}
