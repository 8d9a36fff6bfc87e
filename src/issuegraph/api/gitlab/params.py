"""GitLab parameter transport: query string, form body or JSON body, all accepted."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import Request

from issuegraph.domain.errors import Invalid
from issuegraph.domain.ids import parse_id, parse_signed
from issuegraph.domain.limits import MAX_LIST_ITEMS


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    ctype = request.headers.get("content-type", "")
    body = await request.body()
    if body and "application/json" in ctype:
        try:
            data = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
        except ValueError as exc:
            raise Invalid("invalid_json", "The request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise Invalid("invalid_json", "The request body must be a JSON object")
        params.update(data)
    elif body and "application/x-www-form-urlencoded" in ctype:
        # Parsed with the standard library: Starlette's request.form() needs python-multipart.
        form_values: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as exc:
            raise Invalid("invalid_body", "the form body is not valid UTF-8") from exc
        for key, value in pairs:
            form_values.setdefault(key, []).append(value)
        for key, items in form_values.items():
            params[key] = items if key.endswith("[]") or len(items) > 1 else items[0]
    elif body and "multipart/form-data" in ctype:
        try:
            form = await request.form()
        except AssertionError as exc:  # python-multipart is not installed
            raise Invalid("unsupported_body", "multipart bodies are not supported") from exc
        for key in form:
            parts = form.getlist(key)
            params[key] = parts if key.endswith("[]") or len(parts) > 1 else parts[0]
    _refuse_nul(params)
    _refuse_long_lists(params)
    return params


def _refuse_long_lists(params: dict[str, Any]) -> None:
    """A list parameter costs a query argument (or a row) per item: bounded, 400 above it."""
    for key, value in params.items():
        if isinstance(value, list | dict) and len(value) > MAX_LIST_ITEMS:
            raise Invalid("invalid_parameter", f"{key} has more than {MAX_LIST_ITEMS} items")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")  # Python's parser accepts NaN and Infinity


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return number


def _refuse_nul(params: dict[str, Any]) -> None:
    """A NUL character is never valid text (PostgreSQL cannot store it): 400, not 500."""
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values) or "\x00" in key:
            raise Invalid("invalid_parameter", f"{key.replace(chr(0), '')} is invalid")


def require(params: dict[str, Any], *names: str) -> None:
    missing = [f"{n} is missing" for n in names if params.get(n) in (None, "")]
    if missing:
        raise Invalid("missing_parameter", ", ".join(missing))


def bigint(value: Any, name: str) -> int:
    """`value` as an integer a BIGINT column holds, or a 400 naming the parameter (never a 500
    from the database for an id it cannot store)."""
    number = parse_signed(value if isinstance(value, int) else str(value))
    if number is None:
        raise Invalid("invalid_parameter", f"{name} is invalid")
    return number


def int_param(params: dict[str, Any], name: str, *, default: int | None = None) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    return bigint(value, name)


def bool_param(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1", "yes", "t"):
        return True
    if text in ("false", "0", "no", "f"):
        return False
    raise Invalid("invalid_parameter", f"{name} is invalid")


def str_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise Invalid("invalid_parameter", f"{name} is invalid")
    return str(value)


def list_param(params: dict[str, Any], name: str) -> list[str] | None:
    value = params.get(name, params.get(f"{name}[]"))
    if value is None:
        return None
    items = [str(v) for v in value] if isinstance(value, list) else str(value).split(",")
    if len(items) > MAX_LIST_ITEMS:
        raise Invalid("invalid_parameter", f"{name} has more than {MAX_LIST_ITEMS} items")
    return items


def iid_path(value: str, name: str = "issue_iid") -> int:
    number = parse_id(value)
    if number is None:
        raise Invalid("invalid_parameter", f"{name} is invalid")
    return number


def project_ref(value: str) -> str:
    return unquote(value)
