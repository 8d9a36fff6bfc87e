"""SourceCraft representations (swagger-issues.json): ids as decimal strings, RFC 3339 UTC times,
`{id, slug}` references, optional fields omitted when they have no value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from issuegraph.db.models import IssueLink, Label, Milestone, Namespace, Note, Project, User
from issuegraph.domain.links import LinkType
from issuegraph.domain.statuses import BY_SLUG, Status
from issuegraph.issues.repository import IssueView


def ts(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, microseconds only when there are any: orjson's own format."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields without a value (`None`, empty strings); arrays always stay."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def ref(id_: int, slug: str) -> dict[str, str]:
    return {"id": str(id_), "slug": slug}


def user_ref(user: User | None) -> dict[str, str] | None:
    return ref(user.id, user.username) if user else None


def user(u: User) -> dict[str, Any]:
    return compact({"id": str(u.id), "slug": u.username, "name": u.name, "email": u.email})


def status(s: Status) -> dict[str, str]:
    return {"id": s.id, "slug": s.slug, "name": s.name, "status_type": s.status_type}


def organization_ref(ns: Namespace) -> dict[str, str]:
    return ref(ns.id, ns.full_path)


def repository_ref(project: Project, ns: Namespace) -> dict[str, Any]:
    return {**ref(project.id, project.path), "organization": organization_ref(ns)}


def repository(project: Project, ns: Namespace) -> dict[str, Any]:
    return compact(
        {
            "id": str(project.id),
            "name": project.name,
            "slug": project.path,
            "organization": organization_ref(ns),
            "template_type": "not_a_template",
            "is_empty": True,  # issuegraph hosts issues, not git data
            "description": project.description,
            "visibility": project.visibility,
            "last_updated": ts(project.updated_at),
            # issuegraph extensions: how closing an issue with open blockers or sub-issues goes
            "close_policy": project.close_policy,
            "close_duplicates": project.close_duplicates,
        }
    )


def label_embedded(label: Label) -> dict[str, str]:
    return {"id": str(label.id), "slug": label.name, "name": label.name, "color": label.color}


def label(label: Label) -> dict[str, Any]:
    return compact({**label_embedded(label), "created_at": ts(label.created_at)})


def milestone_ref(m: Milestone) -> dict[str, str]:
    return ref(m.id, m.title)


def milestone(m: Milestone, author: User | None) -> dict[str, Any]:
    return compact(
        {
            "id": str(m.id),
            "name": m.title,
            "slug": m.title,
            "description": m.description,
            "start_date": ts(m.start_date),
            "deadline": ts(m.due_date),
            "status": "closed" if m.state == "closed" else "open",
            "author": user_ref(author),
            "created_at": ts(m.created_at),
            "updated_at": ts(m.updated_at),
        }
    )


def issue_ref(issue: Any) -> dict[str, str]:
    return ref(issue.id, str(issue.iid))


def issue(v: IssueView) -> dict[str, Any]:
    i = v.issue
    return compact(
        {
            "id": str(i.id),
            "slug": str(i.iid),
            "title": i.title,
            "description": i.description,
            "status": status(BY_SLUG[i.status]),
            "author": user_ref(v.author),
            "updated_by": user_ref(v.updated_by),
            "created_at": ts(i.created_at),
            "updated_at": ts(i.updated_at),
            "assignee": user_ref(v.assignees[0]) if v.assignees else None,
            "labels": [label_embedded(x) for x in v.labels],
            "linked_prs": [],  # issuegraph has no pull requests
            "priority": i.priority,
            "visibility": "private" if i.confidential else "public",
            "milestone": milestone_ref(v.milestone) if v.milestone else None,
            "deadline": ts(i.deadline),
            "started_at": ts(i.started_at),
            "completed_at": ts(i.completed_at),
            "repository": repository_ref(v.project, v.namespace),
        }
    )


def link(
    row: IssueLink, path_issue: Any, other: Any, seen_as: LinkType, author: User | None
) -> dict[str, Any]:
    """A link seen from the issue in the path (spec §7.3): that issue is always `source`."""
    return compact(
        {
            "id": str(row.id),
            "source": issue_ref(path_issue),
            "target": issue_ref(other),
            "link_type": seen_as.value,
            "author": user_ref(author),
            "updated_by": user_ref(author),  # links are never edited, only created and deleted
            "created_at": ts(row.created_at),
            "updated_at": ts(row.updated_at),
        }
    )


def comment(note: Note, author: User | None) -> dict[str, Any]:
    return compact(
        {
            "id": str(note.id),
            "body": note.body,
            "author": user_ref(author),
            "created_at": ts(note.created_at),
            "updated_at": ts(note.updated_at),
            "attachments": [],
        }
    )


def envelope(key: str, items: list[dict[str, Any]], next_page_token: str | None = None) -> dict[str, Any]:
    """A list response: the array always, the token only when another page exists."""
    body: dict[str, Any] = {key: items}
    if next_page_token:
        body["next_page_token"] = next_page_token
    return body
