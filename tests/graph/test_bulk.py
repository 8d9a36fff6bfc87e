"""Bulk link creates and deletes: all or nothing, with an error per failing item."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from issuegraph.db.models import IssueLink, Note

BULK = "/api/graph/v1/links/bulk"


def _loc(issue):
    return {"project": issue.reference.split("#")[0], "iid": issue.iid}


def _counts(graph):
    with graph.database.session(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(IssueLink)),
            session.scalar(select(func.count()).select_from(Note)),
        )


def test_bulk_creates_every_link(graph):
    """Three creates in one request store three links, each in its canonical direction."""
    p = graph.project("bulk")
    a, b, c, d = graph.issues(p, "a", "b", "c", "d")
    body = {
        "operations": [
            {"action": "create", "source": _loc(a), "target": _loc(b), "link_type": "blocks"},
            {"action": "create", "source": _loc(c), "target": _loc(a), "link_type": "subissue_of"},
            {"action": "create", "source": {"id": d.id}, "target": {"project": p["id"], "iid": b.iid},
             "link_type": "related_to"},
        ]
    }  # fmt: skip
    answer = graph.post(BULK, body)
    assert answer["created"] == 3 and answer["deleted"] == 0
    assert [(r["source_id"], r["target_id"], r["link_type"]) for r in answer["results"]] == [
        (a.id, b.id, "blocks"),
        (a.id, c.id, "parent_of"),
        (d.id, b.id, "related_to"),
    ]
    assert _counts(graph)[0] == 3


def test_one_bad_item_creates_nothing_and_is_named(graph):
    """A batch with a self link and an unknown issue fails whole; the errors name items 1 and 3."""
    p = graph.project("atomic")
    a, b, c = graph.issues(p, "a", "b", "c")
    before = _counts(graph)
    body = {
        "operations": [
            {"action": "create", "source": _loc(a), "target": _loc(b), "link_type": "blocks"},
            {"action": "create", "source": _loc(c), "target": _loc(c), "link_type": "blocks"},
            {"action": "create", "source": _loc(b), "target": _loc(c), "link_type": "blocks"},
            {
                "action": "create",
                "source": _loc(a),
                "target": {"project": p["id"], "iid": 99},
                "link_type": "blocks",
            },
        ]
    }
    error = graph.post(BULK, body, expect=400)["error"]
    assert error["code"] == "bulk_failed"
    assert "nothing was changed" in error["message"]
    assert [(e["index"], e["code"]) for e in error["details"]["errors"]] == [
        (1, "self_link"),
        (3, "issue_not_found"),
    ]
    assert all(e["message"] for e in error["details"]["errors"])
    assert _counts(graph) == before


def test_conflicts_inside_the_batch_are_caught(graph):
    """Items see earlier items: a duplicate pair and a cycle inside one batch are refused."""
    p = graph.project("inner")
    a, b = graph.issues(p, "a", "b")
    body = {
        "operations": [
            {"action": "create", "source": _loc(a), "target": _loc(b), "link_type": "blocks"},
            {"action": "create", "source": _loc(b), "target": _loc(a), "link_type": "related_to"},
        ]
    }
    errors = graph.post(BULK, body, expect=400)["error"]["details"]["errors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1, "link_exists")]
    assert _counts(graph)[0] == 0


def test_bulk_delete_and_create_in_one_request(graph):
    """Deleting a link and creating another in the same request applies both, in order."""
    p = graph.project("swap")
    a, b = graph.issues(p, "a", "b")
    graph.link(a, b, "blocks")
    wrong_type = {"action": "delete", "source": _loc(a), "target": _loc(b), "link_type": "parent_of"}
    assert graph.post(BULK, {"operations": [wrong_type]}, expect=400)["error"]["details"]["errors"][0][
        "code"
    ] == ("link_not_found")
    body = {
        "operations": [
            {"action": "delete", "source": _loc(b), "target": _loc(a), "link_type": "blocked_by"},
            {"action": "create", "source": _loc(b), "target": _loc(a), "link_type": "blocks"},
        ]
    }
    answer = graph.post(BULK, body)
    assert (answer["created"], answer["deleted"]) == (1, 1)
    with graph.database.session(write=False) as session:
        assert session.execute(select(IssueLink.source_id, IssueLink.target_id)).all() == [(b.id, a.id)]


def test_bulk_limits_and_scopes(graph):
    """1,001 operations are refused; a read-only token cannot write; a non-member gets per-item 404s."""
    p = graph.project("limits")
    a, b = graph.issues(p, "a", "b")
    op = {"action": "create", "source": _loc(a), "target": _loc(b), "link_type": "blocks"}
    assert graph.post(BULK, {"operations": [op] * 1001}, expect=400)["error"]["code"] == "invalid_parameter"
    assert graph.post(BULK, {"operations": []}, expect=400)["error"]["code"] == "invalid_parameter"
    reader = graph.factory.user("reader", scopes="read_api")
    graph.factory.member(p, reader, 30)
    assert (
        graph.post(BULK, {"operations": [op]}, who=reader, expect=403)["error"]["code"]
        == "insufficient_scope"
    )
    stranger = graph.factory.user("bstranger")
    errors = graph.post(BULK, {"operations": [op]}, who=stranger, expect=400)["error"]["details"]["errors"]
    assert errors[0]["code"] == "project_not_found"


def test_a_thousand_links_in_one_request(graph):
    """1,000 creates in one request all succeed."""
    p = graph.project("thousand")
    issues = graph.issues(p, *(f"t{i}" for i in range(1001)))
    ops = [
        {"action": "create", "source": {"id": x.id}, "target": {"id": y.id}, "link_type": "blocks"}
        for x, y in itertools.pairwise(issues)
    ]
    assert graph.post(BULK, {"operations": ops})["created"] == 1000
    assert _counts(graph)[0] == 1000
