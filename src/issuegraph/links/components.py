"""Locks that serialise only the link creations that could break a graph rule together.

A `blocks`, `parent_of` or `duplicates` link is checked (cycle, one parent, depth, children)
by reading the graph and then writing an edge; two requests could each add half of a cycle.
Every such check reads only the weakly connected component of the new link's two issues over
links of that kind, and two new links can close a cycle together only if, before either is
added, the source of each is connected to the target of the other: their components are the
same. So a creation locks the components of its two issues (PostgreSQL transaction-scoped
advisory locks) instead of the whole installation.

`link_components` stores each linked issue's component per kind (an issue without a row is
alone: its component is its own id). A new link that joins two components relabels the larger
id to the smaller in the same transaction, under both locks. Removing a link never splits a
component (a component only ever grows, so it may serialise a little more than needed, never
less). SQLite needs none of this: its write transactions are already serial.

Invariant: both issues of every link of these kinds are in one component. Whatever writes
links of these kinds without `create_link` (the PostgreSQL bulk seed) calls `rebuild` after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import await_

from issuegraph.db.models import LinkComponent
from issuegraph.db.sql import raise_through_sqlalchemy

KINDS = ("blocks", "parent_of", "duplicates")
# One advisory-lock key space per kind: key = space + component id. (Ids never reach 2**48; a
# collision would only serialise two creations more, never fewer.)
_SPACE = {kind: (0x1551 << 48) + (n << 44) for n, kind in enumerate(KINDS, start=1)}
_TABLE = cast(Table, LinkComponent.__table__)

# Each issue's component (an issue without a row is alone: its own id).
_OF = (
    "coalesce((SELECT component FROM link_components WHERE kind = '{kind}' AND issue_id = {a}), {a}) AS ca, "
    "coalesce((SELECT component FROM link_components WHERE kind = '{kind}' AND issue_id = {b}), {b}) AS cb"
)
# Wait for both components' locks, in key order. The components are read before the locks are
# granted (one snapshot per statement), so `_HOLD` reads them again afterwards.
_WAIT = (
    "SELECT pg_advisory_xact_lock({space} + least(ca, cb)), "
    "pg_advisory_xact_lock({space} + greatest(ca, cb)) FROM (SELECT " + _OF + ") c"
)
# The components now, and whether this transaction holds both locks; a try never waits, so taking a
# lock here, out of key order, cannot deadlock. (It holds them already unless a merge relabelled a
# component while it waited.)
_HOLD = text(
    "SELECT ca, cb, pg_try_advisory_xact_lock(:space + ca) AND pg_try_advisory_xact_lock(:space + cb) "
    "FROM (SELECT " + _OF.replace("'{kind}'", ":kind").replace("{a}", ":a").replace("{b}", ":b") + ") c"
)
# Both issues into the component `keep`; every issue of component `old` too.
_MERGE = text(
    "WITH moved AS (UPDATE link_components SET component = :keep "
    "WHERE kind = :kind AND component = :old) "
    "INSERT INTO link_components (kind, issue_id, component) VALUES (:kind, :a, :keep), (:kind, :b, :keep) "
    "ON CONFLICT (kind, issue_id) DO NOTHING"
)
_MAX_TRIES = 50


@dataclass(frozen=True)
class Held:
    """The components whose locks this transaction holds for a new link a -> b of `kind`."""

    kind: str
    a: int
    b: int
    ca: int
    cb: int


def lock(session: Session, kind: str, a: int, b: int) -> Held | None:
    """Lock the components of issues a and b over links of `kind` until the transaction ends.
    None on SQLite (nothing to lock) and for kinds without graph rules."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or kind not in _SPACE:
        return None
    params = {"kind": kind, "a": a, "b": b, "space": _SPACE[kind]}
    wait = _WAIT.format(kind=kind, a=int(a), b=int(b), space=_SPACE[kind])  # integers and a known kind
    # The waits happen inside a savepoint: if another transaction holds a component we did not
    # wait for (a merge relabelled ours meanwhile), rolling back to it lets our locks go and we
    # wait again, in key order. Waiting for the new one on top could deadlock.
    _simple(conn, f"SAVEPOINT link_components; {wait}")
    for _ in range(_MAX_TRIES):
        ca, cb, holds = conn.execute(_HOLD, params).one()
        if holds:  # the savepoint stays open to the end of the transaction; so do the locks
            return Held(kind, a, b, int(ca), int(cb))
        _simple(conn, f"ROLLBACK TO SAVEPOINT link_components; {wait}")
    raise RuntimeError("link components kept changing while being locked")


def _simple(conn: Any, sql: str) -> None:
    """Statements without parameters in one round trip (asyncpg's simple query protocol);
    psycopg (outside requests) runs them one by one."""
    if conn.dialect.driver != "asyncpg":
        for statement in sql.split("; "):
            conn.exec_driver_sql(statement)
        return
    events = conn._has_events or conn.engine._has_events
    if events:  # statement counters and logs see it, as DriverQuery's
        conn.dispatch.before_cursor_execute(conn, None, sql, (), None, False)
    adapted = conn.connection.dbapi_connection
    try:
        await_(adapted.driver_connection.execute(sql))
    except Exception as error:  # a disconnect invalidates the pool, an outage is a 503
        raise_through_sqlalchemy(conn, adapted, error, sql, ())
    if events:
        conn.dispatch.after_cursor_execute(conn, None, sql, (), None, False)


def joined(session: Session, held: Held | None) -> None:
    """The link a -> b was written: its two components are one now (call under the locks)."""
    if held is None:
        return
    keep, old = min(held.ca, held.cb), max(held.ca, held.cb)
    if keep == old:
        return
    session.connection().execute(
        _MERGE, {"kind": held.kind, "a": held.a, "b": held.b, "keep": keep, "old": old}
    )


def rebuild(session: Session) -> None:
    """Recompute every component from the links (PostgreSQL; after bulk writes of links)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(_TABLE.delete())
    for kind in KINDS:
        rows = conn.execute(
            text("SELECT source_id, target_id FROM issue_links WHERE link_type = :kind"), {"kind": kind}
        )
        values = [{"kind": kind, "issue_id": i, "component": c} for i, c in components(rows).items()]
        for start in range(0, len(values), 10_000):
            conn.execute(_TABLE.insert(), values[start : start + 10_000])


def components(edges: Any) -> dict[int, int]:
    """Each issue of these edges -> the smallest issue id of its weakly connected component."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for s, t in edges:
        rs, rt = find(s), find(t)
        parent.setdefault(s, s)
        parent.setdefault(t, t)
        if rs != rt:
            parent[max(rs, rt)] = min(rs, rt)
    return {x: find(x) for x in parent}
