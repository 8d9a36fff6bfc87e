"""Fixed-window request limits, shared by every worker process and server of one database.

`hit` counts one request of a subject (a user in a project, say) against a limit of `limit`
requests per `period` seconds; past the limit it raises Throttled (429, with Retry-After until
the window ends). A window starts with the first request after the previous one ended. The
count is a row of `rate_limits` bumped by one upsert in the caller's transaction: a caller that
wants the request to count whatever happens next commits right after (GitLab counts every
attempt); a refused request is rolled back with its request, so it adds nothing. A limit of 0
counts nothing and refuses nothing (GitLab's "0 disables").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from issuegraph.domain.errors import Throttled
from issuegraph.ratelimits import repository

MESSAGE = "This endpoint has been requested too many times. Try again later."  # GitLab's words

# Seconds since the epoch. Tests replace it to move time on without waiting.
clock: Callable[[], float] = time.time


def hit(session: Session, name: str, subject: str, limit: int, period: float = 60.0) -> None:
    """Count one request of `subject` against the limit `name`; Throttled when it is one too many."""
    if limit <= 0:
        return
    now = clock()
    hits, window_end = repository.count_hit(session, f"{name}:{subject}"[:255], now, period)
    if hits > limit:
        retry_after = max(1, math.ceil(round(window_end - now, 3)))  # round: float noise
        raise Throttled("rate_limited", MESSAGE, details={"retry_after": str(retry_after)})


def prune(session: Session) -> int:
    """Delete the counters of ended windows (housekeeping; the worker runs it now and then)."""
    return repository.prune(session, clock())
