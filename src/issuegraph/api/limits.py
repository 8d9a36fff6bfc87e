"""Limits on what a request may carry, enforced before any face sees it.

- The body is read here, at most `max_body_bytes` of it (ISSUEGRAPH_MAX_BODY_BYTES): a larger
  `Content-Length` is refused before anything is read, and a chunked body is refused as soon as
  the bytes read pass the limit (413), so a client cannot make the server hold a 50 MB body.
- A JSON body may nest at most MAX_JSON_DEPTH arrays/objects (Python's parser would otherwise
  recurse until RecursionError).
- NUL characters (in the path, the query string or JSON text) and lone UTF-16 surrogates (in
  JSON text) are never valid text: PostgreSQL cannot store NUL, and no encoder can write a lone
  surrogate. 400 here, in the face's own error shape, for every face and route.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from issuegraph.api import errors
from issuegraph.domain.errors import DomainError, ErrorKind, Invalid, TooLarge

MAX_JSON_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in `body` nest deeper than `limit` (strings are skipped)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few openings to nest that deep: the usual case costs two counts
    structure = _STRINGS.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    depth = 0
    for byte in structure:
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def bad_text(value: Any) -> bool:
    """True when a JSON value holds a NUL or a lone surrogate in any string or key."""
    if isinstance(value, str):
        return "\x00" in value or not _encodable(value)
    if isinstance(value, list):
        return any(bad_text(v) for v in value)
    if isinstance(value, dict):
        return any(bad_text(k) or bad_text(v) for k, v in value.items())
    return False


def _bad_field(data: Any) -> str:
    """The top-level field holding the bad text (the key itself when the key is bad), else body."""
    if isinstance(data, dict):
        for key, value in data.items():
            if bad_text(value):
                return key if not bad_text(key) else "body"
            if bad_text(key):
                return "body"
    return "body"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_json(body: bytes) -> None:
    if json_depth_exceeds(body):
        raise Invalid(
            "json_too_deep",
            f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
            details={"field": "body"},
        )
    if _SUSPECT_ESCAPE.search(body) is None:
        return  # no escape that can make a NUL or a surrogate (raw NUL bytes are not valid JSON)
    try:
        data = json.loads(body)
    except ValueError:
        return  # the face reports invalid JSON in its own words
    if bad_text(data):
        field = _bad_field(data)
        raise Invalid(
            "invalid_text",
            f"{field} is invalid",  # GitLab's words; a NUL or a lone surrogate is never valid text
            details={"field": field},
        )


def _check_target(scope: dict[str, Any]) -> None:
    if "\x00" in scope.get("path", ""):
        raise Invalid("invalid_text", "the request path contains a NUL character", details={"field": "path"})
    query = scope.get("query_string", b"")
    if b"%00" in query.lower() or b"\x00" in query:
        for pair in query.split(b"&"):
            name, _, value = pair.partition(b"=")
            if b"\x00" in unquote_to_bytes(value.replace(b"+", b" ")) or b"\x00" in unquote_to_bytes(name):
                field = unquote_to_bytes(name).replace(b"\x00", b"").decode("utf-8", "replace")
                raise Invalid("invalid_text", f"{field} is invalid", details={"field": field})


class RequestLimitsMiddleware:
    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_target(scope)
            if scope["method"] in _BODY_METHODS:
                body = await self._read_body(scope, receive)
                if body and b"json" in _header(scope, b"content-type"):
                    _check_json(body)
                receive = _replay(body, receive)
        except DomainError as error:
            response = errors.render(Request(scope), error)
            if error.kind == ErrorKind.TOO_LARGE:
                response.headers["Connection"] = "close"  # the rest of the body is not read
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _read_body(self, scope: dict[str, Any], receive: Any) -> bytes:
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> TooLarge:
        return TooLarge(
            "body_too_large",
            f"the request body is larger than {self.max_body_bytes} bytes",
            details={"limit": str(self.max_body_bytes)},
        )


def _header(scope: dict[str, Any], name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).lower()
    return b""


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()  # http.disconnect, when the client goes
        return message

    return replay
