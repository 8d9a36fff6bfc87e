"""A load generator for benchmarks: raw HTTP/1.1 on keep-alive loopback connections, and the CPU
of the processes under test read from /proc. Prints nothing and asserts nothing; `bench/` does.

The client is a few lines of asyncio on raw sockets, not an HTTP library: on a two-core machine
the load generator shares the cores with the server and the database, and httpx in threads used
about a fifth of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


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


def encode(request: Request, host: str, headers: Mapping[str, str]) -> bytes:
    method, path, body = request
    payload = json.dumps(body).encode() if body is not None else b""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
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


def load(
    base: str,
    jobs: Iterator[Request],
    seconds: float,
    limit: int,
    server_pid: int,
    *,
    headers: Mapping[str, str],
    concurrency: int = 8,
) -> Run:
    """Send jobs on `concurrency` keep-alive connections until `seconds` pass, `limit` are sent or
    jobs run out; `headers` go with every request (a token, a session cookie)."""
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
                raw = encode(job, f"{host}:{port}", headers)
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
        await asyncio.gather(*(connection(deadline) for _ in range(concurrency)))

    server = process_tree(server_pid)
    cpu_before = (cpu_seconds(server), time.process_time(), machine_busy_seconds())
    began = time.perf_counter()
    asyncio.run(drive())
    run.seconds = time.perf_counter() - began
    cpu_after = (cpu_seconds(server), time.process_time(), machine_busy_seconds())
    if run.requests:
        run.cpu_ms = tuple((b - a) * 1000 / run.requests for a, b in zip(cpu_before, cpu_after, strict=True))
    return run
