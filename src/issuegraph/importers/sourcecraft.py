"""SourceCraft as a source, through its REST API (httpx).

Every request: a Bearer token, 429/502/503/504 asked again after `Retry-After` (or a growing
pause), a dropped connection asked again, then a FetchError. Lists follow `next_page_token`.
Repositories, issues, comments and links are reached by their `id:` forms, which work for
repositories in subgroups too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from issuegraph.domain.links import LinkType
from issuegraph.domain.statuses import BY_SLUG
from issuegraph.importers.fetching import FetchError, RetryableStatus, retry_after, with_retries
from issuegraph.importers.model import (
    SourceGroup,
    SourceIssue,
    SourceLabel,
    SourceLink,
    SourceMember,
    SourceMilestone,
    SourceNote,
    SourceProject,
    SourceUser,
)

PAGE = 100
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def user(data: Any) -> SourceUser | None:
    if not isinstance(data, dict) or not data.get("slug"):
        return None
    return SourceUser(username=str(data["slug"]), name=data.get("name"), email=data.get("email"))


def issue(data: dict[str, Any], labels: dict[str, SourceLabel]) -> SourceIssue:
    status = (data.get("status") or {}).get("slug") or "open"
    status_type = (data.get("status") or {}).get("status_type")
    closed = status_type in ("completed", "cancelled") or (status in BY_SLUG and not BY_SLUG[status].is_open)
    author = user(data.get("author"))
    if author is None:
        raise ValueError(f"issue {data.get('id')} has no author")
    created = parse_time(data.get("created_at")) or datetime.now(UTC)
    milestone = data.get("milestone")
    return SourceIssue(
        source_id=str(data["id"]),
        iid=int(data["slug"]),
        title=str(data["title"]),
        description=data.get("description") or "",
        state="closed" if closed else "opened",
        author=author,
        created_at=created,
        updated_at=parse_time(data.get("updated_at")) or created,
        status=status,
        priority=data.get("priority"),
        confidential=data.get("visibility") == "private",
        deadline=parse_time(data.get("deadline")),
        updated_by=user(data.get("updated_by")),
        started_at=parse_time(data.get("started_at")),
        completed_at=parse_time(data.get("completed_at")),
        closed_at=parse_time(data.get("completed_at")) if closed else None,
        assignees=tuple(a for a in [user(data.get("assignee"))] if a is not None),
        labels=tuple(
            labels.get(str(x.get("name") or x.get("slug")))
            or SourceLabel(str(x.get("name") or x.get("slug")), x.get("color"))
            for x in data.get("labels") or []
        ),
        milestone=SourceMilestone(title=str(milestone["slug"])) if isinstance(milestone, dict) else None,
    )


class SourceCraftSource:
    kind = "sourcecraft"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        org: str,
        repos: list[str] = (),  # type: ignore[assignment]
        timeout: float = 30,
        attempts: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.instance_url = url.rstrip("/")
        self.org = org
        self.repos = list(repos)
        self.attempts = attempts
        self.client = httpx.Client(
            base_url=self.instance_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self._labels: dict[str, dict[str, SourceLabel]] = {}

    # ---------------------------------------------------------------- plumbing

    def _get(self, what: str, path: str, **params: Any) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            response = self.client.get(path, params=params)
            if response.status_code in RETRY_STATUSES:
                raise RetryableStatus(response.status_code, retry_after(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                try:
                    message = response.json().get("message", "")
                except ValueError:
                    message = response.text[:200]
                raise FetchError(what, f"HTTP {response.status_code}: {message}")
            body = response.json()
            if not isinstance(body, dict):
                raise FetchError(what, "the answer is not a JSON object")
            return body

        return with_retries(what, once, attempts=self.attempts)

    def _pages(self, what: str, path: str, key: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        while True:
            query = {**params, "page_size": PAGE, **({"page_token": token} if token else {})}
            body = self._get(what, path, **query)
            yield [x for x in body.get(key) or [] if isinstance(x, dict)]
            token = body.get("next_page_token")
            if not token:
                return

    def _all(self, what: str, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        return [x for page in self._pages(what, path, key, **params) for x in page]

    # ---------------------------------------------------------------- scope

    @staticmethod
    def _groups(org: dict[str, Any]) -> list[SourceGroup | SourceProject]:
        full_path = str(org["slug"])
        parts = full_path.split("/")
        # SourceCraft names an organisation by its slug only: the path is its name here too.
        return [
            SourceGroup(
                source_id=str(org["id"]) if n == len(parts) else f"path:{'/'.join(parts[:n])}",
                full_path="/".join(parts[:n]),
                path=parts[n - 1],
                name=parts[n - 1],
            )
            for n in range(1, len(parts) + 1)
        ]

    @staticmethod
    def _project(data: dict[str, Any]) -> SourceProject:
        return SourceProject(
            source_id=str(data["id"]),
            namespace_full_path=str(data["organization"]["slug"]),
            path=str(data["slug"]),
            name=str(data.get("name") or data["slug"]),
            visibility=data.get("visibility"),
            description=data.get("description") or "",
            handle=str(data["id"]),
        )

    def scope(self) -> list[SourceGroup | SourceProject]:
        repos = self._all(f"repositories of {self.org}", f"/orgs/{self.org}/repos", "repositories")
        if self.repos:
            wanted = set(self.repos)
            repos = [r for r in repos if r.get("slug") in wanted]
            missing = wanted - {str(r.get("slug")) for r in repos}
            if missing:
                raise FetchError(f"repositories of {self.org}", f"not found: {', '.join(sorted(missing))}")
        out: list[SourceGroup | SourceProject] = []
        for data in repos:
            for group in self._groups(data["organization"]):
                if group not in out:
                    out.append(group)
        return [*out, *(self._project(r) for r in repos)]

    def follow(self, link: SourceLink) -> list[SourceGroup | SourceProject]:
        other = self._get(f"issue id:{link.other_id}", f"/issues/id:{link.other_id}")
        repo_ref = other.get("repository") or {}
        data = self._get(f"repository id:{repo_ref.get('id')}", f"/repos/id:{repo_ref.get('id')}")
        return [*self._groups(data["organization"]), self._project(data)]

    def reference(self, link: SourceLink) -> str:
        """org/repo#slug of a link's other issue (asked only for the summary's left-out links)."""
        try:
            other = self._get(f"issue id:{link.other_id}", f"/issues/id:{link.other_id}")
        except FetchError:
            return link.other_ref
        repo = other.get("repository") or {}
        org = (repo.get("organization") or {}).get("slug")
        return f"{org}/{repo.get('slug')}#{other.get('slug')}" if org else link.other_ref

    # ---------------------------------------------------------------- project details

    def group_members(self, group: SourceGroup) -> list[SourceMember]:
        return []  # the SourceCraft API has no membership lists

    def project_members(self, project: SourceProject) -> list[SourceMember]:
        return []

    def labels(self, project: SourceProject) -> list[SourceLabel]:
        found = {
            str(x["name"]): SourceLabel(str(x["name"]), x.get("color"), x.get("description"))
            for x in self._all(
                f"labels of {project.full_path}", f"/repos/id:{project.handle}/labels", "items"
            )
        }
        self._labels[project.source_id] = found
        return list(found.values())

    def milestones(self, project: SourceProject) -> list[SourceMilestone]:
        return [
            SourceMilestone(
                title=str(x["name"]),
                description=x.get("description") or "",
                state="closed" if x.get("status") == "closed" else "active",
                start_date=parse_time(x.get("start_date")),
                due_date=parse_time(x.get("deadline")),
                created_at=parse_time(x.get("created_at")),
                updated_at=parse_time(x.get("updated_at")),
            )
            for x in self._all(
                f"milestones of {project.full_path}", f"/repos/id:{project.handle}/milestones", "items"
            )
        ]

    # ---------------------------------------------------------------- issues

    def issue_pages(self, project: SourceProject) -> Iterator[list[SourceIssue]]:
        labels = self._labels.get(project.source_id, {})
        for page in self._pages(
            f"issues of {project.full_path}", f"/repos/id:{project.handle}/issues", "issues", sort_by="id"
        ):
            if page:
                yield [issue(x, labels) for x in page]

    def notes(self, project: SourceProject, issue: SourceIssue) -> list[SourceNote]:
        found = []
        for x in self._all(
            f"comments of {project.full_path}#{issue.iid}",
            f"/issues/id:{issue.source_id}/comments",
            "issue_comments",
            sort_by="created_at",
        ):
            author = user(x.get("author"))
            if author is None or not x.get("body"):
                continue
            created = parse_time(x.get("created_at")) or datetime.now(UTC)
            found.append(
                SourceNote(
                    source_id=str(x["id"]),
                    author=author,
                    body=str(x["body"]),
                    created_at=created,
                    updated_at=parse_time(x.get("updated_at")) or created,
                )
            )
        return found

    def links(self, project: SourceProject, issue: SourceIssue) -> list[SourceLink]:
        what = f"links of {project.full_path}#{issue.iid}"
        found = []
        for x in self._all(what, f"/issues/id:{issue.source_id}/issue_links", "links"):
            try:
                link_type = LinkType(str(x.get("link_type")))
            except ValueError as exc:
                raise FetchError(what, f"unknown link type {x.get('link_type')!r}") from exc
            target = x.get("target") or {}
            found.append(
                SourceLink(
                    source_id=str(x["id"]),
                    issue_id=issue.source_id,
                    issue_ref=f"{project.full_path}#{issue.iid}",
                    other_id=str(target["id"]),
                    other_ref=f"issue id:{target['id']} (#{target.get('slug')})",
                    link_type=link_type,
                    created_at=parse_time(x.get("created_at")),
                    author=user(x.get("author")),
                    other_project=str(target["id"]),
                )
            )
        return found
