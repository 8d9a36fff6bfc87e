"""Graph use cases: blockers, ready work, hierarchy, critical path, duplicates, bulk links.

The permission rule, applied by every function here and by the export:
**no answer ever reveals an issue the caller cannot read, not even as a step on a path.**
Walks go through unreadable ("hidden") issues, because the relation is real, but a
hidden issue is never a result; where one is a step between the start and a readable
result it is written as the opaque placeholder ``{"hidden": true}`` (no id, no title,
no state). Hidden issues that are not between two things the caller can see (a hidden
leaf, the hidden end of a chain) are left out entirely, and they add nothing to
roll-ups or weights.
"""

from __future__ import annotations

import base64
import binascii
import gc
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.db.models import Issue, IssueLink
from issuegraph.domain.errors import DomainError, Invalid, NotFound
from issuegraph.domain.ids import parse_id
from issuegraph.domain.links import LinkType, type_seen_from
from issuegraph.graph import repository as repo
from issuegraph.graph.repository import Node
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues_service
from issuegraph.links import repository as links_repo
from issuegraph.links import service as links_service
from issuegraph.projects import repository as projects_repo
from issuegraph.projects.service import (
    ProjectAccess,
    access_by_project_ids,
    access_for,
    resolve_group,
    resolve_project,
)

DEFAULT_DEPTH = 10
MAX_DEPTH = 50
# Hierarchies are capped at settings.max_depth (8) by the link rules; walks stop at 50
# whatever the data, so a bad row can never make a query run away.
HIERARCHY_CAP = 50
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_BULK = 1000

HIDDEN: dict[str, Any] = {"hidden": True}

Direction = Literal["blockers", "blocking"]


def ref(node: Node) -> dict[str, Any]:
    """How a readable issue appears in every graph answer."""
    return {
        "id": node.id,
        "iid": node.iid,
        "project_id": node.project_id,
        "reference": node.reference,
        "title": node.title,
        "state": node.state,
        "weight": node.weight,
    }


def node_of(issue: Issue, access: ProjectAccess) -> Node:
    return Node(
        issue.id,
        issue.project_id,
        issue.iid,
        issue.title,
        issue.state,
        issue.weight,
        bool(issue.confidential),
        issue.author_id,
        access.project.full_path,
    )


# ---------------------------------------------------------------- big answers

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off while a large answer is built.

    A 10k-node tree keeps ~10k tracked objects alive for the request; they trigger full
    collections that walk the whole process heap (measured: 8 in 20 requests, up to
    +400 ms each). Nothing built here is cyclic, so reference counting frees it all.
    Thread-safe: the collector comes back when the last concurrent user leaves, and
    only if it was on before.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


# ---------------------------------------------------------------- who sees what


class Viewer:
    """Decides, in a fixed number of queries per batch, which issues the caller may read."""

    def __init__(
        self, session: Session, actor: Actor, accesses: dict[int, ProjectAccess] | None = None
    ) -> None:
        self.session = session
        self.actor = actor
        self.accesses: dict[int, ProjectAccess] = dict(accesses or {})

    def visible_ids(self, nodes: Iterable[Node]) -> set[int]:
        return self.visible_rows((n.id, n.project_id, n.confidential, n.author_id) for n in nodes)

    def visible_rows(self, rows: Iterable[tuple[int, int, bool, int]]) -> set[int]:
        """Readable ids among (id, project id, confidential, author id) rows."""
        rows = list(rows)
        missing = {r[1] for r in rows} - self.accesses.keys()
        if missing:
            self.accesses.update(access_by_project_ids(self.session, self.actor, missing))
        uid = self.actor.user_id
        # project id -> None (unreadable), True (reads everything), False (not others' confidential)
        rule: dict[int, bool | None] = {
            pid: (a.can_read_confidential if a.can_read else None) for pid, a in self.accesses.items()
        }
        to_check = [
            r[0] for r in rows if r[2] and uid is not None and r[3] != uid and rule.get(r[1]) is False
        ]
        assigned = repo.assigned_to(self.session, to_check, uid) if to_check and uid is not None else set()
        return {
            r[0]
            for r in rows
            if (everything := rule.get(r[1])) is not None
            and (everything or not r[2] or (uid is not None and r[3] == uid) or r[0] in assigned)
        }


@dataclass
class Scope:
    """A project, or the readable projects of a group and its subgroups."""

    kind: Literal["project", "group"]
    id: int
    full_path: str
    accesses: dict[int, ProjectAccess]
    actor: Actor

    @property
    def project_ids(self) -> list[int]:
        return sorted(self.accesses)

    def readable(self, table: Any = None) -> ColumnElement[bool]:
        """SQL condition: an issue of this scope the caller may read (``table`` defaults to issues)."""
        full = [pid for pid, a in self.accesses.items() if a.can_read and a.can_read_confidential]
        limited = [pid for pid, a in self.accesses.items() if a.can_read and not a.can_read_confidential]
        return repo.readable_issues_clause(
            repo.I if table is None else table,
            full_project_ids=full,
            limited_project_ids=limited,
            user_id=self.actor.user_id,
        )

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "full_path": self.full_path}


def project_scope(session: Session, actor: Actor, project_ref: str) -> Scope:
    access = resolve_project(session, actor, project_ref)
    return Scope("project", access.project.id, access.project.full_path, {access.project.id: access}, actor)


def group_scope(session: Session, actor: Actor, group_ref: str) -> Scope:
    group = resolve_group(session, actor, group_ref)
    pairs = repo.group_projects(
        session, group, projects_repo.visible_projects_clause(actor.user_id, actor.is_admin)
    )
    accesses = {pid: a for pid, a in access_for(session, actor, pairs).items() if a.can_read}
    return Scope("group", group.id, group.full_path, accesses, actor)


def resolve_target(session: Session, actor: Actor, project_ref: str, iid: int) -> tuple[ProjectAccess, Node]:
    """The issue a request is about: readable, or NotFound exactly as elsewhere in the API."""
    access = resolve_project(session, actor, project_ref)
    issue = issues_service.resolve_issue(session, access, iid)
    return access, node_of(issue, access)


def _path_steps(chain: Sequence[int], nodes: dict[int, Node], visible: set[int]) -> list[dict[str, Any]]:
    return [ref(nodes[i]) if i in visible else HIDDEN for i in chain]


# ---------------------------------------------------------------- 1, 2: blockers and blocked issues


def related_by_blocks(
    session: Session,
    actor: Actor,
    project_ref: str,
    iid: int,
    *,
    direction: Direction,
    depth: int = DEFAULT_DEPTH,
    open_only: bool = False,
    limit: int = 1000,
) -> dict[str, Any]:
    """Issues that block this one (``blockers``) or that it blocks (``blocking``), transitively.

    Each result carries its distance and one shortest path, chosen to cross as few
    hidden issues as possible: from the blocker to the issue for ``blockers``, from
    the issue to the blocked issue for ``blocking``.
    """
    depth = _check_depth(depth)
    access, start = resolve_target(session, actor, project_ref, iid)
    with gc_paused():
        return _related(session, actor, access, start, direction, depth, open_only, limit)


def _related(
    session: Session,
    actor: Actor,
    access: ProjectAccess,
    start: Node,
    direction: Direction,
    depth: int,
    open_only: bool,
    limit: int,
) -> dict[str, Any]:
    steps = repo.walk(
        session,
        start.id,
        link_type=repo.BLOCKS,
        upward=direction == "blockers",
        max_depth=depth,
        open_only=open_only,
    )
    nodes: dict[int, Node] = {start.id: start}
    level: dict[int, int] = {}
    vias: dict[int, list[int]] = defaultdict(list)
    for step in steps:
        nodes[step.node.id] = step.node
        level[step.node.id] = step.depth
        vias[step.node.id].append(step.via)
    viewer = Viewer(session, actor, {access.project.id: access})
    visible = viewer.visible_ids(n for i, n in nodes.items() if i != start.id) | {start.id}

    order = sorted(level, key=lambda i: (level[i], i))
    hidden_cost: dict[int, int] = {start.id: 0}
    toward_start: dict[int, int] = {}
    for node_id in order:
        best = min(vias[node_id], key=lambda v: (hidden_cost[v], v))
        toward_start[node_id] = best
        hidden_cost[node_id] = hidden_cost[best] + (node_id not in visible)

    results = [i for i in order if i in visible]
    items = []
    for node_id in results[:limit]:
        chain = [node_id]
        while chain[-1] != start.id:
            chain.append(toward_start[chain[-1]])
        if direction == "blocking":
            chain.reverse()
        items.append(
            {
                "issue": ref(nodes[node_id]),
                "depth": level[node_id],
                "path": _path_steps(chain, nodes, visible),
            }
        )
    return {
        "issue": ref(start),
        "direction": direction,
        "depth": depth,
        "open_only": open_only,
        "count": len(results),
        "truncated": len(results) > limit,
        "items": items,
    }


def _check_depth(depth: int) -> int:
    if not 1 <= depth <= MAX_DEPTH:
        raise Invalid("invalid_depth", f"depth must be between 1 and {MAX_DEPTH}", details={"field": "depth"})
    return depth


# ---------------------------------------------------------------- 3: ready to work / blocked


def work_list_key(scope: Scope, *, blocked: bool) -> str:
    """What a ready/blocked cursor is bound to: the list (ready or blocked) of this project or group."""
    return f"{'blocked' if blocked else 'ready'}:{scope.kind}:{scope.id}"


def encode_cursor(list_key: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{list_key}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(list_key: str, cursor: str | None) -> int:
    """The last id of the previous page; a cursor of any other list is invalid."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found_key, _, value = raw.rpartition(":")
        number = parse_id(value)
        if found_key != list_key or number is None:
            raise ValueError(raw)
        return number
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise Invalid("invalid_cursor", "cursor is invalid", details={"field": "cursor"}) from exc


def work_page(
    session: Session,
    actor: Actor,
    scope: Scope,
    *,
    blocked: bool,
    per_page: int = DEFAULT_PER_PAGE,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of open issues with no open blocker (ready) or with one (blocked), by id.

    An open blocker the caller cannot read still blocks: the issue is not ready, and in
    the blocked list that blocker is a placeholder.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(
            "invalid_per_page",
            f"per_page must be between 1 and {MAX_PER_PAGE}",
            details={"field": "per_page"},
        )
    list_key = work_list_key(scope, blocked=blocked)  # a cursor of another list is refused
    after = decode_cursor(list_key, cursor)
    rows = repo.scope_page(
        session,
        project_ids=scope.project_ids,
        readable=scope.readable(),
        blocked=blocked,
        after_id=after,
        limit=per_page + 1,
    )
    page, more = rows[:per_page], len(rows) > per_page
    next_cursor = encode_cursor(list_key, page[-1].id) if more else None
    items: list[dict[str, Any]]
    if not blocked:
        items = [ref(n) for n in page]
    else:
        pairs = repo.open_blockers_of(session, [n.id for n in page])
        viewer = Viewer(session, actor, scope.accesses)
        visible = viewer.visible_ids(b for _, b in pairs)
        by_issue: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for issue_id, blocker in pairs:
            by_issue[issue_id].append(ref(blocker) if blocker.id in visible else HIDDEN)
        items = [{"issue": ref(n), "open_blockers": by_issue.get(n.id, [])} for n in page]
    return {"scope": scope.describe(), "items": items, "per_page": per_page, "next_cursor": next_cursor}


# ---------------------------------------------------------------- 4: hierarchy


def ancestors(session: Session, actor: Actor, project_ref: str, iid: int) -> dict[str, Any]:
    """Parent, grandparent, ... up to the root; hidden ancestors between readable ones are placeholders."""
    access, start = resolve_target(session, actor, project_ref, iid)
    steps = sorted(
        repo.walk(session, start.id, link_type=repo.PARENT_OF, upward=True, max_depth=HIERARCHY_CAP),
        key=lambda s: (s.depth, s.node.id),
    )
    chain: list[Node] = []
    for step in steps:  # one parent per issue: one node per depth
        if not chain or step.depth > len(chain):
            chain.append(step.node)
    visible = Viewer(session, actor, {access.project.id: access}).visible_ids(chain)
    while chain and chain[-1].id not in visible:  # nothing readable above: say nothing
        chain.pop()
    return {
        "issue": ref(start),
        "ancestors": [ref(n) if n.id in visible else HIDDEN for n in chain],
        "root": ref(chain[-1]) if chain else None,
    }


def _rollup(total: int, closed: int, weight: int, weight_closed: int) -> dict[str, Any]:
    return {
        "descendants_total": total,
        "descendants_closed": closed,
        "descendants_open": total - closed,
        "percent_done": round(100.0 * closed / total, 1) if total else None,
        "weight_total": weight,
        "weight_closed": weight_closed,
    }


def descendant_tree(
    session: Session, actor: Actor, project_ref: str, iid: int, *, depth: int = HIERARCHY_CAP
) -> dict[str, Any]:
    """The sub-issue tree under an issue, every node with roll-ups of its readable descendants.

    Roll-ups count only issues the caller can read; a hidden sub-issue appears (as a
    placeholder) only when readable issues sit below it.
    """
    if not 1 <= depth <= HIERARCHY_CAP:
        raise Invalid(
            "invalid_depth", f"depth must be between 1 and {HIERARCHY_CAP}", details={"field": "depth"}
        )
    access, root = resolve_target(session, actor, project_ref, iid)
    with gc_paused():
        return _tree(session, actor, access, root, depth)


def _tree(session: Session, actor: Actor, access: ProjectAccess, root: Node, depth: int) -> dict[str, Any]:
    # `depth` limits the levels shown; roll-ups still cover every readable descendant, so the
    # whole subtree is read and the nodes below `depth` are summed but not written.
    found = repo.tree_rows(session, root.id, max_depth=HIERARCHY_CAP)
    rows, paths = found.rows, found.project_paths
    viewer = Viewer(session, actor, {access.project.id: access})
    visible = viewer.visible_rows((r[2], r[3], r[8], r[9]) for r in rows)
    visible.add(root.id)
    children: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        children[r[0]].append(r[2])
    # Built bottom-up as JSON bytes: a 10k-node tree would otherwise be ~40k small dicts
    # and lists, and the garbage collector's passes over them cost more than the build.
    sums: dict[int, tuple[int, int, int, int]] = {}
    out: dict[int, bytes] = {}
    height = 0
    top = (0, 0, root.id, root.project_id, root.iid, root.title, root.state, root.weight)
    paths.setdefault(root.project_id, root.project_path)
    for r in [*reversed(rows), top]:
        node_id = r[2]
        total = closed = weight = weight_closed = 0
        parts = []
        for kid in children.get(node_id, ()):
            done = sums.get(kid)
            if done is not None:
                total, closed = total + done[0], closed + done[1]
                weight, weight_closed = weight + done[2], weight_closed + done[3]
                if kid in out:
                    parts.append(out.pop(kid))
        seen = node_id in visible
        if not seen and not total:
            continue
        own_weight = (r[7] or 0) if seen else 0
        own_closed = seen and r[6] != repo.OPENED
        sums[node_id] = (
            total + seen,
            closed + own_closed,
            weight + own_weight,
            weight_closed + (own_weight if own_closed else 0),
        )
        if r[1] > depth:
            continue
        height = max(height, r[1])
        issue = (
            {
                "id": node_id,
                "iid": r[4],
                "project_id": r[3],
                "reference": f"{paths[r[3]]}#{r[4]}",
                "title": r[5],
                "state": r[6],
                "weight": r[7],
            }
            if seen
            else HIDDEN
        )
        head = orjson.dumps({"issue": issue, "rollup": _rollup(total, closed, weight, weight_closed)})
        out[node_id] = b"".join((head[:-1], b',"children":[', b",".join(parts), b"]}"))
    return {"root": orjson.Fragment(out[root.id]), "height": height}


# ---------------------------------------------------------------- 5: critical path


def critical_path(
    session: Session, actor: Actor, project_ref: str, *, by: Literal["count", "weight"]
) -> dict[str, Any]:
    """The longest chain of open issues linked by ``blocks`` inside one project.

    ``count`` maximises the number of issues, ``weight`` the sum of their weights (no
    weight counts 0). Hidden issues may be steps of the chain (placeholders, weight 0)
    but never its first or last issue.
    """
    scope = project_scope(session, actor, project_ref)
    with gc_paused():
        rows = repo.open_scope_nodes(session, scope.project_ids, scope.readable())
        edges = repo.open_scope_blocks(session, scope.project_ids)
        chain = longest_chain(rows, edges, by=by)
    nodes = repo.nodes_by_ids(session, chain)
    readable = {i for i, _, seen in rows if seen}
    weight = sum(nodes[i].weight or 0 for i in chain if i in readable)
    return {
        "scope": scope.describe(),
        "by": by,
        "length": len(chain),
        "total_weight": weight,
        "chain": _path_steps(chain, nodes, readable),
    }


def longest_chain(
    rows: Sequence[tuple[int, int | None, bool]], edges: Sequence[tuple[int, int]], *, by: str
) -> list[int]:
    """Longest path of a DAG (Kahn order), starting and ending on readable nodes; ties go to lower ids.

    Nodes on a cycle (the link rules forbid them) are never ordered and so never used.
    """
    readable = {i: seen for i, _, seen in rows}
    cost = {i: (1 if by == "count" else ((w or 0) if seen else 0)) for i, w, seen in rows}
    succ: dict[int, list[int]] = defaultdict(list)
    indegree = dict.fromkeys(readable, 0)
    for s, t in edges:
        if s in readable and t in readable:
            succ[s].append(t)
            indegree[t] += 1
    NONE = -1
    best = {i: (cost[i] if readable[i] else NONE) for i in readable}
    prev: dict[int, int] = {}
    frontier = sorted(i for i, d in indegree.items() if d == 0)
    order: list[int] = []
    while frontier:
        order.extend(frontier)
        nxt = []
        for u in frontier:
            for v in succ.get(u, ()):
                if best[u] != NONE:
                    score = best[u] + cost[v]
                    if score > best[v] or (score == best[v] and v in prev and u < prev[v]):
                        best[v], prev[v] = score, u
                indegree[v] -= 1
                if indegree[v] == 0:
                    nxt.append(v)
        frontier = sorted(nxt)
    ends = [i for i in order if readable[i] and best[i] != NONE]
    if not ends:
        return []
    end = max(ends, key=lambda i: (best[i], -i))
    chain = [end]
    while chain[-1] in prev:
        chain.append(prev[chain[-1]])
    chain.reverse()
    while chain and not readable[chain[0]]:  # cannot happen (a chain starts readable), kept as a guard
        chain.pop(0)
    return chain


# ---------------------------------------------------------------- 6: duplicates


def canonical(session: Session, actor: Actor, project_ref: str, iid: int) -> dict[str, Any]:
    """Follow ``duplicates`` links to the issue at the end of the chain.

    ``canonical`` is null when that issue is one the caller cannot read; the chain then
    stops at the last readable issue.
    """
    access, start = resolve_target(session, actor, project_ref, iid)
    steps = sorted(
        repo.walk(session, start.id, link_type=repo.DUPLICATES, upward=False, max_depth=MAX_DEPTH),
        key=lambda s: (s.depth, s.node.id),
    )
    chain: list[Node] = [start]
    for step in steps:  # one canonical per issue: one node per depth
        if step.depth == len(chain):
            chain.append(step.node)
    visible = Viewer(session, actor, {access.project.id: access}).visible_ids(chain[1:]) | {start.id}
    end_visible = chain[-1].id in visible
    while chain[-1].id not in visible:
        chain.pop()
    return {
        "issue": ref(start),
        "canonical": ref(chain[-1]) if end_visible else None,
        "is_duplicate": len(steps) > 0,
        "chain": [ref(n) if n.id in visible else HIDDEN for n in chain],
    }


# ---------------------------------------------------------------- 8: bulk links


@dataclass
class Locator:
    """An issue named in a bulk item: global ``id``, or ``project`` (id or full path) and ``iid``."""

    id: int | None = None
    project: str | None = None
    iid: int | None = None


@dataclass
class BulkItem:
    action: Literal["create", "delete"]
    source: Locator
    target: Locator
    link_type: LinkType | None = None


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    project_id: int
    confidential: bool
    author_id: int


@dataclass
class _Resolver:
    """Resolves bulk locators with a fixed number of queries per project, not per item.

    Same answers as ``issues.service.resolve_issue``: an issue the caller cannot read,
    or in a project it cannot read, is NotFound. Issues are looked up as plain rows;
    each item then loads its two ``Issue`` objects and ``release`` detaches the ones it
    loaded, so the session does not grow with the batch (ORM bulk updates in the link
    rules visit every object the session holds).
    """

    session: Session
    actor: Actor
    projects: dict[str, ProjectAccess] = field(default_factory=dict)
    accesses: dict[int, ProjectAccess] = field(default_factory=dict)
    by_id: dict[int, _Row] = field(default_factory=dict)
    by_iid: dict[tuple[int, int], int] = field(default_factory=dict)
    loaded: list[Issue] = field(default_factory=list)

    def prefetch(self, items: Sequence[BulkItem]) -> None:
        locators = [loc for item in items for loc in (item.source, item.target)]
        columns = (Issue.id, Issue.project_id, Issue.iid, Issue.confidential, Issue.author_id)
        ids = sorted({loc.id for loc in locators if loc.id is not None})
        wanted: dict[str, set[int]] = defaultdict(set)
        for loc in locators:
            if loc.id is None and loc.project is not None and loc.iid is not None:
                wanted[str(loc.project).lower()].add(loc.iid)
        queries = [select(*columns).where(Issue.id.in_(ids))] if ids else []
        for key, iids in wanted.items():
            try:
                access = self._project(key)
            except DomainError:
                continue  # reported by the item itself
            queries.append(
                select(*columns).where(Issue.project_id == access.project.id, Issue.iid.in_(sorted(iids)))
            )
        for query in queries:
            for issue_id, project_id, iid, confidential, author_id in self.session.execute(query):
                self.by_id[issue_id] = _Row(issue_id, project_id, bool(confidential), author_id)
                self.by_iid[(project_id, iid)] = issue_id
        missing = {r.project_id for r in self.by_id.values()} - self.accesses.keys()
        if missing:
            self.accesses.update(access_by_project_ids(self.session, self.actor, missing))

    def _project(self, key: str) -> ProjectAccess:
        cached = self.projects.get(key)
        if cached is None:
            cached = resolve_project(self.session, self.actor, key)
            self.projects[key] = cached
            self.accesses.setdefault(cached.project.id, cached)
        return cached

    def issue(self, where: Locator) -> Issue:
        if where.id is not None:
            row = self.by_id.get(where.id)
        elif where.project is None or where.iid is None:
            raise Invalid("invalid_locator", "give an issue id, or a project and an iid")
        else:
            project = self._project(str(where.project).lower())
            found = self.by_iid.get((project.project.id, where.iid))
            row = self.by_id.get(found) if found is not None else None
        access = self.accesses.get(row.project_id) if row is not None else None
        if row is None or access is None or not self._readable(access, row):
            raise NotFound("issue_not_found", "404 Not found")
        return self._load(row.id)

    def _load(self, issue_id: int) -> Issue:
        present = self.session.identity_key(Issue, issue_id) in self.session.identity_map
        issue = self.session.get(Issue, issue_id)
        if issue is None:  # deleted since the prefetch
            raise NotFound("issue_not_found", "404 Not found")
        if not present:
            self.loaded.append(issue)
        return issue

    def release(self) -> None:
        """Detach the Issue objects this item loaded (they are not modified)."""
        for issue in self.loaded:
            if issue in self.session:
                self.session.expunge(issue)
        self.loaded.clear()

    def _readable(self, access: ProjectAccess, row: _Row) -> bool:
        if not access.can_read:
            return False
        uid = self.actor.user_id
        if not row.confidential or access.can_read_confidential or (uid is not None and row.author_id == uid):
            return True
        return uid is not None and uid in issues_repo.assignee_ids(self.session, [row.id]).get(row.id, [])


def bulk_links(
    session: Session, actor: Actor, items: Sequence[BulkItem], *, silent: bool = False
) -> list[dict[str, Any]]:
    """Create or delete up to 1,000 links, all or nothing.

    Each item runs the ordinary single-link rules (``links.service``) inside its own
    SAVEPOINT, in order, so later items see earlier ones. If any item fails, everything
    is rolled back and an ``Invalid('bulk_failed')`` lists every failing item (index,
    code, message, details).
    """
    actor.require_write()
    if not items:
        raise Invalid("bulk_empty", "operations is empty", details={"field": "operations"})
    if len(items) > MAX_BULK:
        raise Invalid(
            "bulk_too_large", f"at most {MAX_BULK} operations per request", details={"field": "operations"}
        )
    resolver = _Resolver(session, actor)
    resolver.prefetch(items)
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    outer = session.begin_nested()
    try:
        for index, item in enumerate(items):
            try:
                with session.begin_nested():
                    results.append(_apply(session, actor, resolver, index, item, silent))
            except DomainError as exc:
                errors.append(
                    {"index": index, "code": exc.code, "message": exc.message, "details": exc.details}
                )
            finally:
                resolver.release()
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    if errors:
        outer.rollback()
        raise Invalid(
            "bulk_failed",
            f"{len(errors)} of {len(items)} operations failed; nothing was changed",
            details={"errors": errors},
        )
    outer.commit()
    return results


def _apply(
    session: Session, actor: Actor, resolver: _Resolver, index: int, item: BulkItem, silent: bool
) -> dict[str, Any]:
    source = resolver.issue(item.source)
    target = resolver.issue(item.target)
    if item.action == "create":
        if item.link_type is None:
            raise Invalid("link_type_missing", "link_type is missing", details={"field": "link_type"})
        link = links_service.create_link(
            session, actor, source, target, item.link_type, silent=silent, accesses=resolver.accesses
        )
        return _result(index, "created", link)
    existing = links_repo.find_pair(session, source.id, target.id)
    if existing is None or (
        item.link_type is not None
        and type_seen_from(LinkType(existing.link_type), viewer_is_source=existing.source_id == source.id)
        != item.link_type
    ):
        raise NotFound("link_not_found", "no such link between these issues")
    outcome = _result(index, "deleted", existing)
    src, tgt = (source, target) if existing.source_id == source.id else (target, source)
    links_service.delete_link(session, actor, existing, src, tgt, silent=silent)
    return outcome


def _result(index: int, status: str, link: IssueLink) -> dict[str, Any]:
    return {
        "index": index,
        "status": status,
        "link_id": link.id,
        "source_id": link.source_id,
        "target_id": link.target_id,
        "link_type": link.link_type,
    }
