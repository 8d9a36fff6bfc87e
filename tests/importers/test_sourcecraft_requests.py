"""SourceCraft requests: 429 and Retry-After respected, transient answers retried, then reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from issuegraph.importers import fetching
from issuegraph.importers.fetching import FetchError, retry_after
from issuegraph.importers.sourcecraft import SourceCraftSource

REPOS = {
    "repositories": [
        {
            "id": "5",
            "name": "API",
            "slug": "api",
            "organization": {"id": "2", "slug": "acme"},
            "visibility": "private",
            "is_empty": True,
            "template_type": "not_a_template",
            "default_branch": "main",
            "counters": {"issues": "3"},
        }
    ]
}


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(fetching.time, "sleep", slept.append)
    return slept


def test_429_waits_retry_after_then_reads(waits: list[float]) -> None:
    """A 429 is asked again after its Retry-After; unknown fields (counters, branches) are ignored."""
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}),
            httpx.Response(200, json=REPOS),
        ]
    )
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return next(answers)

    source = SourceCraftSource("http://sc.test", "tok", org="acme", transport=httpx.MockTransport(handler))
    scope = source.scope()
    assert waits == [7.0]
    assert seen == ["Bearer tok", "Bearer tok"]
    assert [type(x).__name__ for x in scope] == ["SourceGroup", "SourceProject"]
    assert scope[1].full_path == "acme/api"  # type: ignore[union-attr]


def test_transient_errors_are_retried_then_reported(waits: list[float]) -> None:
    """503s and dropped connections are retried a bounded number of times, then a FetchError."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls % 2:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(503, json={"message": "unavailable"})

    source = SourceCraftSource("http://sc.test", "tok", org="acme", transport=httpx.MockTransport(handler))
    with pytest.raises(FetchError) as caught:
        source.scope()
    assert calls == fetching.ATTEMPTS
    assert caught.value.reason == "HTTP 503"
    assert waits == [0.5, 1.0, 2.0]


def test_client_errors_are_not_retried(waits: list[float]) -> None:
    """A 404 is reported at once with the server's message."""
    transport = httpx.MockTransport(lambda request: httpx.Response(404, json={"message": "org not found"}))
    source = SourceCraftSource("http://sc.test", "tok", org="nope", transport=transport)
    with pytest.raises(FetchError, match="HTTP 404: org not found"):
        source.scope()
    assert waits == []


def test_retry_after_reads_seconds_and_http_dates() -> None:
    """Retry-After as delta-seconds or an HTTP date; anything else is no advice."""
    assert retry_after("120") == 120.0
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (retry_after(format_datetime(later, usegmt=True)) or 0) <= 30
    assert retry_after("soon") is None and retry_after(None) is None
