"""The face's error renderer, and the parsers behind `filter` and `page_token` (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from issuegraph.api.errors import MethodNotAllowed
from issuegraph.api.sourcecraft import errors
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.filters import parse_issue_filter
from issuegraph.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, RuleViolation
from tests.api.sourcecraft.conftest import assert_error
from tests.conftest import ADMIN_TOKEN


def _request(path: str = "/x") -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "headers": [], "state": {"request_id": "rid-1"}}
    )


def _body(error: DomainError) -> tuple[int, dict[str, Any], Any]:
    response = errors.render(_request(), error)
    return response.status_code, orjson.loads(bytes(response.body)), response.headers


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Invalid("x", "m"), 400, "ValidationError"),
        (RuleViolation("blocking_cycle", "m"), 400, "ValidationError"),
        (Forbidden("x", "m"), 403, "PermissionDenied"),
        (NotFound("x", "m"), 404, "NotFound"),
        (MethodNotAllowed("method_not_allowed", "m"), 405, "MethodNotAllowed"),
        (Conflict("link_exists", "m"), 409, "AlreadyExists"),
        (Conflict("close_denied", "m"), 409, "FailedPrecondition"),
        (Invalid("path_taken", "m"), 409, "AlreadyExists"),
        (DomainError("internal", "m"), 500, "Internal"),
    ],
)
def test_status_and_code_mapping(error: DomainError, status: int, code: str) -> None:
    """Each domain kind renders with the §6.2 status and `error_code`."""
    got_status, body, _ = _body(error)
    assert (got_status, body["error_code"], body["request_id"]) == (status, code, "rid-1")


def test_details_are_strings_with_the_reason() -> None:
    """Details carry the domain code as `reason`; non-string values become JSON text; iid is a slug."""
    error = RuleViolation(
        "blocking_cycle",
        "would create a blocking cycle",
        details={"path": "#1 -> #2 -> #1", "iid": "2", "n": 3},
    )
    _, body, _ = _body(error)
    assert body["details"] == {
        "reason": "blocking_cycle",
        "path": "#1 -> #2 -> #1",
        "issue_slug": "2",
        "n": "3",
    }
    _, body, _ = _body(Conflict("close_denied", "m", details={"open": [{"issue_id": 5}]}))
    assert body["details"]["open"] == '[{"issue_id":5}]'


def test_internal_error_keeps_the_request_id_header() -> None:
    """A 500 (rendered outside the id middleware) still carries X-Request-Id = request_id."""
    status, body, headers = _body(DomainError("internal", "boom"))
    assert status == 500 and headers["x-request-id"] == body["request_id"] == "rid-1"
    assert body["message"] == "internal server error"


def test_unexpected_exception_is_500_internal(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug inside a route answers 500 Internal in the SourceCraft envelope, with its request id."""

    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(ser, "status", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/issue_statuses", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    body = assert_error(response, 500, "Internal")
    assert "boom" not in response.text and body["details"] == {"reason": "internal"}


# ---------------------------------------------------------------- filter parser


def test_filter_parses_into_issue_filters() -> None:
    """Conditions joined by `and` (any case) set the matching IssueFilters fields."""
    f = parse_issue_filter(
        'status!=closed AND priority=critical and title="a \\"quoted\\" and" and author_slug=alice '
        "and assignee_id=7 and label_slug=bug and label_slug=ui and milestone_slug=v1 and blocked=TRUE "
        'and created_at>="2024-01-01T00:00:00Z" and updated_at<2025-01-01T00:00:00+02:00 '
        "and visibility=public"
    )
    assert f.statuses == ["open", "inProgress", "paused", "declined", "duplicate"]
    assert (f.priority, f.title_prefix, f.author_username) == (["critical"], 'a "quoted" and', "alice")
    assert (f.assignee_id, f.labels, f.milestone_title, f.blocked, f.confidential) == (
        7,
        ["bug", "ui"],
        "v1",
        True,
        False,
    )
    assert f.comparisons == [
        ("created_at", ">=", datetime(2024, 1, 1, tzinfo=UTC)),
        ("updated_at", "<", datetime(2024, 12, 31, 22, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "status=open or priority=minor",
        "status",
        "=open",
        "status==open",
        "status=open and and x=1",
        'title="x',
    ],
)
def test_filter_syntax_errors(text: str) -> None:
    """Malformed filters are Invalid on the `filter` field."""
    with pytest.raises(Invalid) as refused:
        parse_issue_filter(text)
    assert refused.value.details == {"field": "filter"}
