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

It prints figures and asserts nothing (see bench/README.md for recorded results).

    .venv/bin/python bench/links.py [--db sqlite|postgresql|both] [--workers N]
                                    [--duration SECONDS] [--issues N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

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


def seed(url: str, issue_count: int) -> Seed:
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
            hub = made[0]
            for other in made[1 : 1 + HUB_LINKS]:
                links.create_link(session, actor, hub, other, LinkType.RELATED_TO, accesses=accesses)
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


# ---------------------------------------------------------------- the server process


def process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    queue.extend(int(c) for c in fh.read().split())
    return pids


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(sum, max) of VmHWM over the server process and its descendants, in MiB."""
    peaks = []
    for each in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{each}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return sum(peaks), max(peaks, default=0.0)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy (not idle or waiting for I/O) since boot."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load


@dataclass
class Run:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # the first few non-2xx bodies, for the report
    cpu_ms: tuple[float, ...] = ()  # CPU ms per request: server, load generator, whole machine

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


# A request is (method, path, JSON body or None), sent as raw HTTP/1.1 on a keep-alive connection.
Request = tuple[str, str, dict[str, Any] | None]


def encode(request: Request, host: str) -> bytes:
    method, path, body = request
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Accept: application/json\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    """Send one request and read one response (the server always sends Content-Length)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def load(base: str, jobs: Iterator[Request], seconds: float, limit: int, server_pid: int) -> Run:
    """Send jobs on CONCURRENCY keep-alive connections until `seconds` pass, `limit` are sent or
    jobs run out. The client is a few lines of asyncio on raw sockets, not an HTTP library: on
    this two-core machine the load generator shares the cores with the server and the database,
    and httpx in threads used about a fifth of them."""
    host, port = base.removeprefix("http://").split(":")
    run = Run()

    async def connection(deadline: float) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while run.requests < limit and time.perf_counter() < deadline:
                job = next(jobs, None)
                if job is None:
                    return
                run.requests += 1
                raw = encode(job, f"{host}:{port}")
                start = time.perf_counter()
                status, body = await exchange(reader, writer, raw)
                run.latencies.append(time.perf_counter() - start)
                run.statuses[status] += 1
                if status >= 300 and len(run.bodies) < 3:
                    run.bodies.append(body[:300])
        finally:
            writer.close()

    async def drive() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(connection(deadline) for _ in range(CONCURRENCY)))

    server = process_tree(server_pid)
    cpu_before = (cpu_seconds(server), time.process_time(), machine_busy_seconds())
    began = time.perf_counter()
    asyncio.run(drive())
    run.seconds = time.perf_counter() - began
    cpu_after = (cpu_seconds(server), time.process_time(), machine_busy_seconds())
    if run.requests:
        run.cpu_ms = tuple((b - a) * 1000 / run.requests for a, b in zip(cpu_before, cpu_after, strict=True))
    return run


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
    args = parser.parse_args()
    if args.issues < HUB_LINKS + 10:
        parser.error(f"--issues must be at least {HUB_LINKS + 10}")
    print(
        f"issuegraph link benchmark: {args.issues} issues, concurrency {CONCURRENCY}, "
        f"{args.workers} worker(s), {args.duration:g} s per phase, {os.cpu_count()} CPUs"
    )
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        bench_database(kind, args)


if __name__ == "__main__":
    main()
