"""Throttling of failed authentication per client address, correct across worker processes.

Every request that presents a token which is unknown, revoked or expired counts one failure for
its client address in the `auth_throttle` table, in a transaction of its own (the request's is
rolled back). When an address reaches `auth_failure_limit` failures within `auth_ban_seconds`,
it is refused for `auth_ban_seconds`: every request of it that presents a token, valid or not,
answers 429 with Retry-After (a correct guess must not get through). The state is in the
database, so all workers and processes of one server share it; the ban is read in the same
statement as the token (no extra round trip on the hot path). Requests without a token are
never counted or refused: they reach only what anonymous users may see.

The client address is the connection's peer as uvicorn gives it (behind a proxy on 127.0.0.1,
uvicorn takes it from X-Forwarded-For).
"""

from __future__ import annotations

import time
from typing import Any, cast

from sqlalchemy import Table, case, literal
from sqlalchemy.dialects import postgresql, sqlite

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.db.models import AuthThrottle
from issuegraph.domain.errors import Throttled

_TABLE = cast(Table, AuthThrottle.__table__)
MAX_CLIENT = 64


def client_key(host: str | None) -> str:
    return (host or "unknown")[:MAX_CLIENT]


def refusal(banned_until: float, now: float | None = None) -> Throttled:
    retry_after = max(1, int(banned_until - (now or time.time()) + 0.999))
    return Throttled(
        "too_many_failed_authentications",
        "Too many failed authentication attempts from this address; retry later",
        details={"retry_after": str(retry_after)},
    )


def record_failure(database: Database, client: str, settings: Settings) -> float:
    """Count one failure for `client` in a transaction of its own; returns the time until which
    the address is refused (0 or a past time when it is not)."""
    now = time.time()
    window = settings.auth_ban_seconds
    dialect = postgresql if not settings.is_sqlite else sqlite
    stmt = dialect.insert(_TABLE).values(client=client, window_start=now, failures=1, banned_until=0.0)
    stale = _TABLE.c.window_start < now - window
    failures = case((stale, literal(1)), else_=_TABLE.c.failures + 1)
    upsert = stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.client],
        set_={
            "failures": failures,
            "window_start": case((stale, literal(now)), else_=_TABLE.c.window_start),
            "banned_until": case(
                (failures >= settings.auth_failure_limit, literal(now + window)), else_=_TABLE.c.banned_until
            ),
        },
    ).returning(_TABLE.c.failures, _TABLE.c.banned_until)
    session = database.request_session(write=True)
    try:
        row: Any = session.execute(upsert).one()
        session.commit()
    finally:
        session.close()
    count, banned_until = int(row[0]), float(row[1])
    if count >= settings.auth_failure_limit and banned_until < now:  # the first insert of a limit of 1
        return now + window
    return banned_until
