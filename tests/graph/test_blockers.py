"""Transitive blockers and blocked issues, with paths, depth limits and permissions."""

from __future__ import annotations

from tests.graph.conftest import refs


def _by_ref(answer):
    return {item["issue"]["reference"]: item for item in answer["items"]}


def test_chain_gives_every_blocker_with_its_path(graph):
    """a blocks b blocks c blocks x: all three are blockers of x, each with the path to x."""
    p = graph.project("chain")
    a, b, c, x = graph.issues(p, "a", "b", "c", "x")
    graph.chain([a, b, c, x])
    answer = graph.get(graph.url(x, "/blockers"))
    assert [(i["issue"]["reference"], i["depth"]) for i in answer["items"]] == [
        (c.reference, 1),
        (b.reference, 2),
        (a.reference, 3),
    ]
    assert refs(_by_ref(answer)[a.reference]["path"]) == [a.reference, b.reference, c.reference, x.reference]
    assert answer["count"] == 3 and answer["truncated"] is False
    assert answer["issue"]["reference"] == x.reference


def test_blocking_is_the_other_direction(graph):
    """x blocks y blocks z: /blocking of x lists y and z, paths run from x."""
    p = graph.project("down")
    x, y, z = graph.issues(p, "x", "y", "z")
    graph.chain([x, y, z])
    answer = graph.get(graph.url(x, "/blocking"))
    assert refs(_by_ref(answer)[z.reference]["path"]) == [x.reference, y.reference, z.reference]
    assert answer["direction"] == "blocking"
    assert graph.get(graph.url(x, "/blockers"))["items"] == []


def test_diamond_reports_each_blocker_once_at_its_shortest_distance(graph):
    """A diamond lattice (many paths) yields each blocker once, at its shortest depth."""
    p = graph.project("diamond")
    top, l1, r1, l2, r2, x = graph.issues(p, "top", "l1", "r1", "l2", "r2", "x")
    graph.links(
        (top, l1, "blocks"), (top, r1, "blocks"),
        (l1, l2, "blocks"), (l1, r2, "blocks"), (r1, l2, "blocks"), (r1, r2, "blocks"),
        (l2, x, "blocks"), (r2, x, "blocks"),
        (top, x, "related_to"),
    )  # fmt: skip
    answer = graph.get(graph.url(x, "/blockers"))
    depths = {i["issue"]["reference"]: i["depth"] for i in answer["items"]}
    assert depths == {l2.reference: 1, r2.reference: 1, l1.reference: 2, r1.reference: 2, top.reference: 3}
    path = refs(_by_ref(answer)[top.reference]["path"])
    assert len(path) == 4 and path[0] == top.reference and path[-1] == x.reference


def test_skip_link_gives_the_shorter_distance(graph):
    """A blocker reachable at distances 1 and 3 is reported at 1 with the direct path."""
    p = graph.project("skip")
    a, b, c, x = graph.issues(p, "a", "b", "c", "x")
    graph.chain([a, b, c, x])
    graph.link(a, x)
    item = _by_ref(graph.get(graph.url(x, "/blockers")))[a.reference]
    assert item["depth"] == 1
    assert refs(item["path"]) == [a.reference, x.reference]


def test_depth_limit_on_a_long_chain(graph):
    """On a 60-issue chain the default depth is 10, at most 50, and 51 is refused."""
    p = graph.project("long")
    chain = graph.issues(p, *(f"n{i}" for i in range(60)))
    graph.chain(chain)
    last = chain[-1]
    default = graph.get(graph.url(last, "/blockers"))
    assert default["depth"] == 10 and default["count"] == 10
    assert default["items"][-1]["issue"]["reference"] == chain[-11].reference
    assert len(default["items"][-1]["path"]) == 11
    deepest = graph.get(graph.url(last, "/blockers"), depth=50)
    assert deepest["count"] == 50
    error = graph.get(graph.url(last, "/blockers"), expect=400, depth=51)
    assert error["error"]["code"] == "invalid_parameter"
    limited = graph.get(graph.url(last, "/blockers"), depth=50, limit=5)
    assert limited["count"] == 50 and limited["truncated"] is True and len(limited["items"]) == 5


def test_open_only_ignores_closed_blockers_and_what_is_behind_them(graph):
    """With open_only a closed blocker is neither a result nor a step; without it, both show."""
    p = graph.project("closed")
    a, b, c, x = graph.issues(p, "a", "b", "c", "x")
    graph.set_state(b, "closed")
    graph.chain([a, b, x])
    graph.link(c, x)
    everything = graph.get(graph.url(x, "/blockers"))
    assert {i["issue"]["reference"]: i["issue"]["state"] for i in everything["items"]} == {
        b.reference: "closed",
        c.reference: "opened",
        a.reference: "opened",
    }
    open_only = graph.get(graph.url(x, "/blockers"), open_only="true")
    assert [i["issue"]["reference"] for i in open_only["items"]] == [c.reference]
    assert open_only["open_only"] is True


def test_cross_project_blockers(graph):
    """A blocker in another readable project is found and named with its own project path."""
    g = graph.group("org")
    front, back = graph.project("front", group=g), graph.project("back", group=g)
    api = graph.issue(back, "api")
    db = graph.issue(back, "db")
    ui = graph.issue(front, "ui")
    graph.chain([db, api, ui])
    answer = graph.get(graph.url(ui, "/blockers"))
    assert refs(_by_ref(answer)[db.reference]["path"]) == ["org/back#2", "org/back#1", "org/front#1"]


def test_numeric_project_id_and_url_encoded_path_are_the_same(graph):
    """The project can be addressed by id or by its URL-encoded full path."""
    g = graph.group("team")
    p = graph.project("app", group=g)
    a, x = graph.issues(p, "a", "x")
    graph.link(a, x)
    by_path = graph.get(graph.url(x, "/blockers"))
    by_id = graph.get(graph.url(x, "/blockers", by_path=False))
    assert by_path == by_id
    assert graph.url(x, "/blockers").startswith("/api/graph/v1/projects/team%2Fapp/issues/")


def test_hidden_step_is_a_placeholder_and_never_a_result(graph):
    """A path through an issue the caller cannot read shows it as {"hidden": true} only."""
    g = graph.group("acme")
    public = graph.project("open", group=g)
    secret = graph.project("secret", group=g)
    guest = graph.factory.user("guest")
    graph.factory.member(public, guest, 10)
    a = graph.issue(public, "a")
    h = graph.issue(secret, "hidden step")
    x = graph.issue(public, "x")
    graph.chain([a, h, x])
    answer = graph.get(graph.url(x, "/blockers"), who=guest)
    assert [i["issue"]["reference"] for i in answer["items"]] == [a.reference]
    path = _by_ref(answer)[a.reference]["path"]
    assert path[1] == {"hidden": True}
    assert refs(path) == [a.reference, "?", x.reference]
    assert "secret" not in str(answer) and "hidden step" not in str(answer)
    admin = graph.get(graph.url(x, "/blockers"))
    assert refs(_by_ref(admin)[a.reference]["path"]) == [a.reference, h.reference, x.reference]


def test_confidential_issue_hidden_from_guest_but_not_from_its_author(graph):
    """A confidential blocker is hidden from a guest, shown to its author and to a planner."""
    p = graph.project("conf")
    guest, author, planner = graph.factory.user("g1"), graph.factory.user("au"), graph.factory.user("pl")
    graph.factory.member(p, guest, 10)
    graph.factory.member(p, author, 10)
    graph.factory.member(p, planner, 15)
    a = graph.issue(p, "a")
    secret = graph.issue(p, "secret", confidential=True, author_id=author.id)
    x = graph.issue(p, "x")
    graph.chain([a, secret, x])
    for who, seen in (
        (guest, [a.reference]),
        (author, [secret.reference, a.reference]),
        (planner, [secret.reference, a.reference]),
    ):
        answer = graph.get(graph.url(x, "/blockers"), who=who)
        assert [i["issue"]["reference"] for i in answer["items"]] == seen, who.username
    assignee = graph.factory.user("as")
    graph.factory.member(p, assignee, 10)
    graph.assign(secret, assignee.id)
    assert len(graph.get(graph.url(x, "/blockers"), who=assignee)["items"]) == 2


def test_visible_path_preferred_over_hidden_one_of_same_length(graph):
    """When two shortest paths exist, the one crossing no hidden issue is shown."""
    g = graph.group("pref")
    p, secret = graph.project("p", group=g), graph.project("s", group=g)
    guest = graph.factory.user("pguest")
    graph.factory.member(p, guest, 10)
    h = graph.issue(secret, "h")  # lowest id: a naive tie-break would pick it
    a, m, x = graph.issues(p, "a", "m", "x")
    graph.links((a, h, "blocks"), (a, m, "blocks"), (h, x, "blocks"), (m, x, "blocks"))
    item = _by_ref(graph.get(graph.url(x, "/blockers"), who=guest))[a.reference]
    assert refs(item["path"]) == [a.reference, m.reference, x.reference]


def test_unreadable_issue_is_not_found(graph):
    """Asking about an issue the caller cannot read is a 404 in the native error shape."""
    p = graph.project("private")
    x = graph.issue(p, "x")
    stranger = graph.factory.user("stranger")
    body = graph.get(graph.url(x, "/blockers"), who=stranger, expect=404)
    assert body["error"]["code"] == "project_not_found"
    assert set(body["error"]) == {"code", "message", "details"}
    missing = graph.get(graph.url(p, "/issues/999/blockers"), expect=404)
    assert missing["error"]["code"] == "issue_not_found"
