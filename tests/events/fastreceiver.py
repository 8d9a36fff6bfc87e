"""An asyncio HTTP/1.1 receiver for load: keep-alive, answers 200 at once, records a few headers.

The threaded receiver of the functional tests tops out at a few hundred requests a second on a
shared machine; benchmarks and the crash test need one that is not the bottleneck.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
_KEPT = (b"idempotency-key", b"x-issuegraph-attempt", b"x-gitlab-event-uuid")


@dataclass
class Hit:
    at: float
    headers: dict[str, str]


@dataclass
class FastReceiver:
    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.hits)

    def snapshot(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)


async def _serve(receiver: FastReceiver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            kept: dict[str, str] = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lower = name.strip().lower()
                if lower == b"content-length":
                    length = int(value)
                elif lower in _KEPT:
                    kept[lower.decode()] = value.strip().decode()
            if length:
                await reader.readexactly(length)
            with receiver.lock:
                receiver.hits.append(Hit(time.time(), kept))
            writer.write(_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def fast_receiver() -> Iterator[FastReceiver]:
    receiver = FastReceiver()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict[str, asyncio.AbstractServer] = {}

    async def start() -> None:
        server = await asyncio.start_server(lambda r, w: _serve(receiver, r, w), "127.0.0.1", 0)
        holder["server"] = server
        receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True, name="fast-receiver")
    thread.start()
    ready.wait(10)
    try:
        yield receiver
    finally:

        async def stop() -> None:
            holder["server"].close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
