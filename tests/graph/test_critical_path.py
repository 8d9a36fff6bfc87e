"""Longest chain of open blocking links in a project, by count and by weight."""

from __future__ import annotations

import gc

from issuegraph.api.native.schemas import CriticalPath
from issuegraph.graph.service import gc_paused, longest_chain
from tests.graph.conftest import refs


def test_longest_chain_by_count_and_by_weight(graph):
    """Four light issues win by count; two heavy ones win by weight."""
    p = graph.project("cp")
    a, b, c, d = graph.issues(p, "a", "b", "c", "d", weight=1)
    e, f = graph.issues(p, "e", "f", weight=10)
    graph.chain([a, b, c, d])
    graph.chain([e, f])
    by_count = CriticalPath.model_validate(graph.get(graph.url(p, "/critical-path"))).model_dump()
    assert refs(by_count["chain"]) == [a.reference, b.reference, c.reference, d.reference]
    assert by_count["length"] == 4 and by_count["total_weight"] == 4
    by_weight = graph.get(graph.url(p, "/critical-path"), by="weight")
    assert refs(by_weight["chain"]) == [e.reference, f.reference] and by_weight["total_weight"] == 20


def test_closed_issues_and_other_projects_break_the_chain(graph):
    """A closed issue or an issue of another project is not part of a project's critical path."""
    p, other = graph.project("cp2"), graph.project("other")
    a, b, c, d, e = graph.issues(p, "a", "b", "c", "d", "e")
    outside = graph.issue(other, "outside")
    graph.chain([a, b, c])
    graph.set_state(b, "closed")
    graph.chain([d, outside, e])
    answer = graph.get(graph.url(p, "/critical-path"))
    assert answer["length"] == 1  # every open issue of p stands alone
    graph.link(d, e)
    assert refs(graph.get(graph.url(p, "/critical-path"))["chain"]) == [d.reference, e.reference]


def test_hidden_issues_are_steps_never_ends(graph):
    """A confidential issue can sit inside the chain (placeholder, weight 0) but never start or end it."""
    p = graph.project("cp3")
    guest = graph.factory.user("cpguest")
    graph.factory.member(p, guest, 10)
    h1 = graph.issue(p, "h1", confidential=True, weight=7)
    a = graph.issue(p, "a", weight=1)
    h2 = graph.issue(p, "h2", confidential=True, weight=7)
    b = graph.issue(p, "b", weight=1)
    h3 = graph.issue(p, "h3", confidential=True, weight=7)
    graph.chain([h1, a, h2, b, h3])
    answer = graph.get(graph.url(p, "/critical-path"), who=guest)
    assert refs(answer["chain"]) == [a.reference, "?", b.reference]
    assert answer["length"] == 3
    by_weight = graph.get(graph.url(p, "/critical-path"), who=guest, by="weight")
    assert by_weight["total_weight"] == 2
    admin = graph.get(graph.url(p, "/critical-path"))
    assert admin["length"] == 5


def test_empty_project_has_an_empty_chain(graph):
    """A project without open issues has an empty critical path."""
    p = graph.project("empty")
    answer = graph.get(graph.url(p, "/critical-path"))
    assert answer["chain"] == [] and answer["length"] == 0


def test_longest_chain_on_a_diamond_with_a_cycle_guard():
    """The DP picks the longer branch of a diamond and never loops on a (forbidden) cycle."""
    rows = [(i, 1, True) for i in range(1, 8)]
    edges = [(1, 2), (2, 4), (1, 3), (3, 5), (5, 4), (6, 7), (7, 6)]
    assert longest_chain(rows, edges, by="count") == [1, 3, 5, 4]


def test_gc_pause_nests_and_restores_the_collector():
    """gc_paused keeps the collector off while any user is inside, and restores its prior state."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
