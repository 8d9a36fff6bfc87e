"""What the observability costs per request: metrics and the access log, measured in-process.

    .venv/bin/python bench/ops.py [--requests N] [--statements K]

Times, on the metric objects the server uses, the best of five rounds of N simulated requests:
the request metrics alone (counter and latency histogram), the same plus one JSON access-log
record (written to /dev/null), and K statements' timing listeners (a trivial SQLite statement
with and without the listeners). Runs once with prometheus-client's multiprocess storage (as
`issuegraph serve` runs it, values in mmap'd files) and once with its in-process storage.
Prints microseconds per request.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROUNDS = 5


def best(work: Callable[[], None], times: int) -> float:
    """Microseconds per call of `work`, the best of ROUNDS rounds of `times` calls."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(times):
            work()
        rounds.append(time.perf_counter() - started)
    return min(rounds) / times * 1e6


def measure(requests: int, statements: int) -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from issuegraph.ops import metrics
    from issuegraph.ops.logs import JsonFormatter
    from issuegraph.ops.observe import ObserveMiddleware

    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("issuegraph.access")
    access.addHandler(handler)
    access.propagate = False

    class Route:
        path = "/api/v4/projects/{project_id}/issues/{issue_iid}/links"

    scope = {"type": "http", "method": "GET", "route": Route(), "path": "/x", "state": {"request_id": "r"}}
    access.setLevel(logging.WARNING)
    figures = {"request metrics": best(lambda: ObserveMiddleware._observe(scope, 200, 0.004), requests)}
    access.setLevel(logging.INFO)
    figures["request metrics + access log"] = best(
        lambda: ObserveMiddleware._observe(scope, 200, 0.004), requests
    )

    timed_engine, plain_engine = create_engine("sqlite://"), create_engine("sqlite://")
    metrics.instrument_engine(timed_engine, "requests")
    select = text("SELECT 1")
    with timed_engine.connect() as timed, plain_engine.connect() as plain:
        with_listeners = best(lambda: timed.execute(select), requests)
        without = best(lambda: plain.execute(select), requests)
    figures[f"{statements} statements' timing"] = max(0.0, with_listeners - without) * statements
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--statements", type=int, default=4)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        for name, micros in measure(args.requests, args.statements).items():
            print(f"{name}: {micros:.1f}")
        return
    for mode in ("multiprocess", "in-process"):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as directory:
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = directory
            cmd = [sys.executable, __file__, "--child", "--requests", str(args.requests)]
            cmd += ["--statements", str(args.statements)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        print(f"{mode} storage (us per request):")
        for line in out.splitlines():
            print(f"  {line}")


if __name__ == "__main__":
    main()
