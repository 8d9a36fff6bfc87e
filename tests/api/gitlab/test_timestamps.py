"""GitLab timestamps: UTC, milliseconds (truncated), a Z, whatever datetime comes in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from issuegraph.api.gitlab.serializers import ts


def reference(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def test_ts_matches_isoformat_with_milliseconds() -> None:
    rng = random.Random(7)
    zones = [UTC, None, timezone(timedelta(hours=3)), timezone(timedelta(hours=-9, minutes=-30))]
    for _ in range(2000):
        value = datetime(2000, 1, 1) + timedelta(
            days=rng.randint(0, 20000),
            seconds=rng.randint(0, 86399),
            microseconds=rng.choice([0, 1, 999, 1000, 123456, 999999, rng.randint(0, 999999)]),
        )
        value = value.replace(tzinfo=rng.choice(zones))
        assert ts(value) == reference(value)
    assert ts(datetime(2026, 11, 23, 14, 20, tzinfo=UTC)) == "2026-11-23T14:20:00.000Z"
    assert ts(None) is None
