"""The one parser of numeric ids, iids and numeric references, for every face.

Only ASCII decimal digits make a number: `str.isdigit()` also accepts `²`, `①` and other
scripts' digits, and `int()` reads U+0661 (Arabic-Indic one) as 1, `+7`, ` 7 ` and `1_000` too,
so `%D9%A1` named project 1. A value outside the column's range names nothing.
"""

from __future__ import annotations

MAX_BIGINT = 2**63 - 1  # the largest id a BIGINT key (or an OFFSET) holds
MAX_INT = 2**31 - 1  # the largest value of an INTEGER column (iids) on PostgreSQL


def is_numeric(value: str) -> bool:
    """True when `value` is ASCII digits only (so it is an id, not a path)."""
    return value.isascii() and value.isdigit()


def parse_id(value: object, *, limit: int = MAX_BIGINT) -> int | None:
    """A non-negative integer up to `limit` written in ASCII digits (or given as a JSON integer),
    else None. Booleans are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= limit else None
    if not isinstance(value, str) or not is_numeric(value) or len(value) > len(str(limit)):
        return None
    number = int(value)
    return number if number <= limit else None


def parse_signed(value: object, *, limit: int = MAX_BIGINT) -> int | None:
    """As parse_id, with an optional leading '-' (weights, filters that take -1)."""
    if isinstance(value, str) and value.startswith("-"):
        number = parse_id(value[1:], limit=limit)
        return None if number is None else -number
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return value if value >= -limit else None
    return parse_id(value, limit=limit)


def digits_only(value: object) -> object:
    """A pydantic BeforeValidator: a string must be ASCII digits (then it is parsed here);
    anything else goes on to the field's own validation."""
    if isinstance(value, str):
        if not is_numeric(value) or len(value) > len(str(MAX_BIGINT)):
            raise ValueError("must be a decimal number")
        return int(value)
    return value
