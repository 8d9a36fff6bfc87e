"""Text longer than its column is a 400 naming the field, never the database's error (a 500).

PostgreSQL refuses a value longer than a VARCHAR(n) column (SQLite stores it anyway), so the
limit is checked for every row the ORM writes, whichever face or service set it. Server-made
rows written with Core statements (system notes, events, links) carry no client text of
bounded columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from issuegraph.domain.errors import Invalid

_LIMITS: dict[type, list[tuple[str, int]]] = {}


def _limits(cls: type) -> list[tuple[str, int]]:
    cached = _LIMITS.get(cls)
    if cached is not None:
        return cached
    found: list[tuple[str, int]] = []
    mapper: Any = inspect(cls)
    for attr in mapper.column_attrs:
        for column in attr.columns:
            length = getattr(column.type, "length", None)
            if isinstance(column.type, String) and length:
                found.append((attr.key, length))
    _LIMITS[cls] = found
    return found


@event.listens_for(Session, "before_flush")
def _check_lengths(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        for key, length in _limits(type(obj)):
            value = obj.__dict__.get(key)
            if isinstance(value, str) and len(value) > length:
                raise Invalid(
                    f"{key}_too_long",
                    f"{key} is too long (maximum is {length} characters)",
                    details={"field": key},
                )
