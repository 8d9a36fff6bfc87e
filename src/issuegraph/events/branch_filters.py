"""GitLab's checks of a hook's `push_events_branch_filter`, by `branch_filter_strategy`.

issuegraph sends no push events (it has no repositories), so a filter never applies; it is
still checked as GitLab checks it when a hook is saved, so that a hook accepted here would be
accepted by GitLab too (and the other way round):

* `wildcard` (the default): whitespace squished (trimmed, runs made one space); empty is
  fine; otherwise, with each `*` read as a letter, a valid git branch name (the rules of
  `git check-ref-format`, as GitLab's GitRefValidator applies them), at most 4,000 characters.
* `regex`: valid RE2 syntax (GitLab compiles it with RE2, `Gitlab::UntrustedRegexp`): no
  look-arounds or back-references, which Python's `re` would accept.
* `all_branches`: the filter is dropped (GitLab sets it to nil).
"""

from __future__ import annotations

import re

import re2

from issuegraph.domain.errors import RuleViolation

MAX_WILDCARD = 4000
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f ~^:?*\[\\]")
_SPACES = re.compile(r"\s+")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the client's error, not the server's log


def valid_branch_name(name: str) -> bool:
    """Whether `name` may be a branch: git's ref-name rules for `refs/heads/<name>`."""
    if not name or name == "HEAD" or name.startswith(("refs/heads/", "refs/remotes/", "-")):
        return False
    if name.endswith(("/", ".")) or _FORBIDDEN.search(name):
        return False
    if ".." in name or "//" in name or "@{" in name:
        return False
    return not any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))


def valid_regex(pattern: str) -> bool:
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        return False
    return True


def checked(strategy: str, value: str | None) -> str | None:
    """The filter to store for `strategy`, or RuleViolation 422 `Invalid branch filter given`."""
    if strategy == "all_branches" or value is None:
        return None
    if strategy == "regex":
        if not valid_regex(value):
            raise _invalid()
        return value
    value = _SPACES.sub(" ", value).strip()
    if value and (len(value) > MAX_WILDCARD or not valid_branch_name(value.replace("*", "x"))):
        raise _invalid()
    return value


def _invalid() -> RuleViolation:
    return RuleViolation("invalid_branch_filter", "Invalid branch filter given")
