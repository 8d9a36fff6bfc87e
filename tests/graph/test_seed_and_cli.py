"""The seed generator keeps every link rule, and the command line seeds and exports."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from issuegraph.cli import app as cli_app
from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Issue, IssueLink, Project
from issuegraph.graph.seed import _check_foreign_keys, seed


def test_seed_respects_every_rule(settings, database):
    """A small seed: unique pairs, acyclic blocks and duplicates, <=8 levels, <=100 children and links."""
    result = seed(settings, issues=1500, links=4500, projects=5, random_seed=7)
    assert result.issues == 1500 and 0.9 * 4500 <= result.total_links <= 4500
    assert result.hierarchy_size == 150  # min(10k, large // 5) issues, large = 750
    with database.session(write=False) as session:
        links = session.execute(select(IssueLink.source_id, IssueLink.target_id, IssueLink.link_type)).all()
        issues = dict(session.execute(select(Issue.id, Issue.state)).all())
        iids = session.execute(select(Project.path, Project.last_issue_iid)).all()
    assert len(issues) == 1500 and sum(n for _, n in iids) == 1500
    assert dict(Counter(t for _, _, t in links)) == result.links
    pairs = {(min(s, t), max(s, t)) for s, t, _ in links}
    assert len(pairs) == len(links)
    degree = Counter(x for s, t, _ in links for x in (s, t))
    assert max(degree.values()) <= settings.max_links_per_issue
    parent = {}
    children = Counter()
    for s, t, kind in links:
        if kind == "blocks":
            assert s < t  # the blocking DAG goes from lower to higher ids: no cycle
        elif kind == "duplicates":
            assert s > t and issues[s] == "closed"
        elif kind == "parent_of":
            assert t not in parent
            parent[t] = s
            children[s] += 1
    assert max(children.values()) <= settings.max_children

    def levels(node, seen=0):
        return 1 if node not in parent else 1 + levels(parent[node], seen + 1)

    assert max(levels(n) for n in parent) <= settings.max_depth
    canonical = defaultdict(int)
    for s, _, kind in links:
        if kind == "duplicates":
            canonical[s] += 1
    assert set(canonical.values()) <= {1}


def test_cli_seed_then_export(settings, database, tmp_path):
    """`issuegraph dev seed` then `issuegraph export` writes a JSON graph of the project."""
    runner = CliRunner()
    url = settings.database_url
    seeded = runner.invoke(
        cli_app,
        ["dev", "seed", "--issues", "400", "--links", "1000", "--projects", "3", "--database-url", url],
    )
    assert seeded.exit_code == 0, seeded.output
    out = tmp_path / "graph.json"
    exported = runner.invoke(
        cli_app, ["export", "--project", "seed/large", "-o", str(out), "--database-url", url]
    )
    assert exported.exit_code == 0, exported.output
    body = json.loads(out.read_text())
    assert len(body["nodes"]) == 200 and body["scope"]["full_path"] == "seed/large"
    node_ids = {n["id"] for n in body["nodes"]}
    assert body["edges"] and all(e["source"] in node_ids and e["target"] in node_ids for e in body["edges"])
    as_guest = runner.invoke(
        cli_app,
        [
            "export",
            "--group",
            "seed",
            "--format",
            "dot",
            "--as-user",
            "seed-guest",
            "-q",
            "--database-url",
            url,
        ],
    )
    assert as_guest.exit_code == 0, as_guest.output
    assert as_guest.stdout.startswith('digraph "seed" {')
    missing = runner.invoke(cli_app, ["export", "--project", "nope/nope", "--database-url", url])
    assert missing.exit_code == 1
    again = runner.invoke(cli_app, ["dev", "seed", "--issues", "10", "--links", "10", "--database-url", url])
    assert again.exit_code == 1 and "already exists" in again.output


def test_bulk_load_foreign_key_check_catches_orphans(pg_url):
    """After a trigger-less COPY (PostgreSQL only) the foreign-key check refuses a link to no issue."""
    database = Database(Settings(database_url=pg_url))
    try:
        with database.session() as session:
            _check_foreign_keys(session, 0, 0)  # whatever earlier tests left is consistent
        ghost = 10**12
        with (
            pytest.raises(RuntimeError, match=r"issue_links\.source_id reference no issues"),
            database.session() as session,
        ):
            session.execute(text("SET LOCAL session_replication_role = replica"))
            session.execute(
                text(
                    "INSERT INTO issue_links (id, source_id, target_id, link_type, pair_lo, pair_hi, "
                    "created_at, updated_at) VALUES (:g, :g, :h, 'blocks', :g, :h, now(), now())"
                ),
                {"g": ghost, "h": ghost + 1},
            )
            session.execute(text("SET LOCAL session_replication_role = origin"))
            _check_foreign_keys(session, 0, 0)
    finally:
        database.dispose()
