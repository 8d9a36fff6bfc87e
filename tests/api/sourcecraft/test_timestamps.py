"""SourceCraft timestamps: RFC 3339 in UTC with a Z, microseconds only when there are any."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from issuegraph.api.sourcecraft.serializers import ts


def reference(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def test_ts_is_rfc3339_utc() -> None:
    rng = random.Random(11)
    zones = [UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-3, minutes=-30))]
    for _ in range(2000):
        value = datetime(2000, 1, 1) + timedelta(
            days=rng.randint(0, 20000),
            seconds=rng.randint(0, 86399),
            microseconds=rng.choice([0, 1, 999, 1000, rng.randint(0, 999999)]),
        )
        value = value.replace(tzinfo=rng.choice(zones))
        assert ts(value) == reference(value)
    assert ts(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    assert ts(None) is None
