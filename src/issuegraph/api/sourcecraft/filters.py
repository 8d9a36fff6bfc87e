"""The issue list `filter` language (spec §8), parsed into the domain's IssueFilters.

    filter    := condition ("and" condition)*
    condition := field operator value
    operator  := "=" | "!=" | ">" | ">=" | "<" | "<="   (order operators on timestamps only)
    value     := "double-quoted text" | bare-word

Example: `status=open and priority=critical and created_at>"2024-01-01T00:00:00Z"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from issuegraph.api.sourcecraft.params import canonical_number
from issuegraph.domain.errors import Invalid
from issuegraph.domain.statuses import BY_SLUG, PRIORITIES
from issuegraph.issues.service import IssueFilters

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<and>and\b)
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s"=!<>]+)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_ORDER_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
_REPEATABLE = frozenset({"label_slug", "created_at", "updated_at"})


def _bad(message: str) -> Invalid:
    return Invalid("invalid_filter", f"filter: {message}", details={"field": "filter"})


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _bad(f"cannot read {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "quoted":
            kind, value = "value", re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word":
            kind = "value"
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def _conditions(text: str) -> list[tuple[str, str, str]]:
    tokens = _tokens(text)
    conditions = []
    for start in range(0, len(tokens), 4):
        chunk = tokens[start : start + 4]
        if len(chunk) < 3 or [k for k, _ in chunk[:3]] != ["value", "op", "value"]:
            raise _bad("expected `field operator value` conditions joined by `and`")
        if len(chunk) == 4 and chunk[3][0] != "and":
            raise _bad("conditions must be joined by `and`")
        if len(chunk) == 4 and start + 4 == len(tokens):
            raise _bad("a condition must follow `and`")
        conditions.append((chunk[0][1], chunk[1][1], chunk[2][1]))
    return conditions


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"{value!r} is not an RFC 3339 timestamp") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise _bad(f"{field} must be one of {', '.join(allowed)}")
    return value


def _number(value: str, field: str) -> int:
    number = canonical_number(value)
    if number is None:
        raise _bad(f"{field} must be an id")
    return number


def _choice(value: str, op: str, allowed: tuple[str, ...], field: str) -> list[str]:
    chosen = _one_of(value, allowed, field)
    return [chosen] if op == "=" else [x for x in allowed if x != chosen]


def _boolean(value: str, field: str) -> bool:
    return _one_of(value.lower(), ("true", "false"), field) == "true"


_STATUSES = tuple(BY_SLUG)
Apply = Callable[[IssueFilters, str, str], None]


def _apply_label(f: IssueFilters, op: str, value: str) -> None:
    f.labels = [*(f.labels or []), value]


def _apply_time(column: str) -> Apply:
    def apply(f: IssueFilters, op: str, value: str) -> None:
        f.comparisons.append((column, op, _timestamp(value)))

    return apply


# field -> (operators, how it narrows IssueFilters)
_FIELDS: dict[str, tuple[frozenset[str], Apply]] = {
    "status": (
        frozenset({"=", "!="}),
        lambda f, op, v: setattr(f, "statuses", _choice(v, op, _STATUSES, "status")),
    ),
    "priority": (
        frozenset({"=", "!="}),
        lambda f, op, v: setattr(f, "priority", _choice(v, op, PRIORITIES, "priority")),
    ),
    "visibility": (
        frozenset({"="}),
        lambda f, op, v: setattr(
            f, "confidential", _one_of(v, ("public", "private"), "visibility") == "private"
        ),
    ),
    "title": (frozenset({"="}), lambda f, op, v: setattr(f, "title_prefix", v)),
    "author_slug": (frozenset({"="}), lambda f, op, v: setattr(f, "author_username", v)),
    "author_id": (frozenset({"="}), lambda f, op, v: setattr(f, "author_id", _number(v, "author_id"))),
    "assignee_slug": (frozenset({"="}), lambda f, op, v: setattr(f, "assignee_username", v)),
    "assignee_id": (frozenset({"="}), lambda f, op, v: setattr(f, "assignee_id", _number(v, "assignee_id"))),
    "milestone_slug": (frozenset({"="}), lambda f, op, v: setattr(f, "milestone_title", v)),
    "milestone_id": (
        frozenset({"="}),
        lambda f, op, v: setattr(f, "milestone_id", _number(v, "milestone_id")),
    ),
    "label_slug": (frozenset({"="}), _apply_label),
    "created_at": (_ORDER_OPS, _apply_time("created_at")),
    "updated_at": (_ORDER_OPS, _apply_time("updated_at")),
    # issuegraph extension: issues with (true) or without (false) an open blocker
    "blocked": (frozenset({"="}), lambda f, op, v: setattr(f, "blocked", _boolean(v, "blocked"))),
}


def parse_issue_filter(text: str | None) -> IssueFilters:
    filters = IssueFilters()
    if not text or not text.strip():
        return filters
    if "\x00" in text:
        raise _bad("NUL characters are not allowed")
    seen: set[str] = set()
    for field, op, value in _conditions(text):
        if field not in _FIELDS:
            raise _bad(f"unknown field {field!r} (known: {', '.join(_FIELDS)})")
        operators, apply = _FIELDS[field]
        if op not in operators:
            raise _bad(f"{field} does not support {op!r}")
        if field in seen and field not in _REPEATABLE:
            raise _bad(f"{field} is given twice")
        seen.add(field)
        apply(filters, op, value)
    return filters
