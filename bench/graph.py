"""Graph query figures at 100k and 1M issues, on PostgreSQL and SQLite. Prints; asserts nothing.

For each database and scale this creates a fresh database (PostgreSQL on
127.0.0.1:5432, dropped afterwards unless --keep; SQLite in a temp file), seeds it
with ``issuegraph dev seed``'s generator (3 links per issue) and measures, as the
group's Guest (``seed-guest``: confidential issues are hidden, so paths carry
placeholders), each call in its own read transaction like a request, JSON included:

  * transitive blockers (depth 10) of random blocked issues, and what random blockers
    block, with the answer sizes (cost must follow the answer, not the graph);
  * ready-to-work and blocked first pages of the 50k-issue project, and a page deep
    inside it; ready first page of the whole group;
  * the descendant tree of the 10k-issue hierarchy; ancestors; canonical issues;
  * the critical path of the 50k-issue project;
  * 1,000 link creates in one bulk call (rolled back);
  * the streamed export (JSON, DOT) through a real ``uvicorn`` server process on a
    loopback port, with the server's RSS sampled every 20 ms: growth = peak during
    the export - RSS after a warm-up export.

    .venv/bin/python bench/graph.py [--db postgresql|sqlite|both] [--scales 100000,1000000]
                                    [--samples 200] [--keep] [--reuse NAME=URL ...]

The load average is printed with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from issuegraph.accounts.service import Actor, issue_token  # noqa: E402
from issuegraph.config import Settings  # noqa: E402
from issuegraph.db import migrate  # noqa: E402
from issuegraph.db.engine import WRITE_OPTION, Database  # noqa: E402
from issuegraph.db.models import Project, User  # noqa: E402
from issuegraph.domain.errors import DomainError  # noqa: E402
from issuegraph.domain.links import LinkType  # noqa: E402
from issuegraph.graph import service  # noqa: E402
from issuegraph.graph.seed import seed  # noqa: E402
from issuegraph.testing.serverproc import running_server  # noqa: E402

PG_ADMIN_URL = os.environ.get("ISSUEGRAPH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LINKS_PER_ISSUE = 3


# ---------------------------------------------------------------- helpers


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


class Figures:
    def __init__(self, label: str) -> None:
        self.label = label
        self.rows: list[tuple[str, str]] = []

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))
        print(f"  {name:<46} {value}", flush=True)


def timed(
    figures: Figures,
    name: str,
    database: Database,
    call: Callable[..., Any],
    args: list[tuple[Any, ...]],
    size: Callable[[Any], int] | None = None,
) -> None:
    times, sizes = [], []
    for arg in args:
        started = time.perf_counter()
        with database.session(write=False) as session:
            answer = call(session, *arg)
            orjson.dumps(answer)
        times.append((time.perf_counter() - started) * 1000)
        if size is not None:
            sizes.append(size(answer))
    text_ = f"p50 {pct(times, 0.5):6.1f}  p95 {pct(times, 0.95):6.1f}  p99 {pct(times, 0.99):6.1f}"
    text_ += f"  max {max(times):6.1f} ms  (n={len(times)})"
    if sizes:
        text_ += f"  answer avg {statistics.mean(sizes):.0f} p99 {pct(sizes, 0.99):.0f} max {max(sizes)}"
    figures.add(name, text_)


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """`issuegraph serve` on the database (one worker), through the harness tests use too."""
    with running_server(url, f"bench-{os.urandom(8).hex()}") as running:
        yield running.url, running.pid


def stream_export(base: str, pid: int, token: str, path: str) -> tuple[int, float, int]:
    """(bytes, seconds, peak RSS kB while streaming)."""
    peak = [rss_kb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = 0
    started = time.perf_counter()
    with httpx.stream("GET", base + path, headers={"PRIVATE-TOKEN": token}, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            size += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return size, seconds, peak[0]


# ---------------------------------------------------------------- one database


def measure(label: str, url: str, samples: int, seeded: bool) -> Figures:
    figures = Figures(label)
    print(f"\n== {label}  ({load()})", flush=True)
    settings = Settings(database_url=url)
    if not seeded:
        issues = int(label.split("/")[1])
        migrate.upgrade(settings.database_url)
        result = seed(
            settings, issues=issues, links=issues * LINKS_PER_ISSUE, projects=max(20, issues // 10_000)
        )
        figures.add("seed", f"{result.issues} issues, {result.total_links} links in {result.seconds:.1f} s")
    database = Database(settings)
    rng = random.Random(1)
    try:
        with database.session() as session:
            guest = session.scalar(select(User).where(User.username == "seed-guest"))
            owner = session.scalar(select(User).where(User.username == "seed-owner"))
            assert guest is not None and owner is not None, "not a seeded database"
            projects = {p.path: p for p in session.scalars(select(Project))}
            large = projects["large"]
            huge = projects.get("huge")
            totals = session.execute(
                text("SELECT (SELECT count(*) FROM issues), (SELECT count(*) FROM issue_links)")
            )
            n_issues, n_links = totals.one()
            figures.add("size", f"{n_issues} issues, {n_links} links, {len(projects)} projects")
            blocked = _sample(session, "target_id", "blocks", samples, rng)
            blockers = _sample(session, "source_id", "blocks", samples, rng)
            dups = _sample(session, "source_id", "duplicates", min(samples, 100), rng)
            leaves = session.execute(
                text(
                    "SELECT i.project_id, i.iid FROM issue_links l JOIN issues i ON i.id = l.target_id "
                    "WHERE l.link_type = 'parent_of' AND NOT i.confidential AND i.project_id = :p "
                    "ORDER BY l.id DESC LIMIT 100"
                ),
                {"p": large.id},
            ).all()
            middle = session.scalar(
                text("SELECT id FROM issues WHERE project_id = :p ORDER BY id LIMIT 1 OFFSET :o"),
                {"p": large.id, "o": 25_000},
            )
            _, token = issue_token(session, owner, name="bench", scopes=["api"], expires_at=None)
        actor = Actor(user=guest, scopes=frozenset({"read_api"}))
        lp = str(large.id)

        def related(direction: str, open_only: bool = False) -> Callable[..., Any]:
            return lambda s, p, i: service.related_by_blocks(
                s,
                actor,
                str(p),
                i,
                direction=direction,
                depth=10,
                open_only=open_only,  # type: ignore[arg-type]
            )

        count: Callable[[Any], int] = lambda a: int(a["count"])  # noqa: E731
        timed(figures, "blockers, depth 10", database, related("blockers"), blocked, count)
        timed(figures, "blockers, depth 10, open_only", database, related("blockers", True), blocked, count)
        timed(figures, "blocking (what it blocks), depth 10", database, related("blocking"), blockers, count)

        def page(blocked_: bool, per_page: int = 20, cursor: str | None = None) -> Callable[..., Any]:
            return lambda s: service.work_page(
                s,
                actor,
                service.project_scope(s, actor, lp),
                blocked=blocked_,
                per_page=per_page,
                cursor=cursor,
            )

        timed(figures, "ready, first page (20) of the 50k project", database, page(False), [()] * 100)
        timed(figures, "ready, first page (100) of the 50k project", database, page(False, 100), [()] * 100)
        with database.session(write=False) as s:
            ready_list = service.work_list_key(service.project_scope(s, actor, lp), blocked=False)
        deep = service.encode_cursor(ready_list, int(middle or 0))
        timed(figures, "ready, page (20) at issue 25,000", database, page(False, 20, deep), [()] * 50)
        timed(figures, "blocked, first page (20) with blockers", database, page(True), [()] * 100)
        timed(
            figures,
            "ready, first page (20) of the whole group",
            database,
            lambda s: service.work_page(s, actor, service.group_scope(s, actor, "seed"), blocked=False),
            [()] * 50,
        )
        timed(
            figures,
            "descendant tree of the 10k hierarchy",
            database,
            lambda s: service.descendant_tree(s, actor, lp, 1),
            [()] * 20,
        )
        timed(
            figures,
            "ancestors of a leaf",
            database,
            lambda s, p, i: service.ancestors(s, actor, str(p), i),
            leaves,
            lambda a: len(a["ancestors"]),
        )
        timed(
            figures,
            "canonical of a duplicate",
            database,
            lambda s, p, i: service.canonical(s, actor, str(p), i),
            dups,
            lambda a: len(a["chain"]),
        )
        timed(
            figures,
            "critical path of the 50k project (count)",
            database,
            lambda s: service.critical_path(s, actor, lp, by="count"),
            [()] * 3,
            lambda a: int(a["length"]),
        )
        _bulk(figures, database, owner.id, large.id)
        _exports(figures, url, token, large, huge)
    finally:
        database.dispose()
    return figures


def _sample(session: Any, column: str, link_type: str, n: int, rng: random.Random) -> list[tuple[int, int]]:
    """Random (project id, iid) of non-confidential issues at the ``column`` end of a link of a type."""
    low, top = session.execute(text("SELECT min(id), max(id) FROM issues")).one()
    picked: dict[int, tuple[int, int]] = {}
    for _ in range(n * 20):
        if len(picked) >= n:
            break
        row = session.execute(
            text(
                "SELECT i.id, i.project_id, i.iid FROM issues i WHERE i.id >= :s AND NOT i.confidential "
                f"AND EXISTS (SELECT 1 FROM issue_links l WHERE l.{column} = i.id AND l.link_type = :t) "
                "ORDER BY i.id LIMIT 1"
            ),
            {"s": rng.randint(low, top), "t": link_type},
        ).first()
        if row is not None:
            picked[row[0]] = (row[1], row[2])
    return list(picked.values())


def _bulk(figures: Figures, database: Database, owner_id: int, project_id: int) -> None:
    """1,000 related_to creates in one bulk call as the owner, rolled back afterwards."""
    with Session(database.engine) as session:
        session.connection(execution_options={WRITE_OPTION: True})
        owner = session.get(User, owner_id)
        actor = Actor(user=owner, scopes=frozenset({"api"}))
        items = [
            service.BulkItem(
                "create",
                service.Locator(project=str(project_id), iid=k),
                service.Locator(project=str(project_id), iid=k + 20_000),
                LinkType.RELATED_TO,
            )
            for k in range(1, 1001)
        ]
        started = time.perf_counter()
        try:
            created = len(service.bulk_links(session, actor, items))
            outcome = f"{created} created"
        except DomainError as exc:
            outcome = f"refused: {len(exc.details.get('errors', []))} failing items"
        seconds = time.perf_counter() - started
        session.rollback()
    figures.add("bulk: 1,000 link creates in one call", f"{seconds:.2f} s ({outcome}; rolled back)")


def _exports(figures: Figures, url: str, token: str, large: Project, huge: Project | None) -> None:
    with server(url) as (base, pid):
        warm = f"/api/graph/v1/projects/{large.id}/export?format=json"
        stream_export(base, pid, token, warm)  # warm-up: caches, pools, buffers
        baseline = rss_kb(pid)
        figures.add("server RSS after a warm-up export", f"{baseline / 1024:.0f} MB")
        targets = [(f"export JSON, {large.full_path} (50k issues)", warm)]
        targets.append((f"export DOT, {large.full_path}", warm.replace("json", "dot")))
        if huge is not None:
            n = int(huge.last_issue_iid)
            targets.append(
                (
                    f"export JSON, {huge.full_path} ({n // 1000}k issues)",
                    f"/api/graph/v1/projects/{huge.id}/export",
                )
            )
            targets.append(
                (
                    f"export Mermaid, {huge.full_path}",
                    f"/api/graph/v1/projects/{huge.id}/export?format=mermaid",
                )
            )
        for name, path in targets:
            size, seconds, peak = stream_export(base, pid, token, path)
            figures.add(
                name,
                f"{size / 1e6:6.1f} MB in {seconds:5.2f} s ({size / 1e6 / seconds:5.1f} MB/s); "
                f"server RSS growth {max(0, peak - baseline) / 1024:5.1f} MB (peak {peak / 1024:.0f} MB)",
            )


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def pg_database(tag: str, keep: bool) -> Iterator[str]:
    name = f"ig_graph_bench_{os.getpid()}_{tag}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if keep:
            print(f"  (kept database {name})")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def sqlite_database(tag: str, keep: bool) -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="ig-graph-bench-")
    path = Path(folder) / f"{tag}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        if keep:
            print(f"  (kept {path})")
        else:
            for extra in ("", "-wal", "-shm"):
                Path(str(path) + extra).unlink(missing_ok=True)
            os.rmdir(folder)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--scales", default="100000,1000000", help="PostgreSQL issue counts (SQLite: 100000)")
    parser.add_argument("--sqlite-scales", default="100000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--reuse", action="append", default=[], metavar="LABEL=URL", help="measure an already seeded database"
    )
    args = parser.parse_args()
    all_figures: list[Figures] = []
    started = time.time()
    for item in args.reuse:
        label, url = item.split("=", 1)
        all_figures.append(measure(label, url, args.samples, seeded=True))
    if not args.reuse:
        plans: list[tuple[str, int]] = []
        if args.db in ("postgresql", "both"):
            plans += [("postgresql", int(n)) for n in args.scales.split(",")]
        if args.db in ("sqlite", "both"):
            plans += [("sqlite", int(n)) for n in args.sqlite_scales.split(",")]
        for kind, n in plans:
            maker = pg_database if kind == "postgresql" else sqlite_database
            with maker(f"{n}", args.keep) as url:
                all_figures.append(measure(f"{kind}/{n}", url, args.samples, seeded=False))
    print(f"\n== summary ({load()}, {time.time() - started:.0f} s)")
    for figures in all_figures:
        print(f"\n### {figures.label}\n")
        print("| measure | figure |\n|---|---|")
        for name, value in figures.rows:
            print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
