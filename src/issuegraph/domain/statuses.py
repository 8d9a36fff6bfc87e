"""SourceCraft's issue statuses and the GitLab state each maps to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    slug: str
    name: str
    status_type: str
    id: str

    @property
    def gitlab_state(self) -> str:
        return "closed" if self.status_type in ("completed", "cancelled") else "opened"

    @property
    def is_open(self) -> bool:
        return self.gitlab_state == "opened"


STATUSES = (
    Status("open", "Open", "initial", "1"),
    Status("inProgress", "In progress", "in_progress", "2"),
    Status("paused", "Paused", "paused", "3"),
    Status("closed", "Closed", "completed", "4"),
    Status("declined", "Declined", "cancelled", "5"),
    Status("duplicate", "Duplicate", "cancelled", "6"),
)
BY_SLUG = {s.slug: s for s in STATUSES}
OPEN_SLUGS = tuple(s.slug for s in STATUSES if s.is_open)
CLOSED_SLUGS = tuple(s.slug for s in STATUSES if not s.is_open)
PRIORITIES = ("trivial", "minor", "normal", "critical", "blocker")
