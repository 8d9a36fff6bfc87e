"""One error hierarchy. Each face renders these in its own documented shape."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"  # request shape (400)
    RULE = "rule"  # a domain rule refused an otherwise well-formed request (GitLab 422)
    UNAVAILABLE = "unavailable"  # the database cannot serve now; retry later (503)


class DomainError(Exception):
    """A refusal the client can act on.

    ``code`` names the exact situation (faces map it to their own texts),
    ``message`` is a default human text, ``details`` string values for the client.
    """

    kind: ErrorKind = ErrorKind.INVALID

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class Unauthenticated(DomainError):
    kind = ErrorKind.UNAUTHENTICATED


class Forbidden(DomainError):
    kind = ErrorKind.FORBIDDEN


class NotFound(DomainError):
    kind = ErrorKind.NOT_FOUND


class Conflict(DomainError):
    kind = ErrorKind.CONFLICT


class Invalid(DomainError):
    kind = ErrorKind.INVALID


class RuleViolation(DomainError):
    kind = ErrorKind.RULE


class Unavailable(DomainError):
    kind = ErrorKind.UNAVAILABLE
