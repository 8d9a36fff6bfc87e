"""GitLab parameter transport: query string, form body or JSON body, all accepted."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import Request

from issuegraph.db.sql import MAX_BIGINT
from issuegraph.domain.errors import Invalid


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    ctype = request.headers.get("content-type", "")
    body = await request.body()
    if body and "application/json" in ctype:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise Invalid("invalid_json", "The request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise Invalid("invalid_json", "The request body must be a JSON object")
        params.update(data)
    elif body and "application/x-www-form-urlencoded" in ctype:
        # Parsed with the standard library: Starlette's request.form() needs python-multipart.
        form_values: dict[str, list[str]] = {}
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
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
    return params


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
    if isinstance(value, bool):
        raise Invalid("invalid_parameter", f"{name} is invalid")
    try:
        number = int(str(value))
    except ValueError as exc:
        raise Invalid("invalid_parameter", f"{name} is invalid") from exc
    if not -MAX_BIGINT <= number <= MAX_BIGINT:
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
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).split(",")


def iid_path(value: str, name: str = "issue_iid") -> int:
    if not value.isdigit() or len(value) > 18:
        raise Invalid("invalid_parameter", f"{name} is invalid")
    return int(value)


def project_ref(value: str) -> str:
    return unquote(value)
