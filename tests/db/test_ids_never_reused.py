"""Ids are never handed out twice (GitLab never reuses one), on SQLite too: AUTOINCREMENT."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from issuegraph.db.models import Base


def test_issue_ids_are_never_reused(client, factory):
    """Deleting the newest issue does not give its id to the next issue."""
    project = factory.project("p")
    first = factory.issue(project, "first")
    newest = factory.issue(project, "newest")
    url = f"/api/v4/projects/{project['id']}/issues/{newest['iid']}"
    assert client.delete(url, headers=factory.admin.headers).status_code == 204
    again = factory.issue(project, "again")
    assert again["id"] > newest["id"] > first["id"]
    assert again["iid"] > newest["iid"]


def test_issue_link_ids_are_never_reused(client, factory):
    """Deleting the newest link does not give its id to the next link."""
    project = factory.project("p")
    a, b, c, d = (factory.issue(project, title) for title in "abcd")
    first = factory.link(a, b)
    newest = factory.link(a, c, "blocks")
    url = f"/api/v4/projects/{project['id']}/issues/{a['iid']}/links/{newest['id']}"
    assert client.delete(url, headers=factory.admin.headers).status_code == 200
    again = factory.link(a, d)
    assert again["id"] > newest["id"] > first["id"]


def test_every_integer_id_is_autoincrement_on_sqlite(sqlite_template):
    """On SQLite every table whose key is one integer id is declared AUTOINCREMENT (PostgreSQL's
    sequences never go back)."""
    engine = create_engine(f"sqlite:///{sqlite_template}")
    with engine.connect() as conn:
        sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    engine.dispose()
    with_id = [t.name for t in Base.metadata.sorted_tables if [c.name for c in t.primary_key] == ["id"]]
    assert len(with_id) >= 10  # the ten of migration 7ca44bd8de15, and any table added since
    assert [name for name in with_id if "AUTOINCREMENT" not in sql[name]] == []
