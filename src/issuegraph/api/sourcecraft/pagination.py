"""Keyset pagination and sorting of the SourceCraft face (spec §8).

A page token is URL-safe base64 of `{"v": [sort values of the last item], "f": fingerprint}`.
The fingerprint covers the path, the sort order and the filter, so a token used with other
parameters is refused rather than silently giving a different list.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cmp_to_key
from typing import Any, Literal, TypeVar

import orjson
from fastapi import Request
from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from issuegraph.domain.errors import Invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 2048

Kind = Literal["int", "str", "datetime"]
Row = TypeVar("Row")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class PageRequest:
    size: int
    sort: tuple[SortKey, ...]  # always ends with `id`, so the order is total
    after: tuple[Any, ...] | None  # sort values of the last item already returned
    fingerprint: str
    kinds: Mapping[str, Kind]

    def token_for(self, values: Sequence[Any]) -> str:
        encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        raw = orjson.dumps({"v": encoded, "f": self.fingerprint})
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(code: str, message: str, field: str) -> Invalid:
    return Invalid(code, message, details={"field": field})


def _page_size(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isascii() or not raw.isdigit() or len(raw) > 20:
        raise _invalid("invalid_page_size", "page_size must be a non-negative integer", "page_size")
    return min(int(raw), MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


def _sort(request: Request, kinds: Mapping[str, Kind], default: str) -> tuple[SortKey, ...]:
    raw = request.query_params.get("sort_by") or default
    keys: list[SortKey] = []
    for part in raw.split(","):
        item = part.strip()
        descending = item.startswith("-")
        name = item[1:].strip() if descending else item
        if name not in kinds or any(k.field == name for k in keys):
            allowed = ", ".join(kinds)
            raise _invalid(
                "invalid_sort_by", f"sort_by: unknown or repeated field {name!r} ({allowed})", "sort_by"
            )
        keys.append(SortKey(name, descending))
    if all(k.field != "id" for k in keys):
        keys.append(SortKey("id", keys[-1].descending))
    return tuple(keys)


def _fingerprint(request: Request, sort: tuple[SortKey, ...], extra: str) -> str:
    order = ",".join(("-" if k.descending else "") + k.field for k in sort)
    text = "\n".join((request.url.path, order, extra))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _decode(
    token: str, sort: tuple[SortKey, ...], kinds: Mapping[str, Kind], fingerprint: str
) -> tuple[Any, ...]:
    bad = _invalid("invalid_page_token", "page_token is invalid", "page_token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise bad
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise bad from exc
    if not isinstance(data, dict) or not isinstance(data.get("v"), list) or len(data["v"]) != len(sort):
        raise bad
    if data.get("f") != fingerprint:
        raise _invalid(
            "page_token_mismatch",
            "page_token was issued for other parameters; all parameters must match the first call",
            "page_token",
        )
    try:
        return tuple(_value(v, kinds[k.field]) for v, k in zip(data["v"], sort, strict=True))
    except (TypeError, ValueError) as exc:
        raise bad from exc


def _value(value: Any, kind: Kind) -> Any:
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str) and "\x00" not in value:
        return value
    if kind == "datetime" and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(kind)


def page_request(
    request: Request, kinds: Mapping[str, Kind], *, default_sort: str = "created_at", extra: str = ""
) -> PageRequest:
    """Parse `page_size`, `sort_by` and `page_token`; `extra` is whatever else the list depends on."""
    size = _page_size(request)
    sort = _sort(request, kinds, default_sort)
    fingerprint = _fingerprint(request, sort, extra)
    token = request.query_params.get("page_token")
    after = _decode(token, sort, kinds, fingerprint) if token else None
    return PageRequest(size=size, sort=sort, after=after, fingerprint=fingerprint, kinds=kinds)


# ---------------------------------------------------------------- in SQL


def keyset_query(query: Q, page: PageRequest, columns: Mapping[str, ColumnElement[Any]]) -> Q:
    """Order by the sort keys, start after the token's position, read one extra row."""
    if page.after is not None:
        branches = []
        for i, key in enumerate(page.sort):
            column, value = columns[key.field], page.after[i]
            equal_prefix = [columns[k.field] == page.after[j] for j, k in enumerate(page.sort[:i])]
            beyond = column < value if key.descending else column > value
            branches.append(and_(*equal_prefix, beyond))
        query = query.where(or_(*branches))
    ordering = [columns[k.field].desc() if k.descending else columns[k.field].asc() for k in page.sort]
    return query.order_by(*ordering).limit(page.size + 1)


def finish(
    rows: Sequence[Row], page: PageRequest, values: Callable[[Row], Sequence[Any]]
) -> tuple[list[Row], str | None]:
    """The page's items and the token of the next page, if one more item exists."""
    items = list(rows[: page.size])
    more = len(rows) > page.size
    return items, (page.token_for(values(items[-1])) if more and items else None)


# ---------------------------------------------------------------- in memory


def _compare(a: Sequence[Any], b: Sequence[Any], sort: tuple[SortKey, ...]) -> int:
    for x, y, key in zip(a, b, sort, strict=True):
        if x != y:
            less = x < y
            return (1 if less else -1) if key.descending else (-1 if less else 1)
    return 0


def keyset_list(
    items: Sequence[T], page: PageRequest, values: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """The same keyset paging over a short list already in memory (an issue's links)."""

    def by_position(a: tuple[Sequence[Any], T], b: tuple[Sequence[Any], T]) -> int:
        return _compare(a[0], b[0], page.sort)

    keyed = sorted(((values(item), item) for item in items), key=cmp_to_key(by_position))
    if page.after is not None:
        after = page.after
        keyed = [pair for pair in keyed if _compare(pair[0], after, page.sort) > 0]
    return finish([item for _, item in keyed[: page.size + 1]], page, values)
