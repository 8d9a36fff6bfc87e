"""What a source hands the importer: face-neutral records, one per source object.

Sources (gitlab.py, sourcecraft.py) translate their API's JSON into these and nothing else;
fields a source does not have stay None, and the writer leaves them out.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any

from issuegraph.domain.links import LinkType


@dataclass(frozen=True, slots=True)
class SourceUser:
    username: str
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SourceGroup:
    source_id: str
    full_path: str
    path: str
    name: str
    visibility: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SourceProject:
    source_id: str
    namespace_full_path: str
    path: str
    name: str
    visibility: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    handle: Any = None  # whatever the source needs to reach the project again

    @property
    def full_path(self) -> str:
        return f"{self.namespace_full_path}/{self.path}"


@dataclass(frozen=True, slots=True)
class SourceMember:
    user: SourceUser
    access_level: int


@dataclass(frozen=True, slots=True)
class SourceLabel:
    name: str
    color: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SourceMilestone:
    title: str
    description: str | None = None
    state: str = "active"
    start_date: datetime | None = None
    due_date: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceIssue:
    source_id: str
    iid: int
    title: str
    description: str
    state: str  # opened / closed
    author: SourceUser
    created_at: datetime
    updated_at: datetime
    status: str | None = None
    priority: str | None = None
    confidential: bool = False
    discussion_locked: bool = False
    weight: int | None = None
    deadline: datetime | None = None
    updated_by: SourceUser | None = None
    closed_by: SourceUser | None = None
    closed_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    assignees: tuple[SourceUser, ...] = ()
    labels: tuple[SourceLabel, ...] = ()
    milestone: SourceMilestone | None = None
    notes_count: int | None = None  # None: unknown, fetch the notes

    def fingerprint(self) -> str:
        return digest(astuple(self))


@dataclass(frozen=True, slots=True)
class SourceNote:
    source_id: str
    author: SourceUser
    body: str
    created_at: datetime
    updated_at: datetime

    def fingerprint(self) -> str:
        return digest(astuple(self))


@dataclass(frozen=True, slots=True)
class SourceLink:
    """A link as read from one of its issues (`issue_id`, the path issue): `link_type` from its side."""

    source_id: str
    issue_id: str
    issue_ref: str
    other_id: str
    other_ref: str  # group/project#iid, for the summary
    link_type: LinkType
    created_at: datetime | None = None
    author: SourceUser | None = None
    other_project: Any = None  # what the source needs to find the other issue's project


@dataclass(slots=True)
class IssueBatch:
    """One page of a project's issues, with the notes and links fetched for them."""

    issues: list[SourceIssue]
    notes: dict[str, list[SourceNote]] = field(default_factory=dict)
    links: dict[str, list[SourceLink]] = field(default_factory=dict)


def digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()
