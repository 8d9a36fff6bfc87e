"""Webhook delivery figures of real processes: `issuegraph serve --no-deliver` plus one
`issuegraph worker`, delivering to a local asyncio receiver on loopback.

  * delivery throughput: N issue events queued while no worker runs, then one worker started;
    events delivered per second (first to last receipt, and worker start to last receipt);
  * idle latency: one issue at a time, from the server's 201 (sent after the commit) to the
    receiver's receipt, p50 / p99 (and from the request's start, an upper bound);
  * link creation through the GitLab face at concurrency 8 (the raw-socket load generator) with
    no hooks, then with ten active hooks on the project (each link: an Issue Hook update for both
    issues, to all ten), the worker delivering meanwhile; interleaved `--rounds` times, each phase
    starting with the delivery queue empty; CPU per create of the server, the worker and the
    database.

Prints figures, asserts nothing. The machine may be shared: compare figures within one run.

    .venv/bin/python bench/webhooks.py [--db postgresql|sqlite|both] [--events N]
                                       [--samples N] [--link-seconds S] [--rounds N]
                                       [--worker-nice N] [--parts throughput,latency,links]
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.events.fastreceiver import FastReceiver, fast_receiver  # noqa: E402

from issuegraph.testing import load as loadgen  # noqa: E402
from issuegraph.testing.serverproc import Process, running_process, running_server  # noqa: E402

TOKEN = "bench-hooks-token-0123456789abcdef"
PG_ADMIN_URL = os.environ.get("ISSUEGRAPH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CONCURRENCY = 8
ENV = {
    "ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL": "true",
    "ISSUEGRAPH_WEBHOOKS_CREATE_LIMIT": "0",  # ten hooks on one project in one minute
}


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="issuegraph-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"ig_bench_hooks_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """`issuegraph serve --no-deliver`, healthy: its URL and pid (the links part counts its CPU)."""
    with running_server(url, TOKEN, deliver=False, env=ENV) as started:
        yield started.url, started.pid


def worker(url: str, nice: int = 0) -> contextlib.AbstractContextManager[Process]:
    """`issuegraph worker` (`--nice N` when asked), started (no health to wait for); its pid for
    the links part's CPU."""
    return running_process(["worker", "--nice", str(nice)] if nice else ["worker"], url, env=ENV)


class Api:
    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base + "/api/v4", headers={"PRIVATE-TOKEN": TOKEN}, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        return response.json()


def parallel(base: str, jobs: list[tuple[str, dict[str, Any]]]) -> float:
    """Run POSTs at concurrency 8; returns requests per second."""
    lock = threading.Lock()
    queue = list(reversed(jobs))

    def work() -> None:
        api = Api(base)
        while True:
            with lock:
                if not queue:
                    return
                path, body = queue.pop()
            api.post(path, body)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(jobs) / (time.perf_counter() - started)


def wait_count(receiver: FastReceiver, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while receiver.count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {receiver.count()} of {count} delivered in {timeout} s")
        time.sleep(0.005)
    return time.time()


def throughput(url: str, base: str, receiver: FastReceiver, events: int) -> None:
    api = Api(base)
    project = api.post("/projects", {"name": "tp", "path": "tp"})
    api.post(f"/projects/{project['id']}/hooks", {"url": receiver.url, "issues_events": True})
    rate = parallel(base, [(f"/projects/{project['id']}/issues", {"title": f"i{n}"}) for n in range(events)])
    print(f"  queued {events} issue events at {rate:.0f} creates/s (no worker running)")
    before = receiver.count()
    started = time.time()
    with worker(url):
        done = wait_count(receiver, before + events, timeout=600)
    hits = receiver.snapshot()[before:]
    first = min(h.at for h in hits)
    print(
        f"  one worker: {events / (done - first):.0f} events/s first-to-last receipt, "
        f"{events / (done - started):.0f} events/s from worker start (incl. start-up)"
    )


def latency(url: str, base: str, receiver: FastReceiver, samples: int) -> None:
    api = Api(base)
    project = api.post("/projects", {"name": "lat", "path": "lat"})
    api.post(f"/projects/{project['id']}/hooks", {"url": receiver.url, "issues_events": True})
    after_commit, from_start = [], []
    with worker(url):
        time.sleep(2)  # the worker is up and listening
        for n in range(samples):
            before = receiver.count()
            sent = time.time()
            api.post(f"/projects/{project['id']}/issues", {"title": f"l{n}"})
            answered = time.time()
            wait_count(receiver, before + 1, timeout=30)
            hit = receiver.snapshot()[before]
            after_commit.append(max(hit.at - answered, 0.0) * 1000)
            from_start.append((hit.at - sent) * 1000)
            time.sleep(0.05 + random.random() * 0.05)

    def pct(values: list[float], p: float) -> float:
        return sorted(values)[min(len(values) - 1, int(len(values) * p))]

    print(
        f"  idle commit-to-delivery ({samples} samples): p50 {statistics.median(after_commit):.1f} ms, "
        f"p99 {pct(after_commit, 0.99):.1f} ms; "
        f"from request start p50 {statistics.median(from_start):.1f} ms, p99 {pct(from_start, 0.99):.1f} ms"
    )


class Backends:
    """CPU seconds of the bench database's PostgreSQL backends (SQLite: none, it runs in-process)."""

    def __init__(self, url: str) -> None:
        self.engine = (
            create_engine(url, isolation_level="AUTOCOMMIT") if url.startswith("postgresql") else None
        )

    def cpu(self) -> dict[int, float]:
        if self.engine is None:
            return {}
        with self.engine.connect() as conn:
            pids = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return {int(pid): loadgen.cpu_seconds([int(pid)]) for pid in pids}

    def undispatched(self) -> int:
        """Events the dispatcher has not numbered yet (each becomes deliveries when it does)."""
        if self.engine is None:
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events WHERE seq IS NULL")).scalar() or 0)

    def pending(self) -> int:
        if self.engine is None:
            return 0
        with self.engine.connect() as conn:
            query = text("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
            return int(conn.execute(query).scalar() or 0)


def links(
    url: str, base: str, server_pid: int, receiver: FastReceiver, seconds: float, rounds: int, nice: int = 0
) -> None:
    """Link creates at concurrency 8 (the raw-socket load generator) on a project with no hooks and
    on one with ten, interleaved `rounds` times. Each phase starts with the delivery queue empty,
    so a phase never pays for the previous one's backlog; the worker delivers during the phase
    (at `nice` lower CPU priority when asked: what it has not done by the phase's end is shown)."""
    api = Api(base)
    backends = Backends(url)
    figures: dict[str, list[float]] = {"no hooks": [], "ten hooks": []}
    if nice:
        print(f"  the worker runs with --nice {nice}")
    with worker(url, nice) as delivering:
        for n, (label, hooks) in enumerate([("no hooks", 0), ("ten hooks", 10)] * rounds):
            project = api.post("/projects", {"name": f"ln{n}", "path": f"ln{n}"})
            pid = project["id"]
            for _ in range(hooks):
                api.post(f"/projects/{pid}/hooks", {"url": receiver.url, "issues_events": True})
            iids = [api.post(f"/projects/{pid}/issues", {"title": f"n{i}"})["iid"] for i in range(300)]
            rng = random.Random(7 + n)
            pairs: set[tuple[int, int]] = set()
            while len(pairs) < int(seconds * 600):
                a, b = rng.sample(iids, 2)
                pairs.add((min(a, b), max(a, b)))
            jobs = iter(
                [
                    (
                        "POST",
                        f"/api/v4/projects/{pid}/issues/{a}/links",
                        {"target_project_id": pid, "target_issue_iid": b},
                    )
                    for a, b in sorted(pairs, key=lambda _: rng.random())
                ]
            )
            backlog, drain_started, received = backends.pending(), time.monotonic(), receiver.count()
            deadline = drain_started + 300
            while (backends.pending() or backends.undispatched()) and time.monotonic() < deadline:
                time.sleep(0.5)  # the previous phase's deliveries drain first
            if backlog or time.monotonic() - drain_started > 1:
                left, took = backends.pending(), time.monotonic() - drain_started
                print(
                    f"  backlog of {backlog} deliveries: {backlog - left} drained in {took:.1f} s "
                    f"({(receiver.count() - received) / took:.0f} delivered/s){', cut off' if left else ''}",
                    flush=True,
                )
            time.sleep(1)
            before = receiver.count()
            workers = loadgen.process_tree(delivering.pid)
            db_before, worker_before = backends.cpu(), loadgen.cpu_seconds(workers)
            run = loadgen.load(base, jobs, seconds, 10**9, server_pid, headers={"PRIVATE-TOKEN": TOKEN})
            db_after, worker_after = backends.cpu(), loadgen.cpu_seconds(workers)
            undispatched, pending = backends.undispatched(), backends.pending()
            per = 1000 / max(run.requests, 1)
            # a backend that began during the phase counts whole; one that ended in it is lost
            database = sum(db_after[p] - db_before.get(p, 0.0) for p in db_after) * per
            server_cpu, client_cpu, machine = run.cpu_ms
            worker_cpu = (worker_after - worker_before) * per
            figures[label].append(run.rate)
            print(
                f"  link creates, {label}: {run.rate:.0f}/s, p50 {run.pct(0.5):.1f} ms, "
                f"p99 {run.pct(0.99):.1f} ms; CPU ms per create: server {server_cpu:.2f}, "
                f"worker {worker_cpu:.2f}, database {database:.2f}, "
                f"load generator and receiver {client_cpu:.2f}, rest "
                f"{machine - server_cpu - client_cpu - worker_cpu - database:.2f}; "
                f"deliveries meanwhile {receiver.count() - before}, left at the end: "
                f"{pending} deliveries and {undispatched} events not yet dispatched; "
                f"statuses {dict(run.statuses)}",
                flush=True,
            )
    none, ten = statistics.mean(figures["no hooks"]), statistics.mean(figures["ten hooks"])
    print(f"  ten hooks vs none (means of {rounds} interleaved rounds): {100 * (ten / none - 1):+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--link-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved no-hooks/ten-hooks rounds")
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="links: run the worker with `--nice N` (0-19)"
    )
    parser.add_argument("--parts", default="throughput,latency,links", help="which figures, comma-separated")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    for kind in kinds:
        print(f"{kind}:")
        with database(kind) as url, fast_receiver() as receiver, server(url) as (base, server_pid):
            parts = args.parts.split(",")
            if "throughput" in parts:
                throughput(url, base, receiver, args.events)
            if "latency" in parts:
                latency(url, base, receiver, args.samples)
            if "links" in parts:
                links(url, base, server_pid, receiver, args.link_seconds, args.rounds, args.worker_nice)


if __name__ == "__main__":
    main()
