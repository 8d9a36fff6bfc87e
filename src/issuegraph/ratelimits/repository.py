"""The counters' queries: one upsert per counted request, and pruning of ended windows."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from issuegraph.db.models import RateLimit

_TABLE = cast(Table, RateLimit.__table__)


def count_hit(session: Session, key: str, now: float, period: float) -> tuple[int, float]:
    """One more hit for `key`, in one statement: a new window of `period` seconds when there is
    none or the last one has ended, else the current one. Returns the window's hits and its end.

    Atomic on both backends: PostgreSQL's upsert takes the row lock (a concurrent hit waits and
    then counts on the committed row); SQLite has one writer."""
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    ended = _TABLE.c.window_end <= now
    statement = (
        dialect.insert(_TABLE)
        .values(key=key, window_end=now + period, hits=1)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={
                "hits": case((ended, literal(1)), else_=_TABLE.c.hits + 1),
                "window_end": case((ended, literal(now + period)), else_=_TABLE.c.window_end),
            },
        )
        .returning(_TABLE.c.hits, _TABLE.c.window_end)
    )
    hits, window_end = session.execute(statement).one()
    return int(hits), float(window_end)


def prune(session: Session, now: float) -> int:
    """Forget the counters whose window has ended (the next hit starts a new one anyway)."""
    result = session.execute(delete(RateLimit).where(RateLimit.window_end <= now))
    return int(getattr(result, "rowcount", 0) or 0)
