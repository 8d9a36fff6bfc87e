"""Prometheus metrics, served at /-/metrics.

With several worker processes (`issuegraph serve --workers N`) each process writes its values
to files in PROMETHEUS_MULTIPROC_DIR, which `issuegraph serve` creates (empty) before the
workers start and removes at exit; a scrape, answered by any worker, sums them all
(prometheus-client's multiprocess mode). Without that variable (tests, an app mounted
elsewhere) the process's own registry is served.

prometheus-client picks its storage when first imported, and the CLI imports this module
long before `issuegraph serve` sets the variable: the metric objects, and with them
prometheus-client, are therefore made on first use (`get()`), after the variable is set.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, event, func, select

from issuegraph.domain.errors import Conflict, RuleViolation

if TYPE_CHECKING:
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # also in ops.serving

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class Metrics:
    """The process's metric objects, made on first use (see the module doc for why)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.http_requests = Counter(
            "issuegraph_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
        )
        self.http_latency = Histogram(
            "issuegraph_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
        )
        self.db_query = Histogram(
            "issuegraph_db_query_duration_seconds",
            "Time of one SQL statement at the driver, by engine (requests, background)",
            ["engine"],
            buckets=_QUERY_BUCKETS,
        )
        self.db_connections_in_use = Gauge(
            "issuegraph_db_pool_connections_in_use",
            "Connections checked out of the pool, all live worker processes together",
            ["engine"],
            multiprocess_mode="livesum",
        )
        self.db_connections_opened = Counter(
            "issuegraph_db_pool_connections_opened", "New database connections opened by the pool", ["engine"]
        )
        self.db_unavailable = Counter(
            "issuegraph_db_unavailable", "Requests answered 503 because the database could not serve them"
        )
        self.links_created = Counter(
            "issuegraph_links_created", "Links created, by stored link type", ["link_type"]
        )
        self.links_refused = Counter(
            "issuegraph_links_refused",
            "Link creations refused by a rule or an existing link, by reason",
            ["reason"],
        )


@functools.cache
def get() -> Metrics:
    return Metrics()


_QUERY_STARTED = "issuegraph_query_started"


def instrument_engine(engine: Engine, name: str) -> None:
    """Time every statement of `engine` and follow its pool."""
    in_use = get().db_connections_in_use.labels(name)
    opened = get().db_connections_opened.labels(name)
    timing = get().db_query.labels(name)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, *_args: Any) -> None:
        conn.info.setdefault(_QUERY_STARTED, []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, *_args: Any) -> None:
        started = conn.info.get(_QUERY_STARTED)
        if started:
            timing.observe(time.perf_counter() - started.pop())

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        conn = context.connection
        if conn is not None and conn.info.get(_QUERY_STARTED):
            conn.info[_QUERY_STARTED].clear()

    event.listen(engine, "connect", lambda *_: opened.inc())
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())


F = TypeVar("F", bound=Callable[..., Any])


def counts_links(create: F) -> F:
    """Count the links `create` makes (by stored type) and the ones a rule refuses (by reason)."""

    @functools.wraps(create)
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            link = create(*args, **kwargs)
        except (RuleViolation, Conflict) as refusal:
            get().links_refused.labels(refusal.code).inc()
            raise
        get().links_created.labels(link.link_type).inc()
        return link

    return counted  # type: ignore[return-value]


class OutboxCollector:
    """The outbox backlog, read from the database at scrape time (not a per-process value).

    Every event row waits for delivery until a deliverer marks it done; with no deliverer in
    this version that is every row, so the gauge is the outbox's size."""

    def __init__(self, read: Callable[[], int | None]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from prometheus_client.core import GaugeMetricFamily

        backlog = self.read()
        if backlog is not None:
            yield GaugeMetricFamily(
                "issuegraph_outbox_backlog", "Events waiting in the outbox", value=backlog
            )


def outbox_reader(session_factory: Callable[[], Any]) -> Callable[[], int | None]:
    from issuegraph.db.models import Event

    def read() -> int | None:
        # A scrape during an outage still serves the rest.
        with contextlib.suppress(Exception), session_factory() as session:
            return int(session.execute(select(func.count()).select_from(Event)).scalar_one())
        return None

    return read


_LIVE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of worker processes that are gone (a killed worker's connections
    are no longer in use); their counters stay, as counters must."""
    pids = {
        int(m.group(1)) for p in Path(directory).glob("gauge_live*.db") if (m := _LIVE_FILE.match(p.name))
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, someone else's
            pass


def render(extra: Collector | None = None) -> bytes:
    """The exposition text: every worker's values (multiprocess) or this process's."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    get()  # a scrape before any request still lists the metrics
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        forget_dead_workers(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    if extra is None:
        return generate_latest(registry)
    scratch = CollectorRegistry()
    scratch.register(extra)
    return generate_latest(registry) + generate_latest(scratch)
