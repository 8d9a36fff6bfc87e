"""The delivering loop: `issuegraph worker`, or a thread of `issuegraph serve`.

Woken by LISTEN/NOTIFY on PostgreSQL (a trigger on `events` notifies at each commit of a change,
the dispatcher notifies when it has created deliveries), by polling on SQLite; it also polls on
PostgreSQL, for retries that come due and in case a notification was missed while reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import utcnow
from issuegraph.events import delivery, dispatch, mail
from issuegraph.ratelimits import service as ratelimits

log = logging.getLogger("issuegraph.events")
PRUNE_EVERY = timedelta(minutes=10)


class Worker:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._wake: asyncio.Event | None = None
        self._last_prune: datetime | None = None

    def dispatch_all(self) -> int:
        total = 0
        while True:
            with self.database.session() as session:
                n = dispatch.dispatch_once(
                    session, self.settings.base_url(), mail_on=bool(self.settings.smtp_url)
                )
            total += n
            if n < dispatch.BATCH:
                return total

    async def run_once(self, sender: delivery.Sender, now: datetime | None = None) -> int:
        """Dispatch new events, then one round of attempts; returns the number of attempts."""
        self.dispatch_all()
        now = now or utcnow()
        mailed = await self.mail_round(now) if self.settings.smtp_url else 0
        with self.database.session() as session:
            claimed = delivery.claim(session, now, self.settings)
        if not claimed:
            self._maybe_prune(now)
            return mailed
        ready: list[tuple[delivery.Claimed, delivery.Prepared]] = []
        results: list[tuple[delivery.Claimed, delivery.Prepared, delivery.Outcome]] = []
        for c in claimed:
            try:
                prepared = delivery.prepare(
                    c.hook, c.trigger, c.uuid, c.payload, c.attempt, self.settings, event_id=c.event_id
                )
            except Exception as exc:  # a URL variable removed since: a failed attempt, logged
                results.append(
                    (c, delivery.Prepared(c.hook.url, {}, b"", {}), delivery.Outcome(error=str(exc)))
                )
                continue
            ready.append((c, prepared))
        outcomes = await sender.send_all([p for _, p in ready])
        results += [(c, p, o) for (c, p), o in zip(ready, outcomes, strict=True)]
        with self.database.session() as session:
            delivery.record(session, results, utcnow(), self.settings)
        return len(results) + mailed

    async def mail_round(self, now: datetime) -> int:
        """Send due notification mails over one SMTP connection (in a thread: smtplib blocks)."""
        with self.database.session() as session:
            due = [
                (m.id, m.email, m.subject, m.body)
                for m in mail.claim(session, now, self.settings.webhooks_timeout * 10 + 10)
            ]
        if not due:
            return 0
        outcomes = await asyncio.to_thread(mail.send, self.settings, due)
        with self.database.session() as session:
            mail.record(session, outcomes, utcnow(), lambda n: delivery.retry_delay(n, self.settings))
        return len(due)

    def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        with self.database.session() as session:
            delivery.prune(session, now, self.settings)
            ratelimits.prune(session)  # request counters of ended windows

    async def run(self, stop: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        wake = self._wake

        poked = threading.Event()

        def poke() -> None:
            # Under load every commit notifies: wake the loop once per round, not per commit.
            if not poked.is_set():
                poked.set()
                loop.call_soon_threadsafe(wake.set)

        listener: threading.Thread | None = None
        if not self.settings.is_sqlite:
            listener = threading.Thread(
                target=_listen, args=(self.settings.database_url, poke, stop), daemon=True, name="ig-listen"
            )
            listener.start()
        async with delivery.Sender(self.settings) as sender:
            while not stop.is_set():
                try:
                    busy = await self.run_once(sender)
                except Exception:  # the database went away: log, wait, try again
                    log.exception("delivery round failed")
                    busy = 0
                    await asyncio.sleep(self.settings.webhooks_poll_seconds)
                if busy:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.settings.webhooks_poll_seconds)
                if wake.is_set() and self.settings.webhooks_gather_seconds:
                    # Under load every commit notifies: gather the burst into one round instead
                    # of two transactions per commit (this thread shares the server's CPU).
                    await asyncio.sleep(self.settings.webhooks_gather_seconds)
                wake.clear()
                poked.clear()  # before the round: a commit from now on wakes the next one


def _listen(database_url: str, poke: Callable[[], None], stop: threading.Event) -> None:
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("LISTEN issuegraph_events")
                conn.execute("LISTEN issuegraph_deliveries")
                poke()  # anything committed while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        poke()
        except Exception:  # reconnect after a pause; the poll covers the gap
            log.warning("LISTEN connection lost; reconnecting", exc_info=True)
            time.sleep(1.0)


def run_forever(settings: Settings, stop: threading.Event | None = None) -> None:
    """Deliver until `stop` is set (or forever): the body of `issuegraph worker`."""
    stop = stop or threading.Event()
    database = Database(settings)
    try:
        asyncio.run(Worker(database, settings).run(stop))
    finally:
        database.dispose()


def start_thread(settings: Settings) -> tuple[threading.Thread, threading.Event]:
    """In-process delivery for `issuegraph serve`."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(settings, stop), daemon=True, name="ig-deliver")
    thread.start()
    return thread, stop
