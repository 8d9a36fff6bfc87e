"""Graph queries: recursive walks, ready/blocked pages, hierarchy, export streams.

Every walk is one ``WITH RECURSIVE`` statement that runs unchanged on SQLite and
PostgreSQL. Walks are bounded by a depth limit and deduplicated by ``UNION``, so a
diamond is expanded once per distance, never once per path: the work is at most
``depth x answer`` rows and does not depend on the size of the graph. Paths are not
built in SQL; each walk also returns, for every node it found, the neighbours one
step closer to the start, and the service rebuilds the paths from that bounded set.

Nothing here checks permissions; the service decides what the caller may see.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from issuegraph.db.models import Issue, IssueAssignee, IssueLink, Namespace, Project
from issuegraph.projects import repository as projects_repo

L = IssueLink.__table__
I = Issue.__table__  # noqa: E741
P = Project.__table__

BLOCKS = "blocks"
PARENT_OF = "parent_of"
DUPLICATES = "duplicates"
OPENED = "opened"

# Bind-parameter chunk for IN lists: far below PostgreSQL's 65535 and SQLite's 32766.
IN_CHUNK = 5000


@dataclass(slots=True)
class Node:
    """The columns of an issue that graph answers show or need for permission checks."""

    id: int
    project_id: int
    iid: int
    title: str
    state: str
    weight: int | None
    confidential: bool
    author_id: int
    project_path: str

    @property
    def reference(self) -> str:
        return f"{self.project_path}#{self.iid}"

    @property
    def is_open(self) -> bool:
        return self.state == OPENED


NODE_COLUMNS = (
    I.c.id,
    I.c.project_id,
    I.c.iid,
    I.c.title,
    I.c.state,
    I.c.weight,
    I.c.confidential,
    I.c.author_id,
    P.c.full_path,
)
_N = len(NODE_COLUMNS)


def _node(row: Sequence[Any], offset: int = 0) -> Node:
    return Node(
        int(row[offset]),
        int(row[offset + 1]),
        int(row[offset + 2]),
        row[offset + 3],
        row[offset + 4],
        row[offset + 5],
        bool(row[offset + 6]),
        int(row[offset + 7]),
        row[offset + 8],
    )


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    items = list(ids)
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


# ---------------------------------------------------------------- reusable SQL conditions


def blocked_clause(issue_id: Any = None) -> ColumnElement[bool]:
    """SQL condition on Issue: at least one OPEN issue blocks it (visible to the caller or not).

    ``issue_id`` is the column to correlate with (default ``Issue.id``; pass an alias's
    ``.id`` when the outer query uses an aliased Issue). Uses the index
    ``ix_issue_links_target_id_link_type`` (target_id, link_type, source_id).
    """
    column = Issue.id if issue_id is None else issue_id
    blocker = I.alias("graph_blocker")
    return (
        select(literal_column("1"))
        .select_from(L.join(blocker, blocker.c.id == L.c.source_id))
        .where(L.c.target_id == column, L.c.link_type == BLOCKS, blocker.c.state == OPENED)
        .exists()
    )


def not_blocked_clause(issue_id: Any = None) -> ColumnElement[bool]:
    """SQL condition on Issue: no OPEN issue blocks it (closed blockers do not count)."""
    return ~blocked_clause(issue_id)


def open_blocked_count_subquery(issue_id: Any = None) -> Any:
    """Correlated scalar subquery: how many OPEN issues this issue blocks (GitLab's blocking_issues_count).

    Use it as a column, ``select(Issue, open_blocked_count_subquery().label("blocking_issues_count"))``,
    or in a filter. Counts every open blocked issue, readable by the caller or not, as GitLab does.
    Uses the index ``ix_issue_links_source_id_link_type`` (source_id, link_type, target_id).
    """
    column = Issue.id if issue_id is None else issue_id
    blocked = I.alias("graph_blocked")
    return (
        select(func.count())
        .select_from(L.join(blocked, blocked.c.id == L.c.target_id))
        .where(L.c.source_id == column, L.c.link_type == BLOCKS, blocked.c.state == OPENED)
        .scalar_subquery()
    )


def readable_issues_clause(
    table: Any,
    *,
    full_project_ids: Collection[int],
    limited_project_ids: Collection[int],
    user_id: int | None,
) -> ColumnElement[bool]:
    """SQL condition on an issues table (or alias): the caller may read the row.

    ``full_project_ids``: projects where the caller reads every issue (confidential too);
    ``limited_project_ids``: readable projects where confidential issues are visible only
    to their author and assignees.
    """
    conditions: list[ColumnElement[bool]] = []
    if full_project_ids:
        conditions.append(table.c.project_id.in_(sorted(full_project_ids)))
    if limited_project_ids:
        own: list[ColumnElement[bool]] = [table.c.confidential == false()]
        if user_id is not None:
            own.append(table.c.author_id == user_id)
            own.append(
                select(IssueAssignee.issue_id)
                .where(IssueAssignee.issue_id == table.c.id, IssueAssignee.user_id == user_id)
                .exists()
            )
        conditions.append(and_(table.c.project_id.in_(sorted(limited_project_ids)), or_(*own)))
    return or_(*conditions) if conditions else false()


# ---------------------------------------------------------------- lookups


def nodes_by_ids(session: Session, ids: Collection[int]) -> dict[int, Node]:
    found: dict[int, Node] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(*NODE_COLUMNS).join(P, P.c.id == I.c.project_id).where(I.c.id.in_(chunk))
        )
        for row in rows:
            node = _node(row)
            found[node.id] = node
    return found


def assigned_to(session: Session, issue_ids: Collection[int], user_id: int) -> set[int]:
    """The issues among ``issue_ids`` that have ``user_id`` as an assignee."""
    found: set[int] = set()
    for chunk in _chunks(issue_ids):
        found.update(
            session.scalars(
                select(IssueAssignee.issue_id).where(
                    IssueAssignee.issue_id.in_(chunk), IssueAssignee.user_id == user_id
                )
            )
        )
    return found


def group_projects(
    session: Session, group: Namespace, visible: ColumnElement[bool]
) -> list[tuple[Project, Namespace]]:
    """Projects of a group and its subgroups that satisfy ``visible``."""
    rows = session.execute(
        select(Project, Namespace)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .where(
            visible,
            projects_repo.in_tree_of(group),
        )
        .order_by(Project.id)
    ).all()
    return [(p, n) for p, n in rows]


# ---------------------------------------------------------------- walks


def _small(session: Session, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The depth guard of a recursive step, telling SQLite's planner the queue is small.

    Once a database has statistics (``ANALYZE``, ``PRAGMA optimize``), SQLite guesses
    that the recursive queue is large and builds a Bloom filter over the whole links
    index for every recursive step: 20-30 ms on 300k links for a walk of 3 rows.
    ``likelihood()`` (SQLite only) corrects the estimate; PostgreSQL gets the plain condition.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.likelihood(condition, literal_column("0.001"))
    return condition


@dataclass(slots=True)
class Step:
    """A node found by a walk, at its shortest distance, with one neighbour one step closer."""

    node: Node
    depth: int
    via: int  # the neighbour at depth - 1 (the start itself when depth == 1)


def walk(
    session: Session,
    start: int,
    *,
    link_type: str,
    upward: bool,
    max_depth: int,
    open_only: bool = False,
) -> list[Step]:
    """Everything reachable from ``start`` within ``max_depth`` links of one type.

    ``upward`` follows links from target to source (blockers, parents, ...), otherwise
    source to target (blocked issues, children, canonical issues). With ``open_only``
    closed issues are neither results nor steps. Returns one row per (node, neighbour
    one step closer to ``start`` on a shortest path), so every shortest path can be
    rebuilt from the result. ``start`` itself is never a result.

    Two statements: the recursive walk (one row per node and distance, then the
    shortest distance per node, joined to the issue), and the links into the nodes
    found, read through the same index the walk used; the neighbours one step closer
    are picked from those in Python. Both cost what the walk costs.
    """
    near, far = (L.c.target_id, L.c.source_id) if upward else (L.c.source_id, L.c.target_id)
    one = literal_column("1", Integer)

    def hop(source: Any) -> Any:
        if not open_only:
            return source
        far_issue = I.alias("graph_far")
        return source.join(far_issue, and_(far_issue.c.id == far, far_issue.c.state == OPENED))

    seed = (
        select(far.label("node"), one.label("depth"))
        .select_from(hop(L))
        .where(near == start, L.c.link_type == link_type)
    )
    cte = seed.cte("graph_walk", recursive=True)
    step = (
        select(far, (cte.c.depth + one).label("depth"))
        .select_from(hop(L.join(cte, near == cte.c.node)))
        .where(L.c.link_type == link_type, _small(session, cte.c.depth < max_depth))
    )
    cte = cte.union(step)
    found = (
        select(cte.c.node, func.min(cte.c.depth).label("depth"))
        .where(cte.c.node != start)
        .group_by(cte.c.node)
        .subquery("graph_found")
    )
    rows = session.execute(
        select(found.c.depth, *NODE_COLUMNS).select_from(
            found.join(I, I.c.id == found.c.node).join(P, P.c.id == I.c.project_id)
        )
    ).all()
    depth = {int(row[1]): int(row[0]) for row in rows}
    depth[start] = 0
    steps: list[Step] = []
    nodes = {int(row[1]): _node(row, 1) for row in rows}
    for chunk in _chunks([start, *(n for n in depth if n != start and depth[n] < max_depth)]):
        for a, b in session.execute(select(near, far).where(near.in_(chunk), L.c.link_type == link_type)):
            d = depth.get(b)
            if d is not None and b != start and d == depth[a] + 1:
                steps.append(Step(nodes[b], d, int(a)))
    return steps


@dataclass(slots=True)
class TreeRows:
    """A hierarchy below a root, as plain rows (a 10k-node tree is read as fast as possible).

    ``rows``: (parent id, depth, id, project id, iid, title, state, weight, confidential,
    author id), by depth then id, so parents come before their children.
    """

    rows: list[Any]
    project_paths: dict[int, str]


def tree_rows(session: Session, root: int, *, max_depth: int) -> TreeRows:
    """The descendants of ``root`` within ``max_depth`` levels.

    ``UNION ALL`` is exact here: an issue has at most one parent (a unique index), so a
    hierarchy has no diamonds, and the depth cap bounds even corrupt (cyclic) data.
    """
    one = literal_column("1", Integer)
    seed = select(L.c.target_id.label("node"), L.c.source_id.label("parent"), one.label("depth")).where(
        L.c.source_id == root, L.c.link_type == PARENT_OF
    )
    cte = seed.cte("graph_tree", recursive=True)
    cte = cte.union_all(
        select(L.c.target_id, L.c.source_id, (cte.c.depth + one).label("depth"))
        .select_from(L.join(cte, L.c.source_id == cte.c.node))
        .where(L.c.link_type == PARENT_OF, _small(session, cte.c.depth < max_depth))
    )
    columns = [c for c in NODE_COLUMNS if c is not P.c.full_path]
    query = (
        select(cte.c.parent, cte.c.depth, *columns)
        .select_from(cte.join(I, I.c.id == cte.c.node))
        .order_by(cte.c.depth, I.c.id)
    )
    rows = session.execute(query).all()
    return TreeRows(list(rows), _project_paths(session, {row[3] for row in rows}))


def _project_paths(session: Session, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): p for i, p in session.execute(select(P.c.id, P.c.full_path).where(P.c.id.in_(sorted(ids))))
    }


# ---------------------------------------------------------------- ready / blocked pages


def scope_page(
    session: Session,
    *,
    project_ids: Collection[int],
    readable: ColumnElement[bool],
    blocked: bool,
    after_id: int,
    limit: int,
) -> list[Node]:
    """Open, readable issues of the projects, with (``blocked``) or without an open blocker, by id."""
    if not project_ids:
        return []
    ids = sorted(project_ids)
    in_scope = I.c.project_id == ids[0] if len(ids) == 1 else I.c.project_id.in_(ids)
    query: Select[Any] = (
        select(*NODE_COLUMNS)
        .select_from(I.join(P, P.c.id == I.c.project_id))
        .where(
            in_scope,
            I.c.state == OPENED,
            I.c.id > after_id,
            readable,
            blocked_clause(I.c.id) if blocked else not_blocked_clause(I.c.id),
        )
        .order_by(I.c.id)
        .limit(limit)
    )
    return [_node(row) for row in session.execute(query)]


def open_blockers_of(session: Session, issue_ids: Collection[int]) -> list[tuple[int, Node]]:
    """(blocked issue id, open blocker) for each open blocker of the given issues."""
    if not issue_ids:
        return []
    query = (
        select(L.c.target_id, *NODE_COLUMNS)
        .select_from(L.join(I, I.c.id == L.c.source_id).join(P, P.c.id == I.c.project_id))
        .where(L.c.target_id.in_(sorted(issue_ids)), L.c.link_type == BLOCKS, I.c.state == OPENED)
        .order_by(L.c.target_id, I.c.id)
    )
    return [(int(row[0]), _node(row, 1)) for row in session.execute(query)]


# ---------------------------------------------------------------- critical path inputs


def open_scope_nodes(
    session: Session, project_ids: Collection[int], readable: ColumnElement[bool]
) -> list[tuple[int, int | None, bool]]:
    """(id, weight, readable) of every open issue of the projects."""
    query = select(I.c.id, I.c.weight, case((readable, true()), else_=false())).where(
        I.c.project_id.in_(sorted(project_ids)), I.c.state == OPENED
    )
    return [(int(r[0]), r[1], bool(r[2])) for r in session.execute(query)]


def open_scope_blocks(session: Session, project_ids: Collection[int]) -> list[tuple[int, int]]:
    """(source, target) of every blocks link between two open issues of the projects."""
    s, t = I.alias("graph_s"), I.alias("graph_t")
    ids = sorted(project_ids)
    query = (
        select(L.c.source_id, L.c.target_id)
        .select_from(L.join(s, s.c.id == L.c.source_id).join(t, t.c.id == L.c.target_id))
        .where(
            L.c.link_type == BLOCKS,
            s.c.project_id.in_(ids),
            t.c.project_id.in_(ids),
            s.c.state == OPENED,
            t.c.state == OPENED,
        )
    )
    return [(int(a), int(b)) for a, b in session.execute(query)]


# ---------------------------------------------------------------- export streams


def stream_nodes(
    session: Session, project_ids: Collection[int], readable: ColumnElement[bool], *, batch: int = 2000
) -> Iterator[Node]:
    """Readable issues of the projects by id, fetched ``batch`` rows at a time (server-side cursor)."""
    query = (
        select(*NODE_COLUMNS)
        .select_from(I.join(P, P.c.id == I.c.project_id))
        .where(I.c.project_id.in_(sorted(project_ids)), readable)
        .order_by(I.c.id)
        .execution_options(yield_per=batch)
    )
    result = session.execute(query)
    try:
        for row in result:
            yield _node(row)
    finally:
        result.close()


EDGE_SOURCE = I.alias("graph_src")
EDGE_TARGET = I.alias("graph_tgt")


def stream_edges(
    session: Session,
    project_ids: Collection[int],
    readable_source: ColumnElement[bool],
    readable_target: ColumnElement[bool],
    *,
    batch: int = 5000,
) -> Iterator[tuple[int, int, int, str]]:
    """(link id, source, target, type) of links whose two issues are in scope and readable.

    ``readable_source`` / ``readable_target`` are conditions on ``EDGE_SOURCE`` / ``EDGE_TARGET``.
    """
    s, t = EDGE_SOURCE, EDGE_TARGET
    ids = sorted(project_ids)
    query = (
        select(L.c.id, L.c.source_id, L.c.target_id, L.c.link_type)
        .select_from(L.join(s, s.c.id == L.c.source_id).join(t, t.c.id == L.c.target_id))
        .where(s.c.project_id.in_(ids), t.c.project_id.in_(ids), readable_source, readable_target)
        .order_by(L.c.id)
        .execution_options(yield_per=batch)
    )
    result = session.execute(query)
    try:
        for row in result:
            yield int(row[0]), int(row[1]), int(row[2]), row[3]
    finally:
        result.close()


def count_scope(
    session: Session,
    project_ids: Collection[int],
    readable: ColumnElement[bool],
    readable_source: ColumnElement[bool],
    readable_target: ColumnElement[bool],
) -> tuple[int, int]:
    """How many nodes and edges an export of this scope will write (for progress bars)."""
    ids = sorted(project_ids)
    nodes = session.scalar(select(func.count()).select_from(I).where(I.c.project_id.in_(ids), readable)) or 0
    s, t = EDGE_SOURCE, EDGE_TARGET
    edges = (
        session.scalar(
            select(func.count())
            .select_from(L.join(s, s.c.id == L.c.source_id).join(t, t.c.id == L.c.target_id))
            .where(s.c.project_id.in_(ids), t.c.project_id.in_(ids), readable_source, readable_target)
        )
        or 0
    )
    return int(nodes), int(edges)
