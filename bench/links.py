"""Issue-link throughput and latency of a real `issuegraph serve` process.

For each database (SQLite in a temp file, PostgreSQL in a fresh database on
127.0.0.1:5432 that is dropped afterwards) this seeds one project with --issues
issues, one "hub" issue of which has 50 links, starts `issuegraph serve` on a free
loopback port and, at concurrency 8 (one httpx client per thread), measures:

  * link creates per second through the GitLab face (random distinct pairs, mostly
    relates_to, one in ten blocks, oriented low -> high iid so no cycle is ever refused),
  * list-links latency p50 / p99 for the hub issue,
  * the same two figures through the SourceCraft face,
  * the server's peak RSS (VmHWM of the server process and its children),
  * SQL statements per create and per list (in-process, on the same database).

--shape side runs the side-by-side shape instead (every issue with about two links; get an issue,
list its links and create links through both faces) and prints the server's and the database's
CPU per request (the database's from its backends' /proc stat) and, with --statements N and
pg_stat_statements loaded, the N costliest statements of each phase; --grow N first adds N links
and N notes on filler issues. --shape projects creates `blocks` links across --projects projects.

It prints figures and asserts nothing (see bench/README.md for recorded results).

    .venv/bin/python bench/links.py [--db sqlite|postgresql|both] [--workers N]
                                    [--duration SECONDS] [--issues N] [--shape hub|side|projects]
                                    [--grow N] [--statements N] [--projects N] [--versus K=V]
                                    [--versus-build DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, event, text

from issuegraph.testing import load as loadgen
from issuegraph.testing.load import Request, Run, cpu_seconds, peak_rss_mib
from issuegraph.testing.serverproc import fresh_pg_database, running_server

CONCURRENCY = 8
HUB_LINKS = 50
MAX_DEGREE = 80  # stays clear of the 100-links-per-issue limit
TOKEN = "bench-admin-token-0123456789abcdef"
PG_ADMIN_URL = os.environ.get("ISSUEGRAPH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]
SOURCECRAFT_ROUTES = ROOT / "src" / "issuegraph" / "api" / "sourcecraft" / "routes.py"
GROUP, PROJECT = "bench", "links"


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="issuegraph-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def postgres_database() -> contextlib.AbstractContextManager[str]:
    return fresh_pg_database(PG_ADMIN_URL, "ig_bench")


# ---------------------------------------------------------------- seeding (in-process, before the server)


@dataclass
class Seed:
    project_id: int
    issue_count: int
    hub_iid: int = 1


def use_database(url: str) -> None:
    """Point this process's settings at `url` (the services read get_settings())."""
    from issuegraph.config import get_settings

    os.environ["ISSUEGRAPH_DATABASE_URL"] = url
    os.environ["ISSUEGRAPH_ADMIN_TOKEN"] = TOKEN
    os.environ.setdefault("ISSUEGRAPH_LOG_LEVEL", "warning")
    get_settings.cache_clear()


def seed(url: str, issue_count: int, shape: str = "hub") -> Seed:
    from issuegraph.accounts.service import authenticate, ensure_admin_token
    from issuegraph.config import get_settings
    from issuegraph.db import migrate
    from issuegraph.db.engine import Database
    from issuegraph.domain.links import LinkType
    from issuegraph.issues import service as issues
    from issuegraph.links import service as links
    from issuegraph.projects import service as projects

    use_database(url)
    migrate.upgrade(url)
    database = Database(get_settings())
    try:
        with database.session() as session:
            ensure_admin_token(session, TOKEN)
        with database.session() as session:
            actor = authenticate(session, TOKEN)
            group = projects.create_group(session, actor, name="Bench", path=GROUP)
            project = projects.create_project(
                session, actor, name=PROJECT, path=PROJECT, namespace_id=group.id
            )
            access = projects.resolve_project(session, actor, project.id)
            made = [
                issues.create_issue(session, access, issues.IssueFields(title=f"Bench issue {n}"))
                for n in range(1, issue_count + 1)
            ]
            accesses = {project.id: access}
            if shape == "hub":
                hub = made[0]
                for other in made[1 : 1 + HUB_LINKS]:
                    links.create_link(session, actor, hub, other, LinkType.RELATED_TO, accesses=accesses)
            else:  # the side-by-side shape: a chain, so every issue has about two links
                for a, b in itertools.pairwise(made):
                    links.create_link(session, actor, a, b, LinkType.RELATED_TO, accesses=accesses)
            return Seed(project_id=project.id, issue_count=issue_count)
    finally:
        database.dispose()


def random_pairs(seed: Seed, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Distinct unordered pairs of iids, hub excluded, no issue above MAX_DEGREE links."""
    degree: Counter[int] = Counter(dict.fromkeys(range(2, 2 + HUB_LINKS), 1))
    taken: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    low, high = seed.hub_iid + 1, seed.issue_count
    attempts = 0
    while len(pairs) < count and attempts < count * 20:
        attempts += 1
        a, b = rng.randint(low, high), rng.randint(low, high)
        key = (min(a, b), max(a, b))
        if a == b or key in taken or degree[a] >= MAX_DEGREE or degree[b] >= MAX_DEGREE:
            continue
        taken.add(key)
        degree[a] += 1
        degree[b] += 1
        pairs.append((a, b))
    return pairs


# ---------------------------------------------------------------- load


def load(base: str, jobs: Iterator[Request], seconds: float, limit: int, server_pid: int) -> Run:
    """The shared load generator, as the admin, at CONCURRENCY."""
    return loadgen.load(
        base,
        jobs,
        seconds,
        limit,
        server_pid,
        headers={"Authorization": f"Bearer {TOKEN}"},
        concurrency=CONCURRENCY,
    )


def cpu_report(run: Run) -> str:
    """CPU per request: the server, this load generator, and the rest of the machine (the database)."""
    server, client, machine = run.cpu_ms
    rest = machine - server - client
    return (
        f"CPU per request: server {server:.2f} ms, load generator {client:.2f} ms, "
        f"rest of machine (database) {rest:.2f} ms"
    )


def link_kind(a: int, b: int, n: int) -> tuple[int, int, bool]:
    """Every tenth pair is a `blocks` link from the lower to the higher iid (acyclic by construction)."""
    blocks = n % 10 == 9
    return (min(a, b), max(a, b), True) if blocks else (a, b, False)


def gitlab_creates(seed: Seed, pairs: list[tuple[int, int]]) -> Iterator[Request]:
    for n, (a, b) in enumerate(pairs):
        src, tgt, blocks = link_kind(a, b, n)
        body = {
            "target_project_id": seed.project_id,
            "target_issue_iid": tgt,
            "link_type": "blocks" if blocks else "relates_to",
        }
        yield ("POST", f"/api/v4/projects/{seed.project_id}/issues/{src}/links", body)


def sourcecraft_creates(pairs: list[tuple[int, int]]) -> Iterator[Request]:
    for n, (a, b) in enumerate(pairs):
        src, tgt, blocks = link_kind(a, b, n)
        body = {"target_issue_slug": str(tgt), "link_type": "blocks" if blocks else "related_to"}
        yield ("POST", f"/repos/{GROUP}/{PROJECT}/issues/{src}/issue_links", body)


def repeat(request: Request) -> Iterator[Request]:
    while True:
        yield request


def gitlab_list(seed: Seed) -> Request:
    return ("GET", f"/api/v4/projects/{seed.project_id}/issues/{seed.hub_iid}/links", None)


def sourcecraft_list(seed: Seed) -> Request:
    return ("GET", f"/repos/{GROUP}/{PROJECT}/issues/{seed.hub_iid}/issue_links?page_size=100", None)


def listed(response: httpx.Response) -> int:
    body = response.json()
    return len(body["links"] if isinstance(body, dict) else body)


# ---------------------------------------------------------------- SQL statements per request (in-process)


Call = tuple[str, str, dict[str, Any] | None]


def statements_per_request(url: str, requests: dict[str, tuple[Call, Call]]) -> dict[str, int]:
    """Send each (warm-up, measured) pair to the ASGI app in this process; count the measured SQL."""
    from issuegraph.api.app import create_app
    from issuegraph.config import get_settings

    use_database(url)
    app = create_app(get_settings())
    engine = app.state.database.request_engine
    counted: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", record)

    async def drive() -> dict[str, int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        result = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            for name, (warm, measured) in requests.items():
                await client.request(warm[0], warm[1], json=warm[2])  # fills the statement caches
                counted.clear()
                response = await client.request(measured[0], measured[1], json=measured[2])
                result[name] = len(counted) if response.status_code < 300 else -response.status_code
        return result

    async def drive_and_close() -> dict[str, int]:
        try:
            return await drive()
        finally:
            await app.state.database.dispose_async()  # on the loop its connections were made on

    return asyncio.run(drive_and_close())


def counted_requests(
    seed: Seed, spare: list[tuple[int, int]], sourcecraft: bool
) -> dict[str, tuple[Call, Call]]:
    project, hub = seed.project_id, seed.hub_iid

    def gitlab_create(a: int, b: int) -> Call:
        body = {"target_project_id": project, "target_issue_iid": b}
        return ("POST", f"/api/v4/projects/{project}/issues/{a}/links", body)

    def sourcecraft_create(a: int, b: int) -> Call:
        return ("POST", f"/repos/{GROUP}/{PROJECT}/issues/{a}/issue_links", {"target_issue_slug": str(b)})

    gitlab_list: Call = ("GET", f"/api/v4/projects/{project}/issues/{hub}/links", None)
    requests = {
        "gitlab create": (gitlab_create(*spare[0]), gitlab_create(*spare[1])),
        "gitlab list": (gitlab_list, gitlab_list),
    }
    if sourcecraft:
        sc_list: Call = ("GET", f"/repos/{GROUP}/{PROJECT}/issues/{hub}/issue_links?page_size=100", None)
        requests["sourcecraft create"] = (sourcecraft_create(*spare[2]), sourcecraft_create(*spare[3]))
        requests["sourcecraft list"] = (sc_list, sc_list)
    return requests


# ---------------------------------------------------------------- one database


def bench_database(kind: str, args: argparse.Namespace) -> None:
    database = sqlite_database() if kind == "sqlite" else postgres_database()
    with database as url:
        began = time.perf_counter()
        seed_info = seed(url, args.issues)
        print(f"\n== {kind}: seeded {args.issues} issues in {time.perf_counter() - began:.1f} s")
        rng = random.Random(20261123)
        budget = int(args.duration * 3000)  # more pairs than any face can use in --duration
        pairs = random_pairs(seed_info, budget * 2 + 4, rng)
        faces = [("gitlab", gitlab_creates(seed_info, pairs[:budget]), gitlab_list(seed_info))]
        if SOURCECRAFT_ROUTES.exists():
            faces.append(("sourcecraft", sourcecraft_creates(pairs[budget:-4]), sourcecraft_list(seed_info)))
        with running_server(url, TOKEN, workers=args.workers) as server:
            base, pid = server.url, server.pid
            headers = {"Authorization": f"Bearer {TOKEN}"}
            for face, creates, list_request in faces:
                with httpx.Client(base_url=base, headers=headers) as client:
                    method, path, _ = list_request
                    first = client.request(method, path)
                    if first.status_code != 200:
                        print(f"  {face}: list answered {first.status_code}: {first.text[:200]}")
                        continue
                    count = listed(first)
                create = load(base, creates, args.duration, 10**9, pid)
                load(base, repeat(list_request), 1.0, 200, pid)  # warm-up
                lists = load(base, repeat(list_request), args.duration, 10**9, pid)
                created = create.statuses.get(201, 0)
                print(
                    f"  {face:<11} creates: {created / create.seconds:7.1f}/s "
                    f"({created} created in {create.seconds:.1f} s; statuses {dict(create.statuses)}; "
                    f"p50 {create.pct(0.5):.1f} ms, p99 {create.pct(0.99):.1f} ms)"
                )
                print(f"  {face:<11} creates: {cpu_report(create)}")
                for body in create.bodies + lists.bodies:
                    print(f"  {face:<11} refused: {body.decode(errors='replace')}")
                print(
                    f"  {face:<11} list ({count} links): p50 {lists.pct(0.5):.1f} ms, "
                    f"p99 {lists.pct(0.99):.1f} ms, {lists.rate:.0f} lists/s "
                    f"(statuses {dict(lists.statuses)})"
                )
                print(f"  {face:<11} list: {cpu_report(lists)}")
            if not SOURCECRAFT_ROUTES.exists():
                print(
                    "  sourcecraft: not measured, src/issuegraph/api/sourcecraft/routes.py does not exist yet"
                )
            total, largest = peak_rss_mib(pid)
            print(f"  peak RSS: {total:.0f} MiB (server and children; largest process {largest:.0f} MiB)")
        requests = counted_requests(seed_info, pairs[-4:], SOURCECRAFT_ROUTES.exists())
        counts = statements_per_request(url, requests)
        print("  SQL statements per request: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


# ---------------------------------------------------------------- another build, for before/after in one run


@contextlib.contextmanager
def other_build_database(url: str, build: Path) -> Iterator[str]:
    """A database for the build checked out in `build` (its own .venv): created with that
    build's migrations, then filled with the rows of `url` (the tables and columns both schemas
    have; triggers off during the copy, sequences moved past the copied ids), the outbox too: a
    build that finds its events table empty and analysed plans its dispatch for an empty table."""
    program = build / ".venv" / "bin" / "issuegraph"
    sqlite = url.startswith("sqlite")
    with sqlite_database() if sqlite else postgres_database() as other:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
        environment["ISSUEGRAPH_DATABASE_URL"] = other
        subprocess.run([str(program), "db", "upgrade"], env=environment, check=True, capture_output=True)
        if sqlite:
            copy_sqlite_rows(url.removeprefix("sqlite:///"), other.removeprefix("sqlite:///"))
            yield other
            return
        source, target = create_engine(url), create_engine(other)
        try:
            with source.connect() as src, target.begin() as dst:
                dst.execute(text("SET LOCAL session_replication_role = replica"))
                columns = """SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position)
                    FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name"""
                have = {t: set(c) for t, c in src.execute(text(columns))}
                for table, names in dst.execute(text(columns)).all():
                    if table == "alembic_version" or table not in have:
                        continue
                    shared = ", ".join(f'"{c}"' for c in names if c in have[table])
                    reader = src.connection.dbapi_connection.cursor()
                    writer = dst.connection.dbapi_connection.cursor()
                    with (
                        reader.copy(f'COPY (SELECT {shared} FROM "{table}") TO STDOUT') as out,
                        writer.copy(f'COPY "{table}" ({shared}) FROM STDIN') as into,
                    ):
                        for block in out:
                            into.write(block)
                sequences = """SELECT s.relname, t.relname, a.attname FROM pg_class s
                    JOIN pg_depend d ON d.objid = s.oid JOIN pg_class t ON t.oid = d.refobjid
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                    WHERE s.relkind = 'S'"""
                for sequence, table, column in dst.execute(text(sequences)).all():
                    highest = f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1'
                    dst.execute(text(f"SELECT setval('\"{sequence}\"', {highest}, false)"))
            # Both databases as vacuum and analyze leave them (hint bits, visibility, statistics):
            # a copy is otherwise dearer to read than rows its server wrote and read already.
            for engine in (source, target):
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
        finally:
            source.dispose()
            target.dispose()
        yield other


def copy_sqlite_rows(source: str, target: str) -> None:
    """other_build_database's copy on SQLite: the source attached, foreign keys off."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(target)) as dst:
        dst.execute("PRAGMA foreign_keys = OFF")
        dst.execute("ATTACH DATABASE ? AS src", (source,))
        have = {
            table: {row[1] for row in dst.execute(f'PRAGMA src.table_info("{table}")')}
            for (table,) in dst.execute("SELECT name FROM src.sqlite_master WHERE type = 'table'")
        }
        tables = [r[0] for r in dst.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table in ("alembic_version", "sqlite_sequence") or table not in have:
                continue
            names = [row[1] for row in dst.execute(f'PRAGMA main.table_info("{table}")')]
            shared = ", ".join(f'"{c}"' for c in names if c in have[table])
            dst.execute(f'INSERT INTO main."{table}" ({shared}) SELECT {shared} FROM src."{table}"')
        dst.commit()


# ---------------------------------------------------------------- the side-by-side shape (--shape side)


def side_pairs(seed: Seed, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Distinct new pairs among the seeded issues, none of them a pair of the seeded chain."""
    taken = {(n, n + 1) for n in range(1, seed.issue_count)}
    degree: Counter[int] = Counter()
    pairs: list[tuple[int, int]] = []
    attempts = 0
    while len(pairs) < count and attempts < count * 20:
        attempts += 1
        a, b = rng.randint(1, seed.issue_count), rng.randint(1, seed.issue_count)
        key = (min(a, b), max(a, b))
        if a == b or key in taken or degree[a] >= MAX_DEGREE - 2 or degree[b] >= MAX_DEGREE - 2:
            continue
        taken.add(key)
        degree[a] += 1
        degree[b] += 1
        pairs.append((a, b))
    return pairs


def grow(url: str, seed: Seed, rows: int) -> float:
    """PostgreSQL: add `rows` links and `rows` notes (one in ten a user note) on filler issues of the
    same project, none of them touched by the load, then ANALYZE (as autovacuum would)."""
    engine = create_engine(url.replace("+asyncpg", "+psycopg"))
    began = time.perf_counter()
    fillers = max(2000, rows // 40)  # at most 80 links per filler issue
    per_issue = -(-rows // fillers)
    with engine.begin() as conn:
        params = {"p": seed.project_id, "n": seed.issue_count, "f": fillers, "rows": rows}
        conn.execute(
            text(
                "INSERT INTO issues (project_id, iid, title, description, state, status, priority, "
                "confidential, discussion_locked, author_id, created_at, updated_at) "
                "SELECT :p, :n + g, 'Filler ' || g, '', 'opened', 'open', 'normal', false, false, 1, "
                "now(), now() FROM generate_series(1, :f) g"
            ),
            params,
        )
        conn.execute(text("UPDATE projects SET last_issue_iid = :n + :f WHERE id = :p"), params)
        first = conn.execute(
            text("SELECT min(id) FROM issues WHERE project_id = :p AND iid > :n"), params
        ).scalar()
        params["m"] = int(first or 0)
        assert per_issue < fillers // 2  # so (i, (i + k) % f) are distinct pairs
        conn.execute(
            text(
                "INSERT INTO issue_links (source_id, target_id, link_type, pair_lo, pair_hi, author_id, "
                "created_at, updated_at) "
                "SELECT s, t, 'related_to', least(s, t), greatest(s, t), 1, now(), now() "
                "FROM (SELECT :m + g % :f AS s, :m + (g % :f + 1 + g / :f) % :f AS t "
                "FROM generate_series(0, :rows - 1) g) x"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO notes (issue_id, author_id, body, system, system_action, created_at, "
                "updated_at) "
                "SELECT :m + g % :f, 1, 'marked this issue as related to #' || g, g % 10 <> 0, "
                "CASE WHEN g % 10 <> 0 THEN 'relate' END, now(), now() FROM generate_series(0, :rows - 1) g"
            ),
            params,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - began


class DatabaseMeter:
    """PostgreSQL's side of a phase: CPU of the bench database's backends (from /proc) and, when
    pg_stat_statements is loaded, its per-statement figures and the database's commits."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.conn = self.engine.connect()
        self.dbname = url.rsplit("/", 1)[1]
        try:
            self.conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            self.conn.execute(text("SELECT count(*) FROM pg_stat_statements"))
            self.statements = True
        except Exception:  # not in shared_preload_libraries: CPU only
            self.conn.rollback()
            self.statements = False
        self.dbid = self.conn.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar()
        self.own = self.conn.execute(text("SELECT pg_backend_pid()")).scalar()
        self.cpu: dict[int, float] = {}

    def backends(self) -> list[int]:
        rows = self.conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return [int(r[0]) for r in rows]

    def start(self) -> None:
        self.cpu = {pid: cpu_seconds([pid]) for pid in self.backends()}
        if self.statements:
            self.conn.execute(text("SELECT pg_stat_statements_reset(0, :db, 0)"), {"db": self.dbid})
        self.commits = self._commits()

    def _commits(self) -> int:
        return int(
            self.conn.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datid = :db"), {"db": self.dbid}
            ).scalar()
            or 0
        )

    def stop(self, requests: int) -> tuple[float, list[tuple[Any, ...]], float]:
        """(backend CPU ms per request, per-statement rows, commits per request)."""
        after = {pid: cpu_seconds([pid]) for pid in self.backends()}
        used = sum(v - self.cpu.get(pid, 0.0) for pid, v in after.items())
        rows: list[tuple[Any, ...]] = []
        if self.statements:
            rows = [
                tuple(r)
                for r in self.conn.execute(
                    text(
                        "SELECT calls, total_plan_time, total_exec_time, rows, "
                        "shared_blks_hit + shared_blks_read, "
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) FROM pg_stat_statements "
                        "WHERE dbid = :db AND calls > 0 ORDER BY total_exec_time + total_plan_time DESC"
                    ),
                    {"db": self.dbid},
                )
            ]
        # the stats collector reports commits at the end of transactions, a little later
        time.sleep(0.6)
        commits = self._commits() - self.commits - 1  # our own pg_stat_database read commits too
        n = max(requests, 1)
        return used * 1000 / n, rows, commits / n

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


def statement_report(rows: list[tuple[Any, ...]], requests: int, top: int) -> list[str]:
    n = max(requests, 1)
    calls = sum(r[0] for r in rows)
    plan = sum(r[1] for r in rows)
    execute = sum(r[2] for r in rows)
    lines = [
        f"statements per request {calls / n:.2f}, planning {plan / n:.3f} ms, execution {execute / n:.3f} ms"
    ]
    for calls_, plan_, exec_, rows_, blocks, query in rows[:top]:
        lines.append(
            f"  {calls_ / n:5.2f}x  plan {plan_ / max(calls_, 1):.3f}  "
            f"exec {exec_ / max(calls_, 1):.3f} ms/call  "
            f"rows {rows_ / max(calls_, 1):6.1f}  blocks {blocks / max(calls_, 1):6.1f}  {query}"
        )
    return lines


def bench_side(kind: str, args: argparse.Namespace) -> None:
    """The side-by-side shape: every issue has about two links; random issues are listed and read,
    random new pairs linked, through both faces; CPU per request of the server and the database."""
    database = sqlite_database() if kind == "sqlite" else postgres_database()
    with database as url:
        began = time.perf_counter()
        info = seed(url, args.issues, shape="side")
        print(
            f"\n== {kind}, side-by-side shape: seeded {args.issues} issues in a chain of links "
            f"in {time.perf_counter() - began:.1f} s"
        )
        if args.grow:
            if kind != "postgresql":
                print("  --grow: PostgreSQL only, ignored")
            else:
                took = grow(url, info, args.grow)
                print(f"  grown by {args.grow} links and {args.grow} notes on filler issues in {took:.1f} s")
        rng = random.Random(20261204)
        budget = int(args.duration * 1500)
        pairs = side_pairs(info, budget * 2, rng)
        iids = [rng.randint(1, info.issue_count) for _ in range(budget * 4)]
        pid_, n = info.project_id, info.issue_count

        def gl_get() -> Iterator[Request]:
            for iid in iids:
                yield ("GET", f"/api/v4/projects/{pid_}/issues/{iid}", None)

        def gl_list() -> Iterator[Request]:
            for iid in iids:
                yield ("GET", f"/api/v4/projects/{pid_}/issues/{iid}/links", None)

        def sc_get() -> Iterator[Request]:
            for iid in iids:
                yield ("GET", f"/repos/{GROUP}/{PROJECT}/issues/{iid}", None)

        def sc_list() -> Iterator[Request]:
            for iid in iids:
                yield ("GET", f"/repos/{GROUP}/{PROJECT}/issues/{iid}/issue_links?page_size=100", None)

        def gl_create() -> Iterator[Request]:
            for a, b in pairs[:budget]:
                body = {"target_project_id": pid_, "target_issue_iid": b, "link_type": "relates_to"}
                yield ("POST", f"/api/v4/projects/{pid_}/issues/{a}/links", body)

        def sc_create() -> Iterator[Request]:
            for a, b in pairs[budget:]:
                body = {"target_issue_slug": str(b), "link_type": "related_to"}
                yield ("POST", f"/repos/{GROUP}/{PROJECT}/issues/{a}/issue_links", body)

        phases = [
            ("gitlab get", gl_get),
            ("gitlab list", gl_list),
            ("sourcecraft get", sc_get),
            ("sourcecraft list", sc_list),
            ("gitlab create", gl_create),
            ("sourcecraft create", sc_create),
        ]
        print(f"  {n} issues; phase: rate, p50/p99, CPU ms per request (server, database, load generator)")
        # (label, settings, another build's program, database)
        variants: list[tuple[str, dict[str, str], list[str] | None, str]] = [("", {}, None, url)]
        if args.versus:
            env = dict(item.split("=", 1) for item in args.versus.split(","))
            variants.append((args.versus, env, None, url))
            print(f"  each phase runs on server A (these settings), then on server B ({args.versus})")
        with contextlib.ExitStack() as stack:
            if args.versus_build:
                # Both servers on copies made the same way (a copy is read and written at a cost
                # of its own: the seeded database itself would favour this build).
                build = Path(args.versus_build).resolve()
                ours = stack.enter_context(other_build_database(url, ROOT))
                other = stack.enter_context(other_build_database(url, build))
                program = [str(build / ".venv" / "bin" / "issuegraph")]
                variants = [("", {}, None, ours), (str(build), {}, program, other)]
                print(
                    f"  each phase runs on server A (this build), then on server B (the build in {build}), "
                    "each on a database made by its own migrations with a copy of these rows"
                )
            meters = (
                {db: stack.enter_context(contextlib.closing(DatabaseMeter(db))) for *_, db in variants}
                if kind == "postgresql"
                else {}
            )
            servers = [
                (
                    label,
                    db,
                    stack.enter_context(
                        running_server(db, TOKEN, workers=args.workers, env=env, program=program)
                    ),
                )
                for label, env, program, db in variants
            ]
            for _, _, server in servers:
                load(server.url, gl_get(), 1.0, 300, server.pid)  # warm-up
            for name, jobs in phases:
                made = jobs()  # one stream per phase: the variants never create the same pair
                for label, db, server in servers:
                    title = f"{name} (B)" if label else name
                    meter = meters.get(db)
                    if meter:
                        meter.start()
                    run = load(server.url, made, args.duration, 10**9, server.pid)
                    server_cpu, client, machine = run.cpu_ms
                    ok = sum(v for k, v in run.statuses.items() if k < 300)
                    if meter:
                        db_cpu, rows, commits = meter.stop(run.requests)
                        db = f"database {db_cpu:.2f}"
                    else:
                        db, rows, commits = "database in the server process", [], 0.0
                    print(
                        f"  {title:<19} {ok / run.seconds:6.0f}/s  "
                        f"p50 {run.pct(0.5):5.1f} p99 {run.pct(0.99):5.1f} ms  "
                        f"CPU: server {server_cpu:.2f}, {db}, load generator {client:.2f} "
                        f"(rest of machine {machine - server_cpu - client:.2f}); "
                        f"statuses {dict(run.statuses)}"
                    )
                    for body in run.bodies:
                        print(f"  {title:<19} refused: {body.decode(errors='replace')}")
                    if rows:
                        print(
                            f"  {title:<19} commits per request {commits:.2f}; "
                            + "\n".join(statement_report(rows, run.requests, args.statements))
                        )


# ---------------------------------------------------------------- blocks across projects (--shape projects)


def seed_projects(url: str, projects: int, per_project: int) -> list[int]:
    """`projects` projects of `per_project` issues each, no links; returns the project ids."""
    from issuegraph.accounts.service import authenticate, ensure_admin_token
    from issuegraph.config import get_settings
    from issuegraph.db import migrate
    from issuegraph.db.engine import Database
    from issuegraph.issues import service as issues
    from issuegraph.projects import service as project_service

    use_database(url)
    migrate.upgrade(url)
    database = Database(get_settings())
    ids = []
    try:
        with database.session() as session:
            ensure_admin_token(session, TOKEN)
        with database.session() as session:
            actor = authenticate(session, TOKEN)
            group = project_service.create_group(session, actor, name="Bench", path=GROUP)
            for n in range(projects):
                project = project_service.create_project(
                    session, actor, name=f"p{n}", path=f"p{n}", namespace_id=group.id
                )
                access = project_service.resolve_project(session, actor, project.id)
                for m in range(per_project):
                    issues.create_issue(session, access, issues.IssueFields(title=f"Bench issue {m}"))
                ids.append(project.id)
    finally:
        database.dispose()
    return ids


def bench_projects(kind: str, args: argparse.Namespace) -> None:
    """`blocks` creations between random pairs of issues of one project (lower iid blocks higher,
    so no cycle is refused), over --projects projects, through the GitLab face."""
    per_project = max(10, args.issues // args.projects)
    database = sqlite_database() if kind == "sqlite" else postgres_database()
    with database as url:
        began = time.perf_counter()
        project_ids = seed_projects(url, args.projects, per_project)
        print(
            f"\n== {kind}, blocks across {args.projects} projects of {per_project} issues: seeded in "
            f"{time.perf_counter() - began:.1f} s"
        )
        rng = random.Random(20261204)
        taken: set[tuple[int, int, int]] = set()
        jobs: list[Request] = []
        while len(jobs) < min(int(args.duration * 2000), args.projects * per_project * 4):
            pid = rng.choice(project_ids)
            a, b = sorted(rng.sample(range(1, per_project + 1), 2))
            if (pid, a, b) in taken:
                continue
            taken.add((pid, a, b))
            body = {"target_project_id": pid, "target_issue_iid": b, "link_type": "blocks"}
            jobs.append(("POST", f"/api/v4/projects/{pid}/issues/{a}/links", body))
        meter = DatabaseMeter(url) if kind == "postgresql" else None
        with running_server(url, TOKEN, workers=args.workers) as server:
            base, pid_ = server.url, server.pid
            queue = iter(jobs)
            # Warm-up: every worker opens its connections and prepares its statements first.
            warm = load(base, queue, 3.0, 10**9, pid_)
            print(f"  warm-up: {warm.requests} creates in {warm.seconds:.1f} s (not counted)")
            if meter:
                meter.start()
            run = load(base, queue, args.duration, 10**9, pid_)
            server_cpu = run.cpu_ms[0] if run.cpu_ms else 0.0
            created = run.statuses.get(201, 0)
            db = ""
            rows: list[tuple[Any, ...]] = []
            if meter:
                db_cpu, rows, _ = meter.stop(run.requests)
                db = f", database {db_cpu:.2f}"
            print(
                f"  blocks creates: {created / run.seconds:6.1f}/s ({created} in {run.seconds:.1f} s, "
                f"{args.workers} worker(s)); p50 {run.pct(0.5):.1f} ms, p99 {run.pct(0.99):.1f} ms; "
                f"CPU per create: server {server_cpu:.2f}{db}; statuses {dict(run.statuses)}"
            )
            for refused in run.bodies:
                print(f"  refused: {refused.decode(errors='replace')}")
            if rows:
                print("\n".join(statement_report(rows, run.requests, args.statements)))
        if meter:
            meter.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per measured phase (default 10)"
    )
    parser.add_argument("--issues", type=int, default=2000, help="issues to seed (default 2000)")
    parser.add_argument(
        "--shape",
        choices=("hub", "side", "projects"),
        default="hub",
        help="hub: one issue with 50 links (default); side: the side-by-side shape, every issue with "
        "about two links, get/list/create on both faces with server and database CPU per request; "
        "projects: blocks creations across --projects projects (use with --workers)",
    )
    parser.add_argument("--projects", type=int, default=100, help="projects: how many (default 100)")
    parser.add_argument("--grow", type=int, default=0, help="side, PostgreSQL: add N links and N notes first")
    parser.add_argument(
        "--versus",
        default="",
        help="side: also run every phase against a second server started with these settings "
        "(KEY=VALUE[,KEY=VALUE], e.g. ISSUEGRAPH_WEBHOOKS_GATHER_SECONDS=0), one after the other",
    )
    parser.add_argument(
        "--versus-build",
        default="",
        metavar="DIR",
        help="side: also run every phase against the build checked out in DIR (a git "
        "worktree with its own .venv, e.g. the commit before a change), on a copy of the seeded rows "
        "in a database made by that build's migrations: before and after in one run",
    )
    parser.add_argument(
        "--statements",
        type=int,
        default=0,
        help="side, PostgreSQL: print the N costliest statements per phase",
    )
    args = parser.parse_args()
    if args.versus and args.versus_build:
        parser.error("--versus and --versus-build each name server B: give one")
    if args.issues < HUB_LINKS + 10:
        parser.error(f"--issues must be at least {HUB_LINKS + 10}")
    print(
        f"issuegraph link benchmark: {args.issues} issues, concurrency {CONCURRENCY}, "
        f"{args.workers} worker(s), {args.duration:g} s per phase, {os.cpu_count()} CPUs"
    )
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        {"side": bench_side, "projects": bench_projects}.get(args.shape, bench_database)(kind, args)


if __name__ == "__main__":
    main()
