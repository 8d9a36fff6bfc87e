"""Log records: JSON lines with the request's fields; secrets masked in any message."""

from __future__ import annotations

import json
import logging

import pytest

from issuegraph.ops.logs import JsonFormatter, TextFormatter, redact, wants_json


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v4/projects?private_token=glpat-abcdef123456",
        "headers: {'PRIVATE-TOKEN': 'glpat-abcdef123456'}",
        "Authorization: Bearer glpat-abcdef123456",
        '{"password": "glpat-abcdef123456"}',
        "[parameters: {'token': 'glpat-abcdef123456'}]",
    ],
)
def test_secrets_are_masked(text):
    """Whatever the spelling, the value after a token or password name is masked."""
    masked = redact(text)
    assert "glpat-abcdef123456" not in masked
    assert "[REDACTED]" in masked


def test_text_without_secrets_is_kept():
    """A message naming no secret is left as it is."""
    assert redact("GET /api/v4/projects/1/issues 200") == "GET /api/v4/projects/1/issues 200"


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("issuegraph.access", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_carries_the_request_fields():
    """One JSON object: time, level, logger, message and the request's fields."""
    line = JsonFormatter().format(
        _record(
            "GET /x 200", request_id="r-1", method="GET", route="/x", status=200, duration_ms=1.5, user_id=7
        )
    )
    entry = json.loads(line)
    assert entry["request_id"] == "r-1" and entry["user_id"] == 7 and entry["status"] == 200
    assert entry["level"] == "info" and entry["logger"] == "issuegraph.access"


def test_both_formats_mask_secrets():
    """JSON and text output mask a token that reached a message."""
    record = _record("failed: private_token=glpat-abcdef123456")
    assert "glpat-abcdef123456" not in JsonFormatter().format(record)
    assert "glpat-abcdef123456" not in TextFormatter().format(record)


def test_format_choice():
    """json and text are forced; auto follows whether stdout is a terminal (not under pytest)."""
    assert wants_json("json") and not wants_json("text")
    assert wants_json("auto")  # pytest captures stdout: not a terminal
