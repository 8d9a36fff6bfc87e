"""Web UI figures on PostgreSQL through a real `issuegraph serve`. Prints; asserts nothing.

* The issue page of an issue with 100 links, signed in, 8 concurrent clients: latency p50/p99
  seen by the clients over loopback (an upper bound of the server's own time).
* The project graph of 2,000 issues and 5,000 links (4,500 blocks, 500 parent_of): the data
  the page loads (the export JSON and the critical-path/ready marks), and the time Chromium takes
  from the page's script start to the end of the dagre layout (data fetch included).

    .venv/bin/python bench/web.py [--requests 2000] [--concurrency 8] [--draws 3] [--workers 1]
                                  [--keep] [--reuse DATABASE]

The load average is printed with the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from issuegraph.testing import load as loadgen
from issuegraph.testing.serverproc import running_server

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("ISSUEGRAPH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "bench-web-token-0123456789"
PASSWORD = "bench-web-password"
ISSUES, BLOCKS, PARENTS, HUB_LINKS = 2000, 4500, 500, 100


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def seed(api: httpx.Client) -> tuple[int, int]:
    """(graph project id, hub project id): 2,000 issues with 5,000 links; a hub issue with 100 links."""
    rng = random.Random(8)
    graph = api.post("/api/v4/projects", json={"name": "graph"}).json()["id"]
    hub = api.post("/api/v4/projects", json={"name": "hub"}).json()["id"]
    for _ in range(ISSUES):
        api.post(f"/api/v4/projects/{graph}/issues", json={"title": f"graph issue {rng.random():.6f}"})
    for i in range(HUB_LINKS + 1):
        api.post(f"/api/v4/projects/{hub}/issues", json={"title": f"hub issue {i}"})
    pairs: set[tuple[int, int]] = set()
    ops: list[dict[str, Any]] = []
    for child in range(11, 11 + PARENTS):  # parent child // 10: a forest of depth <= 4
        pairs.add((child // 10, child))
        ops.append(_op(graph, child // 10, child, "parent_of"))
    degree: dict[int, int] = {}
    while len(ops) < PARENTS + BLOCKS:
        a, b = sorted(rng.sample(range(1, ISSUES + 1), 2))
        if b - a > 200 or (a, b) in pairs or degree.get(a, 0) > 60 or degree.get(b, 0) > 60:
            continue
        pairs.add((a, b))
        degree[a], degree[b] = degree.get(a, 0) + 1, degree.get(b, 0) + 1
        ops.append(_op(graph, a, b, "blocks"))  # lower iid blocks higher: never a cycle
    ops += [_op(hub, 1, i, "blocks" if i % 2 else "related_to") for i in range(2, HUB_LINKS + 2)]
    for start in range(0, len(ops), 1000):
        response = api.post("/api/graph/v1/links/bulk", json={"operations": ops[start : start + 1000]})
        assert response.status_code == 200, response.text[:500]
    return graph, hub


def _op(project: int, source: int, target: int, kind: str) -> dict[str, Any]:
    return {
        "action": "create",
        "source": {"project": project, "iid": source},
        "target": {"project": project, "iid": target},
        "link_type": kind,
    }


def session_cookie(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        page = client.get("/-/sign_in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        response = client.post(
            "/-/sign_in", data={"username": "root", "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code in (200, 303), response.status_code
        return str(client.cookies.get("issuegraph_session"))


def issue_page(base: str, cookie: str, path: str, requests: int, concurrency: int, pid: int) -> None:
    """One client in series, then `concurrency` keep-alive connections of the raw-socket load
    generator (a few lines of asyncio, not httpx in threads: the client shares the two cores)."""
    with httpx.Client(base_url=base, cookies={"issuegraph_session": cookie}) as warm:
        page = warm.get(path)
        assert page.status_code == 200 and page.text.count("link-row") == HUB_LINKS, page.status_code
        for _ in range(20):
            warm.get(path)
        serial = []
        for _ in range(50):
            started = time.perf_counter()
            warm.get(path)
            serial.append((time.perf_counter() - started) * 1000)
    print(
        f"issue page with {HUB_LINKS} links, one client, 50 requests: p50 {pct(serial, 0.5):.1f} ms, "
        f"p99 {pct(serial, 0.99):.1f} ms ({load()})"
    )
    headers = {"Cookie": f"issuegraph_session={cookie}"}
    jobs = itertools.repeat(("GET", path, None), requests)
    run = loadgen.load(base, jobs, 120.0, requests, pid, headers=headers, concurrency=concurrency)
    server_cpu, client_cpu, machine = run.cpu_ms
    print(
        f"issue page with {HUB_LINKS} links, concurrency {concurrency}, {run.requests} requests: "
        f"p50 {run.pct(0.5):.1f} ms, p99 {run.pct(0.99):.1f} ms, max {run.pct(1.0):.1f} ms, "
        f"{run.rate:.0f} pages/s; CPU per page: server {server_cpu:.2f} ms, load generator "
        f"{client_cpu:.2f} ms, rest of machine (database) {machine - server_cpu - client_cpu:.2f} ms; "
        f"statuses {dict(run.statuses)} ({load()})"
    )


def graph_data(base: str, cookie: str, project: int) -> None:
    with httpx.Client(base_url=base, cookies={"issuegraph_session": cookie}, timeout=60) as client:
        for name, path in (
            ("export JSON", f"/-/projects/{project}/graph/export?format=json"),
            ("marks (critical path, ready)", f"/-/projects/{project}/graph/marks.json"),
        ):
            client.get(path)
            times = []
            for _ in range(10):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            print(
                f"project graph data, {name}: median {statistics.median(times):.0f} ms, "
                f"max {max(times):.0f} ms, {len(response.content) / 1024:.0f} KiB ({load()})"
            )


def draw(base: str, cookie: str, project: int, draws: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="ig-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ]:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"{base}/-/sign_in")
        driver.add_cookie({"name": "issuegraph_session", "value": cookie, "path": "/"})
        for _ in range(draws):
            driver.get(f"{base}/-/projects/{project}/graph")
            WebDriverWait(driver, 120).until(
                lambda d: d.execute_script("return document.getElementById('graph').dataset.ready === 'true'")
            )
            marks = driver.execute_script(
                "var d = document.getElementById('graph').dataset;"
                "return [d.dataMs, d.positionsMs, d.initMs, d.drawMs].map(Number)"
            )
            script_ms = marks[3]
            page_ms = driver.execute_script("return Math.round(performance.now())")
            shots = ROOT / "tmp" / "artifacts"
            shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shots / "bench-project-graph-2000.png"))
            nodes, edges = driver.execute_script(
                "return [window.igGraph.nodes().length, window.igGraph.edges().length]"
            )
            print(
                f"project graph drawn in Chromium: {nodes} nodes, {edges} edges, script start to layout "
                f"done {script_ms} ms (data {marks[0]}, positions {marks[1]}, cytoscape ready {marks[2]}), "
                f"navigation to ready ~{page_ms} ms ({load()})"
            )
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes")
    parser.add_argument("--keep", action="store_true", help="Keep the database (its name is printed)")
    parser.add_argument("--reuse", help="Name of a database kept by --keep: no seeding")
    args = parser.parse_args()
    name = args.reuse or f"ig_bench_web_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        env = {"ISSUEGRAPH_ADMIN_PASSWORD": PASSWORD}
        with running_server(url, TOKEN, workers=args.workers, env=env) as server:
            base = server.url
            started = time.perf_counter()
            with httpx.Client(base_url=base, headers={"PRIVATE-TOKEN": TOKEN}, timeout=120) as api:
                if args.reuse:
                    found = {p["path"]: p["id"] for p in api.get("/api/v4/projects").json()}
                    graph, hub = found["graph"], found["hub"]
                else:
                    graph, hub = seed(api)
            # A freshly bulk-loaded database has no planner statistics until autovacuum gets to
            # it; without them the critical path's join plan took 10 s instead of 0.1 s here.
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("ANALYZE"))
            print(
                f"seeded {ISSUES} issues, {BLOCKS + PARENTS} links (+ a hub issue with {HUB_LINKS}) in "
                f"{time.perf_counter() - started:.0f} s; {args.workers} server worker(s)"
            )
            cookie = session_cookie(base)
            path = f"/-/projects/{hub}/issues/1"
            issue_page(base, cookie, path, args.requests, args.concurrency, server.pid)
            graph_data(base, cookie, graph)
            draw(base, cookie, graph, args.draws)
    finally:
        if args.keep or args.reuse:
            print(f"database kept: {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
