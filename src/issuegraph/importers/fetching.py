"""Requests to a source: bounded retries, 429 and Retry-After respected, failures as values."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import httpx

T = TypeVar("T")

ATTEMPTS = 4
BACKOFF = 0.5  # seconds, doubled each attempt
MAX_WAIT = 60.0


class FetchError(Exception):
    """A request that still failed after its retries; `reason` is for the summary."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


class RetryableStatus(Exception):
    """An answer worth asking again (429, 502, 503, 504), with the server's wait if it gave one."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.wait = wait


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def with_retries(
    what: str,
    call: Callable[[], T],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
    transient: tuple[type[BaseException], ...] = (),
) -> T:
    """`call()`, again after a network error or a retryable answer, then FetchError."""
    retryable: tuple[type[BaseException], ...] = (httpx.TransportError, ConnectionError, *transient)
    reason = ""
    for attempt in range(attempts):
        try:
            return call()
        except RetryableStatus as exc:
            reason = str(exc)
            wait = exc.wait if exc.wait is not None else BACKOFF * 2**attempt
        except retryable as exc:
            reason = f"{type(exc).__name__}: {exc}"
            wait = BACKOFF * 2**attempt
        if attempt + 1 < attempts:
            (sleep or time.sleep)(min(wait, MAX_WAIT))
    raise FetchError(what, reason)
