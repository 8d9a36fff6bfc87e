"""Import benchmark: 10,000 issues and 20,000 links from a local `issuegraph serve`.

The source is filled by `issuegraph dev seed` (direct inserts), served by a real server process;
`issuegraph import gitlab` (or `sourcecraft`) runs as its own process into a fresh database and
its peak RSS is read from the kernel (ru_maxrss of that child, from wait4). Prints the figures; the
target is at most 3 minutes. Usage:

    .venv/bin/python bench/import.py [--issues 10000] [--links 20000] [--face gitlab|sourcecraft]
        [--database sqlite|postgresql] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.importers.support import TOKEN, database  # noqa: E402

from issuegraph.testing.serverproc import running_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--links", type=int, default=20_000)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--face", choices=("gitlab", "sourcecraft"), default="gitlab")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    import pytest

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            source_ctx = database(args.database, tmp, "bench_source")
            copy_ctx = database(args.database, tmp, "bench_copy")
            with source_ctx as source_db, copy_ctx as copy_db:
                run(args, tmp, source_db, copy_db)
        except pytest.skip.Exception as exc:
            raise SystemExit(f"cannot run: {exc}") from exc


def run(args: argparse.Namespace, tmp: Path, source_db: str, copy_db: str) -> None:
    issuegraph = [sys.executable, "-m", "issuegraph.cli"]
    started = time.perf_counter()
    subprocess.run(
        [
            *issuegraph,
            "dev",
            "seed",
            "--issues",
            str(args.issues),
            "--links",
            str(args.links),
            "--projects",
            str(args.projects),
            "--database-url",
            source_db,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    seeded = time.perf_counter() - started
    print(f"source seeded with {args.issues} issues, about {args.links} links in {seeded:.1f} s")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSUEGRAPH_")}
    env["ISSUEGRAPH_DATABASE_URL"] = copy_db
    subprocess.run([*issuegraph, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    with running_server(source_db, TOKEN) as source_server, running_server(copy_db, TOKEN):
        source = source_server.url
        face = (
            ["gitlab", source, "--group", "seed"]
            if args.face == "gitlab"
            else ["sourcecraft", source, "--org", "seed"]
        )
        for label in ("first run", "second run (nothing changed)"):
            summary = tmp / "summary.json"
            command = [
                *issuegraph,
                "import",
                *face,
                "--token",
                TOKEN,
                "--workers",
                str(args.workers),
                "--summary-json",
                str(summary),
            ]
            clock = time.perf_counter()
            done, usage = run_measured(command, env)
            seconds = time.perf_counter() - clock
            if done.returncode not in (0, 2):
                raise SystemExit(done.stdout + done.stderr)
            counts = json.loads(summary.read_text())["counts"]
            wanted = {k: v for k, v in counts.items() if k.split(".")[0] in ("issue", "link", "note")}
            cpu = usage.ru_utime + usage.ru_stime
            print(
                f"{label}: {seconds:.1f} s (importer CPU {cpu:.1f} s),"
                f" importer peak RSS {usage.ru_maxrss / 1024:.1f} MiB, {wanted}"
            )


def run_measured(
    command: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], resource.struct_rusage]:
    """Run `command`; its result and its own resource usage (wait4 of that child: ru_maxrss is its
    peak RSS in KiB, not the maximum over every child this script waited for, which includes the
    seeding; its CPU time is less disturbed by a loaded machine than the wall clock)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, proc.returncode, out.read(), err.read()), usage


if __name__ == "__main__":
    main()
