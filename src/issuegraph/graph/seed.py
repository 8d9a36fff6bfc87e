"""A realistic, large issue graph, fast: ``issuegraph dev seed``.

What it builds (deterministic for a given ``--random-seed``):

* one group ``seed`` with an owner (``seed-owner``, Owner) and a guest (``seed-guest``,
  Guest: cannot read confidential issues, so queries exercise hidden steps);
* projects with skewed sizes: ``large`` (50k issues, the ready-to-work target),
  ``huge`` (100k, the export target) when there is room, the rest Zipf-distributed;
* issues whose ids interleave across projects; older issues are more often closed;
  3% confidential, 60% weighted;
* one ``parent_of`` tree of 10k issues in ``large`` (10 children per node, 5 levels),
  plus many small trees grown by preferential attachment (at most 8 levels and 100
  children, one parent per issue);
* a blocking DAG: a link always goes from a lower id to a higher one, so there is no
  cycle; mostly local chains inside a project, some hubs, some cross-project links;
* duplicates (the newer issue duplicates an older one, which is more canonical; at most
  one per issue; the duplicate is closed) and related links;
* one row per unordered pair, ``pair_lo < pair_hi`` matching source/target, and at
  most ``max_links_per_issue`` links per issue, as the link rules require.

PostgreSQL is loaded with ``COPY`` (psycopg ``cursor.copy``), SQLite with
``executemany``; both then get fresh planner statistics.
"""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import GroupMember, Issue, IssueLink, Namespace, Project, User
from issuegraph.domain.errors import Conflict
from issuegraph.links import components as link_components

GROUP_PATH = "seed"
OWNER, GUEST = "seed-owner", "seed-guest"
LARGE_SIZE = 50_000
HUGE_SIZE = 100_000
HIERARCHY_SIZE = 10_000
HIERARCHY_BRANCHING = 10

# Share of the link budget per type (what is left over goes to related_to).
SHARE_PARENT = 0.25
SHARE_BLOCKS = 0.40
SHARE_DUPLICATES = 0.03

TYPES = ("related_to", "parent_of", "blocks", "duplicates")
RELATED, PARENT, BLOCKS, DUPLICATES = range(4)

VERBS = ("Fix", "Add", "Refactor", "Document", "Speed up", "Remove", "Support", "Test", "Migrate", "Design")
NOUNS = (
    "login form", "export", "search index", "billing page", "API client", "audit log", "dark mode",
    "webhooks", "rate limiter", "CSV import", "permissions", "dashboard", "mobile layout", "cache",
)  # fmt: skip

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class SeedResult:
    issues: int
    links: dict[str, int]
    projects: dict[str, int] = field(default_factory=dict)  # path -> project id
    sizes: dict[str, int] = field(default_factory=dict)  # path -> issues
    group_id: int = 0
    owner_id: int = 0
    guest_id: int = 0
    large_project_id: int | None = None
    huge_project_id: int | None = None
    hierarchy_root_iid: int | None = None
    hierarchy_size: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: generate, issues, links, statistics

    @property
    def total_links(self) -> int:
        return sum(self.links.values())


class _Graph:
    """Links under construction, with every rule checked as they are added."""

    def __init__(self, n: int, max_links: int) -> None:
        self.n = n
        self.max_links = max_links
        self.src = array("i")
        self.tgt = array("i")
        self.typ = bytearray()
        self.pairs: set[int] = set()
        self.degree = array("H", bytes(2 * n))
        self.level = bytearray(n)  # 0: in no tree; 1: a root; k: k-th level
        self.children = bytearray(n)
        self.frozen = bytearray(n)  # members of the reserved 10k tree
        self.has_canonical = bytearray(n)

    def add(self, s: int, t: int, kind: int) -> bool:
        if s == t or self.degree[s] >= self.max_links or self.degree[t] >= self.max_links:
            return False
        key = s * self.n + t if s < t else t * self.n + s
        if key in self.pairs:
            return False
        self.pairs.add(key)
        self.src.append(s)
        self.tgt.append(t)
        self.typ.append(kind)
        self.degree[s] += 1
        self.degree[t] += 1
        return True

    def count(self, kind: int) -> int:
        return self.typ.count(kind)


def _sizes(n: int, projects: int) -> list[tuple[str, int]]:
    projects = max(1, min(projects, n))
    if projects == 1:
        return [("large", n)]
    large = min(LARGE_SIZE, n // 2)
    huge = min(HUGE_SIZE, (n - large) // 2) if projects >= 3 else 0
    sizes = [("large", large)] + ([("huge", huge)] if huge else [])
    rest = n - large - huge
    count = projects - len(sizes)
    weights = [1 / (k + 1) ** 0.8 for k in range(count)]
    total = sum(weights)
    share = [max(1, int(rest * w / total)) for w in weights]
    share[0] += rest - sum(share)
    sizes += [(f"p{k + 1:03d}", s) for k, s in enumerate(share)]
    return sizes


def seed(
    settings: Settings,
    *,
    issues: int,
    links: int,
    projects: int,
    random_seed: int = 42,
    progress: Progress | None = None,
) -> SeedResult:
    """Build the graph in ``settings.database_url`` (migrated, without a ``seed`` group)."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    rng = random.Random(random_seed)
    database = Database(settings)
    try:
        with database.session() as session:
            if session.scalar(select(Namespace.id).where(Namespace.full_path == GROUP_PATH)) is not None:
                raise Conflict(
                    "already_seeded", f"group {GROUP_PATH!r} already exists: seed an empty database"
                )
            plan = _sizes(issues, projects)
            result = _accounts(session, plan)
            base_issue = int(session.scalar(select(func.coalesce(func.max(Issue.id), 0))) or 0) + 1
            base_link = int(session.scalar(select(func.coalesce(func.max(IssueLink.id), 0))) or 0) + 1
        project_ids = [result.projects[path] for path, _ in plan]
        sizes = [size for _, size in plan]
        result.sizes = dict(plan)
        owner = result.owner_id

        report("plan issues", 0, issues)
        proj_of = array("i", [k for k, size in enumerate(sizes) for _ in range(size)])
        rng.shuffle(proj_of)
        members: list[array[int]] = [array("i") for _ in sizes]
        position = array("i", bytes(4 * issues))
        for i, k in enumerate(proj_of):
            position[i] = len(members[k])
            members[k].append(i)
        report("plan issues", issues, issues)

        graph = _Graph(issues, settings.max_links_per_issue)
        result.hierarchy_size = _hierarchy(graph, members[0])
        result.hierarchy_root_iid = 1 if result.hierarchy_size else None
        tree_budget = int(links * SHARE_PARENT) - max(0, result.hierarchy_size - 1)
        _trees(graph, rng, members, proj_of, position, tree_budget, report)
        _blocks(graph, rng, members, proj_of, position, int(links * SHARE_BLOCKS), report)
        _duplicates(graph, rng, members, proj_of, position, int(links * SHARE_DUPLICATES), report)
        _related(graph, rng, members, proj_of, position, links - len(graph.typ), report)

        closed_as_duplicate = bytearray(issues)
        for s, kind in zip(graph.src, graph.typ, strict=True):
            if kind == DUPLICATES:
                closed_as_duplicate[s] = 1
        rows = _issue_rows(
            rng, issues, proj_of, position, project_ids, owner, base_issue, closed_as_duplicate
        )
        link_rows = _link_rows(graph, base_issue, base_link, owner, issues)
        phases = result.phases
        phases["generate"] = time.perf_counter() - clock
        with database.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                _copy(session, rows, link_rows, issues, len(graph.typ), report, phases)
                link_components.rebuild(session)  # COPY wrote links past create_link's locks
            else:
                _insert(session, rows, link_rows, issues, len(graph.typ), report, phases)
            for pid, size in zip(project_ids, sizes, strict=True):
                session.execute(update(Project).where(Project.id == pid).values(last_issue_iid=size))
            mark = time.perf_counter()
        phases["commit"] = time.perf_counter() - mark
        report("statistics", 0, 1)
        mark = time.perf_counter()
        _analyze(database)
        phases["statistics"] = time.perf_counter() - mark
        report("statistics", 1, 1)
    finally:
        database.dispose()
    result.issues = issues
    result.links = {TYPES[k]: graph.count(k) for k in range(4)}
    result.large_project_id = result.projects.get("large")
    result.huge_project_id = result.projects.get("huge")
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    return result


# ---------------------------------------------------------------- accounts and projects


def _accounts(session: Session, sizes: list[tuple[str, int]]) -> SeedResult:
    users = []
    for username in (OWNER, GUEST):
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(
                username=username, name=username.title(), email=f"{username}@seed.invalid", is_admin=False
            )
            session.add(user)
            session.flush()
            ns = Namespace(kind="user", name=user.name, path=username, full_path=username, owner_id=user.id)
            ns.visibility, ns.traversal_ids = "public", ""
            session.add(ns)
            session.flush()
            ns.traversal_ids = str(ns.id)
        users.append(user)
    owner, guest = users
    group = Namespace(
        kind="group",
        name="Seed",
        path=GROUP_PATH,
        full_path=GROUP_PATH,
        visibility="private",
        traversal_ids="",
    )
    session.add(group)
    session.flush()
    group.traversal_ids = str(group.id)
    session.add(GroupMember(namespace_id=group.id, user_id=owner.id, access_level=50))
    session.add(GroupMember(namespace_id=group.id, user_id=guest.id, access_level=10))
    result = SeedResult(issues=0, links={}, group_id=group.id, owner_id=owner.id, guest_id=guest.id)
    for path, _ in sizes:
        project = Project(
            namespace_id=group.id,
            name=path,
            path=path,
            full_path=f"{GROUP_PATH}/{path}",
            visibility="private",
            creator_id=owner.id,
            last_issue_iid=0,
        )
        session.add(project)
        session.flush()
        result.projects[path] = project.id
    return result


# ---------------------------------------------------------------- links


def _hierarchy(graph: _Graph, large: array[int]) -> int:
    """The reserved tree: node k's children are nodes 10k+1 .. 10k+10 (BFS order). Returns its size."""
    size = min(HIERARCHY_SIZE, len(large) // 5)
    if size < 2:
        return 0
    graph.level[large[0]] = 1
    graph.frozen[large[0]] = 1
    for k in range(1, size):
        parent, child = large[(k - 1) // HIERARCHY_BRANCHING], large[k]
        graph.add(parent, child, PARENT)
        graph.level[child] = graph.level[parent] + 1
        graph.children[parent] += 1
        graph.frozen[child] = 1
    return size


def _back(rng: random.Random, pos: int, mean: float) -> int:
    """A position before ``pos``, usually close to it (exponential distance)."""
    return pos - 1 - int(rng.expovariate(1.0 / mean))


def _trees(
    graph: _Graph,
    rng: random.Random,
    members: list[array[int]],
    proj_of: array[int],
    position: array[int],
    budget: int,
    report: Progress,
) -> None:
    """Small trees by preferential attachment, inside each project, parents older than children."""
    if budget <= 0:
        return
    n = graph.n
    chance = min(0.95, budget / max(1, n))
    pools: list[list[int]] = [[] for _ in members]
    made = 0
    for c in range(n):
        if made >= budget:
            break
        if c % 100_000 == 0:
            report("parent_of", made, budget)
        if graph.frozen[c] or graph.level[c]:
            continue
        pool = pools[proj_of[c]]
        if not pool or rng.random() < 0.04:
            pool.append(c)  # a new epic: a root-to-be
            continue
        if rng.random() > chance:
            continue
        for _ in range(4):
            p = pool[max(0, len(pool) - 1 - int(rng.expovariate(1 / 300)))]
            lvl = graph.level[p] or 1
            if lvl < 8 and graph.children[p] < 100 and graph.add(p, c, PARENT):
                graph.level[p] = lvl
                graph.level[c] = lvl + 1
                graph.children[p] += 1
                pool.append(c)
                pool.append(p)
                made += 1
                break
    report("parent_of", made, budget)


def _blocks(
    graph: _Graph,
    rng: random.Random,
    members: list[array[int]],
    proj_of: array[int],
    position: array[int],
    budget: int,
    report: Progress,
) -> None:
    """A DAG: the blocker always has the lower id. Local chains, hubs, a few cross-project links."""
    n = graph.n
    made = attempts = 0
    while made < budget and attempts < budget * 3:
        attempts += 1
        t = rng.randrange(n)
        roll = rng.random()
        if roll < 0.08:  # cross-project, close in time
            s = t - 1 - int(rng.expovariate(1 / 2000))
        else:
            mine, pos = members[proj_of[t]], position[t]
            if roll < 0.20:  # a hub of the project: every 200th issue
                hub = (pos // 200 - int(rng.expovariate(1 / 2))) * 200
                s = mine[hub] if 0 <= hub < pos else -1
            else:  # local chains
                back = _back(rng, pos, 25)
                s = mine[back] if back >= 0 else -1
        if 0 <= s < t and graph.add(s, t, BLOCKS):
            made += 1
            if made % 200_000 == 0:
                report("blocks", made, budget)
    report("blocks", made, budget)


def _duplicates(
    graph: _Graph,
    rng: random.Random,
    members: list[array[int]],
    proj_of: array[int],
    position: array[int],
    budget: int,
    report: Progress,
) -> None:
    """The newer issue duplicates an older one of its project; one canonical per issue."""
    n = graph.n
    made = attempts = 0
    while made < budget and attempts < budget * 3:
        attempts += 1
        s = rng.randrange(n)
        if graph.has_canonical[s]:
            continue
        back = _back(rng, position[s], 100)
        if back < 0:
            continue
        t = members[proj_of[s]][back]
        if graph.add(s, t, DUPLICATES):
            graph.has_canonical[s] = 1
            made += 1
    report("duplicates", made, budget)


def _related(
    graph: _Graph,
    rng: random.Random,
    members: list[array[int]],
    proj_of: array[int],
    position: array[int],
    budget: int,
    report: Progress,
) -> None:
    n = graph.n
    made = attempts = 0
    while made < budget and attempts < budget * 3:
        attempts += 1
        a = rng.randrange(n)
        if rng.random() < 0.8:
            mine = members[proj_of[a]]
            other = position[a] + int(rng.gauss(0, 500))
            if not 0 <= other < len(mine):
                continue
            b = mine[other]
        else:
            b = rng.randrange(n)
        if graph.add(min(a, b), max(a, b), RELATED):
            made += 1
            if made % 200_000 == 0:
                report("related_to", made, budget)
    report("related_to", made, budget)


# ---------------------------------------------------------------- rows


def _issue_rows(
    rng: random.Random,
    n: int,
    proj_of: array[int],
    position: array[int],
    project_ids: list[int],
    owner: int,
    base: int,
    closed_as_duplicate: bytearray,
) -> Iterator[tuple[Any, ...]]:
    """(id, project_id, iid, title, state, status, confidential, weight, author, created, closed_at)."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=730)
    span = 730 * 86400
    weights = (1, 2, 3, 5, 8)
    for i in range(n):
        created = start + timedelta(seconds=span * i // max(1, n))
        if closed_as_duplicate[i]:
            state, status = "closed", "duplicate"
        elif rng.random() < 0.1 + 0.55 * (1 - i / n):
            state, status = "closed", "closed" if rng.random() < 0.9 else "declined"
        else:
            state = "opened"
            roll = rng.random()
            status = "open" if roll < 0.7 else ("inProgress" if roll < 0.9 else "paused")
        weight = weights[rng.randrange(5)] if rng.random() < 0.6 else None
        closed_at = created + timedelta(days=rng.randrange(1, 60)) if state == "closed" else None
        yield (
            base + i,
            project_ids[proj_of[i]],
            position[i] + 1,
            f"{VERBS[i % len(VERBS)]} {NOUNS[(i // 7) % len(NOUNS)]} #{i}",
            state,
            status,
            rng.random() < 0.03,
            weight,
            owner,
            created,
            closed_at,
        )


def _link_rows(
    graph: _Graph, base_issue: int, base_link: int, owner: int, n: int
) -> Iterator[tuple[Any, ...]]:
    """(id, source, target, type, lo, hi, author, created), in the order of the newer issue.

    Links are generated type by type; writing them in the order they would have been
    created (when their newer issue existed) mixes the types on disk, as in real life.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    src, tgt, typ = graph.src, graph.tgt, graph.typ
    newer = array("i", (s if s > t else t for s, t in zip(src, tgt, strict=True)))
    for k, j in enumerate(sorted(range(len(typ)), key=newer.__getitem__)):
        a, b = base_issue + src[j], base_issue + tgt[j]
        yield (base_link + k, a, b, TYPES[typ[j]], min(a, b), max(a, b), owner, now)


ISSUE_COLUMNS = (
    "id, project_id, iid, title, description, state, status, priority, confidential, discussion_locked, "
    "weight, author_id, updated_by_id, created_at, updated_at, closed_at"
)
NULL = "\\N"  # COPY's text-format NULL
LINK_COLUMNS = "id, source_id, target_id, link_type, pair_lo, pair_hi, author_id, created_at, updated_at"


def _copy(
    session: Session,
    issues: Iterator[tuple[Any, ...]],
    links: Iterator[tuple[Any, ...]],
    n_issues: int,
    n_links: int,
    report: Progress,
    phases: dict[str, float],
) -> None:
    mark = time.perf_counter()
    raw: Any = session.connection().connection.dbapi_connection  # psycopg.Connection
    session.execute(text("SET LOCAL synchronous_commit = off"))
    first_issue = session.scalar(select(func.coalesce(func.max(Issue.id), 0))) or 0
    first_link = session.scalar(select(func.coalesce(func.max(IssueLink.id), 0))) or 0
    # Foreign keys are triggers that check each row on its own, which triples the load
    # time. A superuser can switch them off for this transaction (as pg_restore
    # --disable-triggers does); every key of the loaded rows is then checked at once
    # below, before commit. CHECK constraints and unique indexes are enforced as usual.
    bulk_checked = bool(session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")))
    if bulk_checked:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    with raw.cursor() as cur:
        with cur.copy(f"COPY issues ({ISSUE_COLUMNS}) FROM STDIN") as copy:
            buf: list[str] = []
            for k, (iid_, pid, iid, title, state, status, conf, weight, author, created, closed) in enumerate(
                issues
            ):
                ts = created.strftime("%Y-%m-%d %H:%M:%S+00")
                flag = "t" if conf else "f"
                w = NULL if weight is None else weight
                done = closed.strftime("%Y-%m-%d %H:%M:%S+00") if closed else NULL
                buf.append(
                    f"{iid_}\t{pid}\t{iid}\t{title}\t\t{state}\t{status}\tnormal\t{flag}\tf\t"
                    f"{w}\t{author}\t{author}\t{ts}\t{ts}\t{done}\n"
                )
                if len(buf) >= 20_000:
                    copy.write("".join(buf))
                    buf.clear()
                    report("write issues", k + 1, n_issues)
            copy.write("".join(buf))
        report("write issues", n_issues, n_issues)
        phases["issues"] = time.perf_counter() - mark
        mark = time.perf_counter()
        with cur.copy(f"COPY issue_links ({LINK_COLUMNS}) FROM STDIN") as copy:
            buf = []
            for k, (lid, s, t, kind, lo, hi, author, created) in enumerate(links):
                ts = created.strftime("%Y-%m-%d %H:%M:%S+00")
                buf.append(f"{lid}\t{s}\t{t}\t{kind}\t{lo}\t{hi}\t{author}\t{ts}\t{ts}\n")
                if len(buf) >= 50_000:
                    copy.write("".join(buf))
                    buf.clear()
                    report("write links", k + 1, n_links)
            copy.write("".join(buf))
        report("write links", n_links, n_links)
        phases["links"] = time.perf_counter() - mark
    if bulk_checked:
        session.execute(text("SET LOCAL session_replication_role = origin"))
        mark = time.perf_counter()
        _check_foreign_keys(session, int(first_issue), int(first_link))
        phases["foreign keys"] = time.perf_counter() - mark
    for table in ("issues", "issue_links"):
        top = f"(SELECT COALESCE(MAX(id), 1) FROM {table})"
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})"))


# (table, column, referenced table) of every foreign key a seeded row has.
_FOREIGN_KEYS = (
    ("issues", "project_id", "projects"),
    ("issues", "author_id", "users"),
    ("issues", "updated_by_id", "users"),
    ("issue_links", "source_id", "issues"),
    ("issue_links", "target_id", "issues"),
    ("issue_links", "author_id", "users"),
)


def _check_foreign_keys(session: Session, after_issue: int, after_link: int) -> None:
    """One anti-join per foreign key over the rows just loaded; any orphan aborts the seed."""
    for table, column, parent in _FOREIGN_KEYS:
        after = after_issue if table == "issues" else after_link
        orphans = session.scalar(
            text(
                f"SELECT count(*) FROM {table} c WHERE c.id > :after AND c.{column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
            ),
            {"after": after},
        )
        if orphans:
            raise RuntimeError(f"seed bug: {orphans} rows of {table}.{column} reference no {parent}")


def _insert(
    session: Session,
    issues: Iterator[tuple[Any, ...]],
    links: Iterator[tuple[Any, ...]],
    n_issues: int,
    n_links: int,
    report: Progress,
    phases: dict[str, float],
) -> None:
    mark = time.perf_counter()
    conn = session.connection()
    fmt = "%Y-%m-%d %H:%M:%S.000000"
    sql = f"INSERT INTO issues ({ISSUE_COLUMNS}) VALUES ({', '.join('?' * 16)})"
    batch: list[tuple[Any, ...]] = []
    for k, (iid_, pid, iid, title, state, status, conf, weight, author, created, closed) in enumerate(issues):
        ts = created.strftime(fmt)
        batch.append(
            (iid_, pid, iid, title, "", state, status, "normal", int(conf), 0, weight, author, author, ts, ts,
             closed.strftime(fmt) if closed else None)
        )  # fmt: skip
        if len(batch) >= 50_000:
            conn.exec_driver_sql(sql, batch)
            batch.clear()
            report("write issues", k + 1, n_issues)
    if batch:
        conn.exec_driver_sql(sql, batch)
    report("write issues", n_issues, n_issues)
    phases["issues"] = time.perf_counter() - mark
    mark = time.perf_counter()
    sql = f"INSERT INTO issue_links ({LINK_COLUMNS}) VALUES ({', '.join('?' * 9)})"
    batch = []
    for k, (lid, s, t, kind, lo, hi, author, created) in enumerate(links):
        ts = created.strftime(fmt)
        batch.append((lid, s, t, kind, lo, hi, author, ts, ts))
        if len(batch) >= 50_000:
            conn.exec_driver_sql(sql, batch)
            batch.clear()
            report("write links", k + 1, n_links)
    if batch:
        conn.exec_driver_sql(sql, batch)
    report("write links", n_links, n_links)
    phases["links"] = time.perf_counter() - mark


def _analyze(database: Database) -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans)."""
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) issues"))
            conn.execute(text("VACUUM (ANALYZE) issue_links"))
    else:
        with database.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
