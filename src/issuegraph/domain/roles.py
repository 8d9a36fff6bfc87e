"""GitLab access levels and what each permits."""

from __future__ import annotations

from enum import IntEnum


class AccessLevel(IntEnum):
    NONE = 0
    GUEST = 10
    PLANNER = 15
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50


VALID_ACCESS_LEVELS = frozenset(int(level) for level in AccessLevel if level != AccessLevel.NONE)


class Visibility:
    PRIVATE = "private"
    INTERNAL = "internal"
    PUBLIC = "public"
    ALL = ("private", "internal", "public")
    LEVEL = {"private": 0, "internal": 10, "public": 20}
