"""Request transport of the SourceCraft face: JSON bodies, `silent`, ids and slugs in paths."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from issuegraph.domain.errors import Invalid, NotFound
from issuegraph.domain.ids import parse_id

Body = TypeVar("Body", bound=BaseModel)

MAX_ID = 2**63 - 1  # BIGINT keys
MAX_SLUG = 2**31 - 1  # per-repository numbers are INTEGER
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


async def raw_body(request: Request) -> bytes:
    return await request.body()


def parse_body(raw: bytes, model: type[Body]) -> Body:
    """A JSON object validated against `model`; an empty body is an empty object (proto3)."""
    try:
        return model.model_validate_json(raw.strip() or b"{}", strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        kind, loc = first.get("type", ""), first.get("loc", ())
        if kind.startswith("json") or kind == "model_type" or not loc:
            raise Invalid(
                "invalid_body", "the request body must be a JSON object", details={"field": "body"}
            ) from exc
        field = str(loc[0])  # the body field; union branches and list indexes follow it
        raise Invalid("invalid_field", f"{field}: {first['msg']}", details={"field": field}) from exc


def silent_param(request: Request) -> bool:
    """`silent` on mutating routes: true/false or 1/0, any letter case (spec §7.5)."""
    values = request.query_params.getlist("silent")
    if not values:
        return False
    text = values[-1].strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid("invalid_silent", "silent must be true, false, 1 or 0", details={"field": "silent"})


def canonical_number(value: str | None, limit: int = MAX_ID) -> int | None:
    """The number a canonical decimal string names ("7", never "07" or "+7"), else None."""
    if value is None or value.startswith("0"):
        return None
    return parse_id(value, limit=limit)


def id_of(value: str | None, what: str) -> int:
    """An `id:` path value or an id field; anything that cannot be an id names nothing (404)."""
    number = canonical_number(value)
    if number is None:
        raise NotFound(f"{what}_not_found", f"{what.replace('_', ' ')} not found")
    return number


def slug_of_issue(value: str) -> int:
    number = canonical_number(value, MAX_SLUG)
    if number is None:
        raise NotFound("issue_not_found", "issue not found")
    return number


def present(value: str | None) -> str | None:
    """proto3: an empty string is an absent field."""
    return value if value else None
