"""GitLab offset and keyset pagination, with its headers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from issuegraph.api.gitlab.params import int_param
from issuegraph.db.sql import MAX_BIGINT
from issuegraph.domain.errors import Invalid

MAX_PER_PAGE = 100


@dataclass
class Page:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_of(params: dict[str, Any]) -> Page:
    page = int_param(params, "page", default=1) or 1
    per_page = int_param(params, "per_page", default=20) or 20
    result = Page(page=max(page, 1), per_page=min(max(per_page, 1), MAX_PER_PAGE))
    if result.offset > MAX_BIGINT:
        raise Invalid("invalid_parameter", "page is invalid")
    return result


def _url_with(request: Request, **changes: Any) -> str:
    query = dict(request.query_params)
    query.pop("private_token", None)  # never echo a secret into a header
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return str(request.url.replace_query_params(**query))


def offset_headers(request: Request, page: Page, total: int) -> dict[str, str]:
    total_pages = max((total + page.per_page - 1) // page.per_page, 1)
    has_prev = 1 < page.page <= total_pages  # Kaminari: no previous page when out of range
    headers = {
        "X-Page": str(page.page),
        "X-Per-Page": str(page.per_page),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
        "X-Next-Page": str(page.page + 1) if page.page < total_pages else "",
        "X-Prev-Page": str(page.page - 1) if has_prev else "",
    }
    links = []
    if has_prev:
        links.append(f'<{_url_with(request, page=page.page - 1, per_page=page.per_page)}>; rel="prev"')
    if page.page < total_pages:
        links.append(f'<{_url_with(request, page=page.page + 1, per_page=page.per_page)}>; rel="next"')
    links.append(f'<{_url_with(request, page=1, per_page=page.per_page)}>; rel="first"')
    links.append(f'<{_url_with(request, page=total_pages, per_page=page.per_page)}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return headers


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "cursor is invalid") from exc
    if not isinstance(data, dict):
        raise Invalid("invalid_cursor", "cursor is invalid")
    return data


def keyset_headers(request: Request, per_page: int, next_cursor: str | None) -> dict[str, str]:
    headers = {"X-Per-Page": str(per_page)}
    if next_cursor:
        headers["Link"] = f'<{_url_with(request, cursor=next_cursor, page=None)}>; rel="next"'
    return headers
