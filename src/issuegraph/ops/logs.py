"""Structured logs: one JSON object per line when stdout is not a terminal, text otherwise.

Every request writes one `issuegraph.access` record with its request id (the response's
X-Request-Id), method, route template, path, status, duration and user id. No record carries a
header, a query string or a request body, and every message passes through `redact`, so a token
or a password that reached a message (an exception's text, say) is masked anyway.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Fields a record may carry (logging's `extra`), written as they are.
FIELDS = ("request_id", "method", "route", "path", "status", "duration_ms", "user_id", "error_code")

_SECRETS = re.compile(
    r"(?P<key>private[-_]token|access[-_]token|authorization|password|passwd|secret|token)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)(?P<value>[^\s\"'&,;}]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>bearer)(?P<sep>\s+)(?P<value>[^\s\"'&,;}]+)", re.IGNORECASE)


_NAMES = ("token", "authorization", "password", "passwd", "secret", "bearer")


def redact(text: str) -> str:
    """Mask the value after anything that names a token or a password."""
    lowered = text.lower()
    if not any(name in lowered for name in _NAMES):  # most lines: no regex work at all
        return text
    text = _SECRETS.sub(lambda m: f"{m['key']}{m['sep']}[REDACTED]", text)
    return _BEARER.sub(lambda m: f"{m['key']}{m['sep']}[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None) is not None)
        return redact(f"{line} {fields}" if fields else line)


def wants_json(setting: str) -> bool:
    """`json`, `text`, or `auto`: JSON unless stdout is a terminal."""
    if setting == "auto":
        return not sys.stdout.isatty()
    return setting == "json"


def log_config(level: str, json_output: bool) -> dict[str, Any]:
    """A logging.dictConfig for uvicorn's loggers and ours, all on stdout."""
    formatter = "issuegraph.ops.logs.JsonFormatter" if json_output else "issuegraph.ops.logs.TextFormatter"
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stdout"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": formatter}},
        "handlers": {"default": handler},
        "loggers": {
            "": {"handlers": ["default"], "level": level},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            "alembic.runtime.plugins": {"handlers": [], "level": "WARNING", "propagate": True},
            "issuegraph": {"handlers": [], "level": level, "propagate": True},
        },
    }
