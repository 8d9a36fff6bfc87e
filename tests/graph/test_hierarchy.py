"""Ancestors, descendant trees with roll-ups, and duplicate chains."""

from __future__ import annotations

from issuegraph.api.native.schemas import AncestorsAnswer, CanonicalAnswer, TreeAnswer
from tests.graph.conftest import refs


def test_ancestors_from_parent_to_root(graph):
    """root > a > b > x: the ancestors of x are b, a, root in that order."""
    p = graph.project("tree")
    root, a, b, x = graph.issues(p, "root", "a", "b", "x")
    graph.chain([root, a, b, x], "parent_of")
    answer = AncestorsAnswer.model_validate(graph.get(graph.url(x, "/ancestors"))).model_dump()
    assert refs(answer["ancestors"]) == [b.reference, a.reference, root.reference]
    assert answer["root"]["reference"] == root.reference  # named by the response model
    top = AncestorsAnswer.model_validate(graph.get(graph.url(root, "/ancestors"))).model_dump()
    assert top["ancestors"] == [] and top["root"] is None


def test_hidden_ancestors_placeholder_between_and_omitted_above(graph):
    """A hidden parent between readable ones is a placeholder; a hidden root is left out."""
    g = graph.group("anc")
    p, secret = graph.project("p", group=g), graph.project("s", group=g)
    guest = graph.factory.user("aguest")
    graph.factory.member(p, guest, 10)
    top = graph.issue(secret, "top secret")
    mid = graph.issue(p, "mid")
    hid = graph.issue(secret, "hidden parent")
    x = graph.issue(p, "x")
    graph.chain([top, mid, hid, x], "parent_of")
    answer = graph.get(graph.url(x, "/ancestors"), who=guest)
    assert refs(answer["ancestors"]) == ["?", mid.reference]
    assert answer["root"]["reference"] == mid.reference  # the topmost readable one


def test_tree_rollups(graph):
    """Every node of the tree carries totals, closed, percent done and weights of its descendants."""
    p = graph.project("epic")
    root = graph.issue(p, "epic", weight=100)
    a, b = graph.issues(p, "a", "b", weight=3)
    a1, a2 = graph.issues(p, "a1", "a2", weight=2)
    a3 = graph.issue(p, "a3")  # no weight
    graph.set_state(a1, "closed")
    graph.set_state(b, "closed")
    graph.links(
        (root, a, "parent_of"), (root, b, "parent_of"),
        (a, a1, "parent_of"), (a, a2, "parent_of"), (a, a3, "parent_of"),
    )  # fmt: skip
    answer = TreeAnswer.model_validate(graph.get(graph.url(root, "/tree"))).model_dump()
    top = answer["root"]
    assert top["issue"]["reference"] == root.reference
    assert top["rollup"] == {
        "descendants_total": 5,
        "descendants_closed": 2,
        "descendants_open": 3,
        "percent_done": 40.0,
        "weight_total": 3 + 3 + 2 + 2,
        "weight_closed": 3 + 2,
    }
    assert answer["height"] == 2
    node_a, node_b = top["children"]
    assert [c["issue"]["reference"] for c in node_a["children"]] == [a1.reference, a2.reference, a3.reference]
    assert node_a["rollup"]["percent_done"] == 33.3 and node_a["rollup"]["weight_total"] == 4
    assert node_b["rollup"]["descendants_total"] == 0 and node_b["rollup"]["percent_done"] is None
    shallow = graph.get(graph.url(root, "/tree"), depth=1)
    assert shallow["height"] == 1 and shallow["root"]["rollup"] == top["rollup"]


def test_tree_depth_limits_levels_not_rollups(graph):
    """tree?depth=1 shows one level, but each node's roll-ups still count all readable descendants."""
    p = graph.project("deep")
    root, a = graph.issues(p, "root", "a")
    a1, a2 = graph.issues(p, "a1", "a2", weight=4)
    a1x = graph.issue(p, "a1x", weight=1)
    graph.set_state(a1, "closed")
    graph.set_state(a1x, "closed")
    graph.links((root, a, "parent_of"), (a, a1, "parent_of"), (a, a2, "parent_of"), (a1, a1x, "parent_of"))
    shallow = TreeAnswer.model_validate(graph.get(graph.url(root, "/tree"), depth=1)).model_dump()
    (node_a,) = shallow["root"]["children"]
    assert shallow["height"] == 1 and node_a["children"] == []
    assert node_a["rollup"] == {
        "descendants_total": 3,
        "descendants_closed": 2,
        "descendants_open": 1,
        "percent_done": 66.7,
        "weight_total": 9,
        "weight_closed": 5,
    }
    assert shallow["root"]["rollup"]["descendants_total"] == 4
    two = graph.get(graph.url(root, "/tree"), depth=2)
    assert two["height"] == 2 and [c["children"] for c in two["root"]["children"][0]["children"]] == [[], []]
    assert two["root"]["children"][0]["children"][0]["rollup"]["descendants_closed"] == 1


def test_tree_hides_unreadable_issues_and_their_weights(graph):
    """A hidden leaf is omitted; a hidden node above readable ones is a placeholder; roll-ups skip both."""
    p = graph.project("conf-tree")
    guest = graph.factory.user("tguest")
    graph.factory.member(p, guest, 10)
    root = graph.issue(p, "root")
    leaf = graph.issue(p, "secret leaf", confidential=True, weight=50)
    mid = graph.issue(p, "secret mid", confidential=True, weight=50)
    seen = graph.issue(p, "seen", weight=1)
    graph.links((root, leaf, "parent_of"), (root, mid, "parent_of"), (mid, seen, "parent_of"))
    tree = graph.get(graph.url(root, "/tree"), who=guest)["root"]
    assert tree["rollup"]["descendants_total"] == 1 and tree["rollup"]["weight_total"] == 1
    (only,) = tree["children"]
    assert only["issue"] == {"hidden": True}
    assert only["children"][0]["issue"]["reference"] == seen.reference
    assert "secret" not in str(tree)
    full = graph.get(graph.url(root, "/tree"))["root"]
    assert full["rollup"]["descendants_total"] == 3 and full["rollup"]["weight_total"] == 101


def test_canonical_follows_the_duplicate_chain(graph):
    """a duplicates b duplicates c: the canonical issue of a is c, with the chain."""
    p = graph.project("dups")
    a, b, c = graph.issues(p, "a", "b", "c")
    graph.chain([a, b, c], "duplicates")
    answer = CanonicalAnswer.model_validate(graph.get(graph.url(a, "/canonical"))).model_dump()
    assert answer["canonical"]["reference"] == c.reference
    assert refs(answer["chain"]) == [a.reference, b.reference, c.reference]
    assert answer["is_duplicate"] is True
    own = graph.get(graph.url(c, "/canonical"))
    assert own["canonical"]["reference"] == c.reference and own["is_duplicate"] is False
    assert refs(own["chain"]) == [c.reference]


def test_hidden_canonical_is_null(graph):
    """When the end of the duplicate chain is unreadable, canonical is null and the chain stops before it."""
    g = graph.group("dg")
    p, secret = graph.project("p", group=g), graph.project("s", group=g)
    guest = graph.factory.user("dguest")
    graph.factory.member(p, guest, 10)
    a, b = graph.issues(p, "a", "b")
    h = graph.issue(secret, "h")
    graph.chain([a, b, h], "duplicates")
    answer = graph.get(graph.url(a, "/canonical"), who=guest)
    assert answer["canonical"] is None and refs(answer["chain"]) == [a.reference, b.reference]
    graph.link(h, graph.issue(p, "end"), "duplicates")
    answer = graph.get(graph.url(a, "/canonical"), who=guest)
    assert refs(answer["chain"]) == [a.reference, b.reference, "?", f"{p['path_with_namespace']}#3"]
