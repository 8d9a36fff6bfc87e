"""GitLab's checks of push_events_branch_filter, by strategy (events/branch_filters.py)."""

from __future__ import annotations

import pytest

from issuegraph.domain.errors import RuleViolation
from issuegraph.events import branch_filters


@pytest.mark.parametrize(
    ("strategy", "given", "stored"),
    [
        ("wildcard", None, None),
        ("wildcard", "", ""),
        ("wildcard", "main", "main"),
        ("wildcard", "  release/*  ", "release/*"),  # squished, as GitLab does
        ("wildcard", "*", "*"),
        ("wildcard", "feature/**-fix", "feature/**-fix"),
        ("regex", "^(main|release/.*)$", "^(main|release/.*)$"),
        ("regex", "", ""),
        ("regex", r"\pL+\z", r"\pL+\z"),  # RE2 syntax that Python's re refuses
        ("all_branches", "anything at all", None),  # dropped, as GitLab sets it to nil
    ],
)
def test_accepted(strategy: str, given: str | None, stored: str | None) -> None:
    """Valid filters are kept (wildcards squished; all_branches drops the filter)."""
    assert branch_filters.checked(strategy, given) == stored


@pytest.mark.parametrize(
    ("strategy", "given"),
    [
        ("wildcard", "bad branch name"),  # a space inside
        ("wildcard", "-main"),
        ("wildcard", "feature/"),
        ("wildcard", "main."),
        ("wildcard", "a..b"),
        ("wildcard", "a//b"),
        ("wildcard", "a@{1}"),
        ("wildcard", ".hidden/x"),
        ("wildcard", "x.lock"),
        ("wildcard", "what?"),
        ("wildcard", "a[b]"),
        ("wildcard", "a~1"),
        ("wildcard", "a^b"),
        ("wildcard", "a:b"),
        ("wildcard", "a\\b"),
        ("wildcard", "tab\there"),
        ("wildcard", "HEAD"),
        ("wildcard", "refs/heads/main"),
        ("wildcard", "x" * 4001),
        ("regex", "("),
        ("regex", "*"),
        ("regex", "a(?=b)"),  # look-ahead: Python's re takes it, RE2 does not
        ("regex", r"(a)\1"),  # back-reference: likewise
    ],
)
def test_refused(strategy: str, given: str) -> None:
    """Invalid filters: RuleViolation 'Invalid branch filter given' (a 422 on GitLab's face)."""
    with pytest.raises(RuleViolation, match="Invalid branch filter given"):
        branch_filters.checked(strategy, given)
