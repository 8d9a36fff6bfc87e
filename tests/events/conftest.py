"""Webhook fixtures: settings that allow the loopback receiver, the receiver, a delivery helper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.events import delivery
from issuegraph.events.worker import Worker
from tests.conftest import FrozenClock
from tests.events.receiver import Receiver, running_receiver

WEBHOOK_ENV = {
    "ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL": "true",
    "ISSUEGRAPH_WEBHOOKS_RETRY_BASE_SECONDS": "0.05",
    "ISSUEGRAPH_WEBHOOKS_RETRY_MAX_SECONDS": "0.2",
    "ISSUEGRAPH_WEBHOOKS_TIMEOUT": "2",
    "ISSUEGRAPH_WEBHOOKS_CONNECT_TIMEOUT": "1",
}


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The common settings plus webhooks allowed to reach loopback, with quick retries."""
    for key, value in WEBHOOK_ENV.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


class Deliverer:
    """Runs delivery rounds in the test's thread (what `issuegraph worker` does in a loop)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.worker = Worker(database, settings)
        self.settings = settings

    def round(self, now: Any = None) -> int:
        async def go() -> int:
            async with delivery.Sender(self.settings) as sender:
                return await self.worker.run_once(sender, now)

        return asyncio.run(go())

    def until(self, done: Any, timeout: float = 30.0) -> None:
        """Rounds until `done()` holds (a slow, shared machine gets the whole timeout)."""
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "delivery did not reach the expected state in time"
            self.round()
            time.sleep(0.02)

    def until_idle(self, timeout: float = 10.0) -> int:
        """Rounds until nothing is due (waiting out short retry delays); returns attempts made."""
        total, deadline = 0, time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline:
            n = self.round()
            total += n
            if n:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 0.5:
                return total
            time.sleep(0.02)
        return total


@pytest.fixture
def deliverer(database: Database, settings: Settings) -> Deliverer:
    return Deliverer(database, settings)


@pytest.fixture(autouse=True)
def frozen_rate_clock(rate_clock: FrozenClock) -> FrozenClock:
    """GitLab's 5-a-minute limits count in the test's own (fresh) database; their clock stands
    still, so a slow machine never spreads a test's requests over two windows."""
    return rate_clock
