"""Keyset pagination and sorting of the SourceCraft face (spec §8): parameters and tokens only.

The face parses `page_size`, `sort_by` and `page_token` into a `PageRequest`; `.keyset(names)`
gives the services the face-neutral request (issuegraph.db.pagination) and `.token(page)` turns
the page they return into the next `page_token`.

A page token is URL-safe base64 of `{"v": [sort values of the last item], "f": fingerprint}`.
The fingerprint covers the path, the sort order and the filter, so a token used with other
parameters is refused rather than silently giving a different list.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi import Request

from issuegraph.db.pagination import KeysetPage, Page, SortKey
from issuegraph.domain.errors import Invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 2048

Kind = Literal["int", "str", "datetime"]


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

    def keyset(self, names: Mapping[str, str] | None = None) -> KeysetPage:
        """The services' page request, this face's sort fields renamed by `names` (slug -> iid)."""
        rename = names or {}
        sort = tuple(SortKey(rename.get(k.field, k.field), k.descending) for k in self.sort)
        return KeysetPage(self.size, sort, self.after)

    def token(self, page: Page[Any]) -> str | None:
        """The `next_page_token` of a page the services returned."""
        return self.token_for(page.next_after) if page.next_after is not None else None


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
