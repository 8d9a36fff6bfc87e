"""Streamed export as JSON, DOT and Mermaid; hidden issues omitted with their links."""

from __future__ import annotations

import json

from issuegraph.graph import export as graph_export
from issuegraph.graph import service


def _world(graph):
    g = graph.group("exp")
    p, q = graph.project("p", group=g), graph.project("q", group=g)
    guest = graph.factory.user("eguest")
    graph.factory.member(p, guest, 10)
    a, b = graph.issues(p, 'say "hi"', "b")
    c = graph.issue(p, "secret", confidential=True)
    d = graph.issue(q, "other project")
    graph.links((a, b, "blocks"), (b, c, "parent_of"), (c, a, "related_to"), (d, a, "duplicates"))
    return g, p, q, guest, (a, b, c, d)


def test_project_json_export_has_readable_nodes_and_links_between_them(graph):
    """A guest's project export omits the confidential issue, its links and the other project's link."""
    _, p, _, guest, (a, b, _, _) = _world(graph)
    response = graph.get(graph.url(p, "/export"), who=guest, raw=True)
    assert response.headers["content-type"] == "application/json"
    assert 'filename="exp-p-graph.json"' in response.headers["content-disposition"]
    body = json.loads(response.content)
    assert body["format"] == "issuegraph.graph/v1" and body["scope"]["full_path"] == "exp/p"
    assert [n["reference"] for n in body["nodes"]] == [a.reference, b.reference]
    assert [(e["source"], e["target"], e["type"]) for e in body["edges"]] == [(a.id, b.id, "blocks")]
    admin = json.loads(graph.get(graph.url(p, "/export"), raw=True).content)
    assert len(admin["nodes"]) == 3 and len(admin["edges"]) == 3


def test_group_export_keeps_cross_project_links(graph):
    """The group export holds both projects and the duplicates link between them."""
    g, _, _, _, (a, _, _, d) = _world(graph)
    body = json.loads(graph.get(f"/api/graph/v1/groups/{g['id']}/export", raw=True).content)
    assert len(body["nodes"]) == 4
    assert (d.id, a.id, "duplicates") in {(e["source"], e["target"], e["type"]) for e in body["edges"]}


def test_dot_and_mermaid_are_escaped(graph):
    """DOT and Mermaid outputs name every readable node and link, with titles escaped."""
    _, p, _, guest, (a, b, _, _) = _world(graph)
    dot = graph.get(graph.url(p, "/export"), who=guest, format="dot")
    assert dot.headers["content-type"].startswith("text/vnd.graphviz")
    text = dot.text
    assert text.startswith('digraph "exp/p" {') and text.rstrip().endswith("}")
    assert f'i{a.id} [label="exp/p#1: say \\"hi\\""];' in text
    assert f'i{a.id} -> i{b.id} [label="blocks"' in text
    assert "secret" not in text
    mermaid = graph.get(graph.url(p, "/export"), who=guest, format="mermaid").text
    assert "flowchart LR" in mermaid
    assert f'i{a.id}["exp/p#35;1 say #quot;hi#quot;"]' in mermaid
    assert f"i{a.id} -->|blocks| i{b.id}" in mermaid
    assert "secret" not in mermaid
    assert (
        graph.get(graph.url(p, "/export"), format="png", expect=400)["error"]["code"] == "invalid_parameter"
    )


def test_export_streams_in_chunks(graph):
    """The export is produced as many small chunks that together form one valid document."""
    p = graph.project("big")
    issues = graph.issues(p, *(f"issue {i}" for i in range(300)))
    graph.chain(issues)
    with graph.database.session(write=False) as session:
        scope = service.project_scope(session, _admin(session), str(p["id"]))
        progress: list[tuple[str, int]] = []
        chunks = list(
            graph_export.stream(
                session,
                scope,
                graph_export.ExportFormat.JSON,
                chunk_bytes=1024,
                progress=lambda kind, n: progress.append((kind, n)),
            )
        )
        assert graph_export.count(session, scope) == (300, 299)
    assert len(chunks) > 10
    body = json.loads(b"".join(chunks))
    assert len(body["nodes"]) == 300 and len(body["edges"]) == 299
    assert sum(n for kind, n in progress if kind == "nodes") == 300
    assert sum(n for kind, n in progress if kind == "edges") == 299


def _admin(session):
    from issuegraph.accounts.repository import find_user_by_username
    from issuegraph.accounts.service import Actor

    return Actor(user=find_user_by_username(session, "root"), scopes=frozenset({"api"}))
