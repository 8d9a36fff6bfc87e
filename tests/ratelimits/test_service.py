"""Request limits counted in the database: a fixed window, shared by every process, 0 disables."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import RateLimit
from issuegraph.domain.errors import Throttled
from issuegraph.ratelimits import service as ratelimits
from tests.conftest import FrozenClock


def _hit(database: Database, subject: str = "u1", limit: int = 5, name: str = "hooks_test") -> str | None:
    """One request as a request makes it (its own transaction, rolled back when refused):
    None when it is allowed, else the Retry-After it was refused with."""
    try:
        with database.session() as session:
            ratelimits.hit(session, name, subject, limit)
    except Throttled as refused:
        return str(refused.details["retry_after"])
    return None


def _rows(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(RateLimit)) or 0)


def test_sixth_request_in_a_minute_is_refused(database: Database, rate_clock: FrozenClock) -> None:
    """Five requests pass; the sixth is refused with Retry-After until the window ends."""
    assert [_hit(database) for _ in range(5)] == [None] * 5
    assert _hit(database) == "60"
    rate_clock.advance(45)
    assert _hit(database) == "15"


def test_window_rolls_over(database: Database, rate_clock: FrozenClock) -> None:
    """When the minute is over a new window starts with a full budget; it ends a minute later."""
    assert [_hit(database) for _ in range(6)] == [None] * 5 + ["60"]
    rate_clock.advance(59.5)
    assert _hit(database) == "1"  # not over yet
    rate_clock.advance(0.5)
    assert [_hit(database) for _ in range(6)] == [None] * 5 + ["60"]


def test_zero_disables(database: Database) -> None:
    """A limit of 0 refuses nothing and counts nothing (GitLab's "0 disables")."""
    assert {_hit(database, limit=0) for _ in range(20)} == {None}
    assert _rows(database) == 0


def test_subjects_and_limits_count_apart(database: Database, rate_clock: FrozenClock) -> None:
    """Another subject, or another limit for the same subject, has a budget of its own."""
    assert [_hit(database) for _ in range(6)][-1] == "60"
    assert _hit(database, subject="u2") is None
    assert _hit(database, name="hooks_resend") is None


def test_two_processes_share_the_count(
    database: Database, settings: Settings, rate_clock: FrozenClock
) -> None:
    """Two engines on one database (what two server processes hold) share one counter."""
    other = Database(settings)
    try:
        answers = [_hit(database if n % 2 else other) for n in range(6)]
    finally:
        other.dispose()
    assert answers == [None] * 5 + ["60"]


def test_concurrent_requests_count_exactly(database: Database, rate_clock: FrozenClock) -> None:
    """Twelve requests at once over separate connections: exactly five pass (one atomic upsert)."""
    start = threading.Barrier(12)
    answers: list[str | None] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        answer = _hit(database)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (answers.count(None), answers.count("60")) == (5, 7)


def test_prune_forgets_ended_windows(database: Database, rate_clock: FrozenClock) -> None:
    """Pruning deletes the counters whose window has ended, and only those."""
    _hit(database, subject="old")
    rate_clock.advance(30)
    _hit(database, subject="new")
    rate_clock.advance(30)
    with database.session() as session:
        assert ratelimits.prune(session) == 1
    assert _rows(database) == 1
