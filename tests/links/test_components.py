"""Creation locks per connected component (links.components): what they hold and whom they stop."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from issuegraph.db import migrate
from issuegraph.db.engine import Database
from issuegraph.links import components
from issuegraph.testing.serverproc import fresh_pg_database
from tests.conftest import PG_ADMIN_URL

_serial = itertools.count()


def _rows(database: Database, kind: str = "blocks") -> dict[int, int]:
    with database.session() as session:
        rows = session.execute(
            text("SELECT issue_id, component FROM link_components WHERE kind = :k"), {"k": kind}
        )
        return {int(i): int(c) for i, c in rows}


def _issues(factory: Any, count: int) -> list[dict[str, Any]]:
    project = factory.project(f"components{next(_serial)}")
    return [factory.issue(project, title=f"i{n}") for n in range(count)]


def test_components_of_edges_are_weakly_connected_sets():
    """Union-find: each issue maps to the smallest id of its component, direction ignored."""
    assert components.components([(5, 3), (3, 9), (10, 11), (12, 10)]) == {
        3: 3,
        5: 3,
        9: 3,
        10: 10,
        11: 10,
        12: 10,
    }
    assert components.components([]) == {}


def test_a_link_joining_two_components_merges_them(factory, database, database_url):
    """A->B and C->D are two components; B->C makes one, labelled by the smallest id (PostgreSQL)."""
    a, b, c, d, e = _issues(factory, 5)
    factory.link(a, b, "blocks")
    factory.link(c, d, "blocks")
    factory.link(a, e, "relates_to")  # other kinds have no components
    if database_url.startswith("sqlite"):  # SQLite's writes are serial: no locks, no components
        assert _rows(database) == {}
        return
    assert _rows(database) == {a["id"]: a["id"], b["id"]: a["id"], c["id"]: c["id"], d["id"]: c["id"]}
    factory.link(b, c, "blocks")
    assert set(_rows(database).values()) == {a["id"]}
    assert _rows(database, "related_to") == {}
    with database.session() as session:  # rebuild from the links gives the same
        components.rebuild(session)
    assert _rows(database) == dict.fromkeys((a["id"], b["id"], c["id"], d["id"]), a["id"])


def test_a_lock_holds_only_its_components(factory, database, database_url):
    """Holding A->B's components: a creation in another component goes on, one touching B waits."""
    a, b, c, d, e = (i["id"] for i in _issues(factory, 5))
    if database_url.startswith("sqlite"):  # its write transactions are serial: nothing to lock
        with database.session() as session:
            assert components.lock(session, "blocks", a, b) is None
        return
    with database.session() as holder:
        held = components.lock(holder, "blocks", a, b)
        assert held is not None and (held.ca, held.cb) == (a, b)
        with database.session() as other:
            other.execute(text("SET LOCAL lock_timeout = '300ms'"))
            assert components.lock(other, "blocks", c, d) is not None  # disjoint: no wait
            assert components.lock(other, "parent_of", a, b) is not None  # another kind: no wait
        with pytest.raises(OperationalError, match="lock timeout"), database.session() as blocked:
            blocked.execute(text("SET LOCAL lock_timeout = '300ms'"))
            components.lock(blocked, "blocks", e, b)


def test_a_lock_taken_during_a_merge_follows_the_new_component(factory, database, database_url):
    """A creation waiting on D's component while D's is merged into A's locks A's component."""
    a, _b, _c, d, e = (i["id"] for i in _issues(factory, 5))
    if database_url.startswith("sqlite"):
        with database.session() as session:
            assert components.lock(session, "blocks", e, d) is None
        return
    result: dict[str, Any] = {}
    with database.session() as merger:
        held = components.lock(merger, "blocks", a, d)
        assert held is not None

        def wait_for_d() -> None:
            with database.session() as waiter:
                result["held"] = components.lock(waiter, "blocks", e, d)
                result["a_is_free"] = waiter.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"),
                    {"key": components._SPACE["blocks"] + a},
                ).scalar()

        thread = threading.Thread(target=wait_for_d)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # it waits for D's component
        components.joined(merger, held)  # as after the link A->D: D's component is A's now
    thread.join(timeout=30)
    assert not thread.is_alive()
    waited = result["held"]
    assert (waited.ca, waited.cb) == (e, a)  # it read D's component again after the wait
    assert result["a_is_free"] is True  # it holds A's component's lock (re-entrant)


def test_the_migration_fills_components_from_existing_links(pg_url):
    """Upgrading a PostgreSQL database that already has links labels their components."""
    with fresh_pg_database(PG_ADMIN_URL, "ig_components") as url:
        migrate.upgrade(url, "3b1e6f0c9a21")  # the revision before link_components
        engine = create_engine(url)
        now = "'2026-01-01 00:00:00+00'"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, name, email, state, is_admin, created_at) "
                    f"VALUES (1, 'root', 'Root', 'root@x', 'active', true, {now})"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO namespaces (id, kind, name, path, full_path, traversal_ids, owner_id, "
                    f"visibility, description, created_at) VALUES (1, 'user', 'R', 'r', 'r', '1', 1, "
                    f"'public', '', {now})"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO projects (id, namespace_id, name, path, full_path, description, visibility, "
                    "creator_id, last_issue_iid, close_policy, close_duplicates, created_at, updated_at) "
                    f"VALUES (1, 1, 'p', 'p', 'r/p', '', 'public', 1, 6, 'allow', false, {now}, {now})"
                )
            )
            for n in range(1, 7):
                conn.execute(
                    text(
                        "INSERT INTO issues (id, project_id, iid, title, description, state, status, "
                        "priority, confidential, discussion_locked, author_id, created_at, updated_at) "
                        f"VALUES ({n}, 1, {n}, 'i', '', 'opened', 'open', 'normal', false, false, 1, "
                        f"{now}, {now})"
                    )
                )
            for n, (s, t, kind) in enumerate(
                [
                    (5, 3, "blocks"),
                    (3, 6, "blocks"),
                    (1, 2, "blocks"),
                    (2, 4, "parent_of"),
                    (4, 6, "related_to"),
                ],
                start=1,
            ):
                conn.execute(
                    text(
                        "INSERT INTO issue_links (id, source_id, target_id, link_type, pair_lo, pair_hi, "
                        f"created_at, updated_at) VALUES ({n}, {s}, {t}, '{kind}', {min(s, t)}, {max(s, t)}, "
                        f"{now}, {now})"
                    )
                )
        migrate.upgrade(url)
        with engine.connect() as conn:
            rows = set(conn.execute(text("SELECT kind, issue_id, component FROM link_components")).all())
        engine.dispose()
    assert rows == {
        ("blocks", 3, 3),
        ("blocks", 5, 3),
        ("blocks", 6, 3),
        ("blocks", 1, 1),
        ("blocks", 2, 1),
        ("parent_of", 2, 2),
        ("parent_of", 4, 2),
    }
