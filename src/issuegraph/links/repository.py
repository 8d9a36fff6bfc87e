"""All queries about issue links, including the graph checks the rules need."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    ScalarSelect,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from issuegraph.db import records
from issuegraph.db.models import BigId, Issue, IssueLink, utcnow
from issuegraph.db.sql import in_ids

# One transaction-scoped advisory lock per acyclic relation kind (PostgreSQL). A cycle
# check reads a path and then writes an edge; without a lock, two requests could each
# add half of a cycle. SQLite needs none: its write transactions are already serial.
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_ADVISORY_KEYS = {"blocks": 0x1551_0001, "parent_of": 0x1551_0002, "duplicates": 0x1551_0003}


def lock_kind(session: Session, link_type: str) -> None:
    conn = session.connection()
    if conn.dialect.name == "postgresql" and link_type in _ADVISORY_KEYS:
        conn.execute(_ADVISORY_LOCK, {"key": _ADVISORY_KEYS[link_type]})


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def find_pair(session: Session, a: int, b: int) -> IssueLink | None:
    lo, hi = pair(a, b)
    return session.scalar(select(IssueLink).where(IssueLink.pair_lo == lo, IssueLink.pair_hi == hi))


def _degree(name: str) -> ScalarSelect[int]:
    issue: BindParameter[int] = bindparam(name)
    return (
        select(func.count())
        .where(or_(IssueLink.source_id == issue, IssueLink.target_id == issue))
        .scalar_subquery()
    )


_PAIR_AND_DEGREES = select(
    select(IssueLink.id)
    .where(IssueLink.pair_lo == bindparam("lo"), IssueLink.pair_hi == bindparam("hi"))
    .scalar_subquery(),
    _degree("a"),
    _degree("b"),
)


# Core statements on the tables (not ORM-enabled): the create path runs them on every link.
_INSERT = {
    "postgresql": pg_insert(records.LINK.table).on_conflict_do_nothing().returning(records.LINK.table.c.id),
    "sqlite": sqlite_insert(records.LINK.table).on_conflict_do_nothing().returning(records.LINK.table.c.id),
}


def pair_and_degrees(session: Session, a: int, b: int) -> tuple[int | None, int, int]:
    """In one query: the id of the link between a and b (None if unlinked), and each one's link count."""
    lo, hi = pair(a, b)
    existing, degree_a, degree_b = (
        session.connection().execute(_PAIR_AND_DEGREES, {"lo": lo, "hi": hi, "a": a, "b": b}).one()
    )
    return existing, int(degree_a), int(degree_b)


def insert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert a link row and return its id, or None if a unique rule forbids it.

    The unique rules are the pair, one parent per issue and one canonical issue per duplicate.
    A refused row is no error, so the transaction stays usable without a SAVEPOINT.
    """
    conn = session.connection()
    result: int | None = conn.execute(_INSERT[conn.dialect.name], values).scalar()
    return result


_LINK_T, _ISSUE_T = records.LINK.table, records.ISSUE.table
_LINKS_WITH_OTHERS = (
    select(*records.LINK.columns, *records.ISSUE.columns)
    .join(
        _ISSUE_T,
        _ISSUE_T.c.id
        == case((_LINK_T.c.source_id == bindparam("issue"), _LINK_T.c.target_id), else_=_LINK_T.c.source_id),
    )
    .where(or_(_LINK_T.c.source_id == bindparam("issue"), _LINK_T.c.target_id == bindparam("issue")))
    .order_by(_LINK_T.c.id)
)


def links_with_others(session: Session, issue_id: int) -> list[tuple[Any, Any]]:
    """Every link of an issue, in both directions, each with the issue at its other end, by link
    id: (link record, issue record) pairs (see db.records), read in one Core query."""
    width = len(records.LINK.columns)
    rows = session.connection().execute(_LINKS_WITH_OTHERS, {"issue": issue_id})
    return [(records.LINK.cut(row), records.ISSUE.cut(row, width)) for row in rows]


def get(session: Session, link_id: int) -> IssueLink | None:
    return session.get(IssueLink, link_id)


def _reach(link_type: str) -> CTE:
    """Recursive CTE: every issue reachable from :start over links of this type (start included)."""
    reach = select(bindparam("start", type_=BigId).label("id")).cte("reach", recursive=True)
    return reach.union(
        select(IssueLink.target_id)
        .join(reach, IssueLink.source_id == reach.c.id)
        .where(IssueLink.link_type == link_type)
    )


_REACHES = {
    kind: select(func.count()).select_from(reach).where(reach.c.id == bindparam("goal"))
    for kind, reach in ((kind, _reach(kind)) for kind in ("blocks", "parent_of", "duplicates"))
}


def reaches(session: Session, start: int, goal: int, link_type: str) -> bool:
    """Is there a directed path start -> ... -> goal over links of this type?"""
    return bool(session.scalar(_REACHES[link_type], {"start": start, "goal": goal}))


def path(session: Session, start: int, goal: int, link_type: str) -> list[int]:
    """One shortest directed path start -> goal (inclusive); [] if none."""
    reach = select(literal(start, BigId).label("id")).cte("reach", recursive=True)
    reach = reach.union(
        select(IssueLink.target_id)
        .join(reach, IssueLink.source_id == reach.c.id)
        .where(IssueLink.link_type == link_type)
    )
    edges = (
        session.execute(
            select(IssueLink.source_id, IssueLink.target_id).where(
                IssueLink.link_type == link_type, IssueLink.source_id.in_(select(reach.c.id))
            )
        )
        .all()
    )
    succ: dict[int, list[int]] = {}
    for s, t in edges:
        succ.setdefault(s, []).append(t)
    prev: dict[int, int] = {}
    queue, seen = deque([start]), {start}
    while queue:
        node = queue.popleft()
        if node == goal:
            chain = [goal]
            while chain[-1] != start:
                chain.append(prev[chain[-1]])
            return chain[::-1]
        for nxt in sorted(succ.get(node, [])):
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                queue.append(nxt)
    return []


def parent_of(session: Session, child_id: int) -> int | None:
    return session.scalar(
        select(IssueLink.source_id).where(IssueLink.target_id == child_id, IssueLink.link_type == "parent_of")
    )


def ancestor_count(session: Session, issue_id: int) -> int:
    """How many ancestors an issue has (0 for a root)."""
    up = select(literal(issue_id, BigId).label("id"), literal(0).label("depth")).cte("up", recursive=True)
    up = up.union_all(
        select(IssueLink.source_id, up.c.depth + 1)
        .join(up, IssueLink.target_id == up.c.id)
        .where(IssueLink.link_type == "parent_of", up.c.depth < 64)
    )
    return int(session.scalar(select(func.max(up.c.depth))) or 0)


def subtree_height(session: Session, issue_id: int) -> int:
    """Levels below an issue (0 for a leaf)."""
    down = select(literal(issue_id, BigId).label("id"), literal(0).label("depth")).cte("down", recursive=True)
    down = down.union_all(
        select(IssueLink.target_id, down.c.depth + 1)
        .join(down, IssueLink.source_id == down.c.id)
        .where(IssueLink.link_type == "parent_of", down.c.depth < 64)
    )
    return int(session.scalar(select(func.max(down.c.depth))) or 0)


def children_count(session: Session, parent_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(IssueLink.source_id == parent_id, IssueLink.link_type == "parent_of")
        )
        or 0
    )


def canonical_of(session: Session, issue_id: int) -> int | None:
    return session.scalar(
        select(IssueLink.target_id).where(
            IssueLink.source_id == issue_id, IssueLink.link_type == "duplicates"
        )
    )


# Core, not ORM-enabled: no scan of the session for objects to synchronise (touch() sets them).
_ISSUES = cast(Table, Issue.__table__)
_TOUCH = (
    update(_ISSUES)
    .where(in_ids(_ISSUES.c.id))
    .values(updated_at=bindparam("now"))
)


def touch(session: Session, ids: Iterable[int]) -> None:
    """Set updated_at of these issues, in the database and on the ones this session holds."""
    now = utcnow()
    wanted = sorted(set(ids))
    session.connection().execute(_TOUCH, {"ids": wanted, "now": now})
    for issue_id in wanted:
        issue = session.identity_map.get(identity_key(Issue, issue_id))
        if issue is not None:
            set_committed_value(issue, "updated_at", now)


def remove(session: Session, link_id: int) -> None:
    session.execute(delete(IssueLink).where(IssueLink.id == link_id))
