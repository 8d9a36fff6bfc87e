"""GitLab as a source, through python-gitlab (the client GitLab users already trust).

python-gitlab waits out 429 (Retry-After) and retries transient errors itself; `with_retries`
adds retries for a dropped connection and turns what still fails into a FetchError. Only the
fields the importer maps are read: anything else GitLab sends (epics, time stats, health
status, iterations...) is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from urllib.parse import urlsplit

import gitlab
import requests

from issuegraph.domain.links import from_gitlab_name
from issuegraph.importers.fetching import FetchError, with_retries
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

T = TypeVar("T")
PAGE = 100
_TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, gitlab.GitlabConnectionError)


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_day(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.combine(date.fromisoformat(str(value)[:10]), time.min, tzinfo=UTC)


def user(data: Any) -> SourceUser | None:
    if not isinstance(data, dict) or not data.get("username"):
        return None
    return SourceUser(username=str(data["username"]), name=data.get("name"), email=data.get("email") or None)


def milestone(data: dict[str, Any]) -> SourceMilestone:
    return SourceMilestone(
        title=str(data["title"]),
        description=data.get("description") or "",
        state="closed" if data.get("state") == "closed" else "active",
        start_date=parse_day(data.get("start_date")),
        due_date=parse_day(data.get("due_date")),
        created_at=parse_time(data.get("created_at")),
        updated_at=parse_time(data.get("updated_at")),
    )


def issue(data: dict[str, Any]) -> SourceIssue:
    author = user(data.get("author"))
    if author is None:
        raise ValueError(f"issue {data.get('id')} has no author")
    assignees = [
        user(a) for a in (data.get("assignees") or ([data["assignee"]] if data.get("assignee") else []))
    ]
    labels = []
    for label in data.get("labels") or []:  # names, or objects with `with_labels_details`
        if isinstance(label, dict):
            labels.append(SourceLabel(str(label["name"]), label.get("color"), label.get("description")))
        else:
            labels.append(SourceLabel(str(label)))
    status = data.get("status")  # issuegraph's extension: the SourceCraft status behind `state`
    return SourceIssue(
        source_id=str(data["id"]),
        iid=int(data["iid"]),
        title=str(data["title"]),
        description=data.get("description") or "",
        state="closed" if data.get("state") == "closed" else "opened",
        author=author,
        created_at=parse_time(data["created_at"]) or datetime.now(UTC),
        updated_at=parse_time(data.get("updated_at") or data["created_at"]) or datetime.now(UTC),
        status=status if isinstance(status, str) else None,
        confidential=bool(data.get("confidential")),
        discussion_locked=bool(data.get("discussion_locked")),
        weight=data.get("weight") if isinstance(data.get("weight"), int) else None,
        deadline=parse_day(data.get("due_date")),
        closed_by=user(data.get("closed_by")),
        closed_at=parse_time(data.get("closed_at")),
        assignees=tuple(a for a in assignees if a is not None),
        labels=tuple(labels),
        milestone=milestone(data["milestone"]) if isinstance(data.get("milestone"), dict) else None,
        notes_count=data.get("user_notes_count") if isinstance(data.get("user_notes_count"), int) else None,
    )


def note(data: dict[str, Any]) -> SourceNote | None:
    author = user(data.get("author"))
    if data.get("system") or author is None or not data.get("body"):
        return None
    created = parse_time(data["created_at"]) or datetime.now(UTC)
    return SourceNote(
        source_id=str(data["id"]),
        author=author,
        body=str(data["body"]),
        created_at=created,
        updated_at=parse_time(data.get("updated_at")) or created,
    )


def reference_of(data: dict[str, Any]) -> str:
    """group/project#iid of a related issue: `references.full`, else from its web URL."""
    refs = data.get("references")
    if isinstance(refs, dict) and refs.get("full"):
        return str(refs["full"])
    web = str(data.get("web_url") or "")
    if "/-/issues/" in web:
        return urlsplit(web).path.strip("/").replace("/-/issues/", "#")
    return f"project {data.get('project_id')}#{data.get('iid')}"


class GitLabSource:
    kind = "gitlab"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        projects: list[str] = (),  # type: ignore[assignment]
        groups: list[str] = (),  # type: ignore[assignment]
        timeout: float = 30,
        attempts: int = 4,
        client_retries: int = 5,
    ) -> None:
        self.instance_url = url.rstrip("/")
        self.client_retries = client_retries  # python-gitlab's own, per request (429, 5xx, connection)
        self.project_paths = list(projects)
        self.group_paths = list(groups)
        self.attempts = attempts
        self.gl = gitlab.Gitlab(
            self.instance_url,
            private_token=token,
            timeout=timeout,
            retry_transient_errors=True,
            per_page=PAGE,
        )
        self._groups: dict[str, SourceGroup] = {}

    # ---------------------------------------------------------------- plumbing

    def _call(self, what: str, call: Callable[[], T]) -> T:
        def once() -> T:
            try:
                return call()
            except gitlab.GitlabHttpError as exc:
                raise FetchError(what, f"HTTP {exc.response_code}: {exc.error_message}") from exc
            except gitlab.GitlabError as exc:
                if isinstance(exc.__cause__, _TRANSIENT):
                    raise exc.__cause__ from exc
                raise FetchError(what, str(exc)) from exc

        return with_retries(what, once, attempts=self.attempts, transient=_TRANSIENT)

    def _get(self, what: str, path: str, **query: Any) -> dict[str, Any]:
        result = self._call(
            what, lambda: self.gl.http_get(path, query_data=query, max_retries=self.client_retries)
        )
        if not isinstance(result, dict):
            raise FetchError(what, "the answer is not a JSON object")
        return result

    def _list(self, what: str, path: str, **query: Any) -> list[dict[str, Any]]:
        result = self._call(
            what,
            lambda: self.gl.http_list(path, query_data=query, get_all=True, max_retries=self.client_retries),
        )
        return [x for x in result if isinstance(x, dict)]

    def _optional_list(self, what: str, path: str, **query: Any) -> list[dict[str, Any]]:
        """A list an instance may not offer (404: an empty list)."""
        try:
            return self._list(what, path, **query)
        except FetchError as exc:
            if exc.reason.startswith("HTTP 404"):
                return []
            raise

    # ---------------------------------------------------------------- scope

    def _group(self, full_path: str) -> SourceGroup:
        if full_path not in self._groups:
            data = self._get(f"group {full_path}", f"/groups/{_quote(full_path)}")
            self._groups[full_path] = SourceGroup(
                source_id=str(data["id"]),
                full_path=str(data["full_path"]),
                path=str(data["path"]),
                name=str(data.get("name") or data["path"]),
                visibility=data.get("visibility"),
                description=data.get("description") or "",
            )
        return self._groups[full_path]

    def _with_ancestors(self, full_path: str, out: list[SourceGroup | SourceProject]) -> None:
        parts = full_path.split("/")
        for n in range(1, len(parts) + 1):
            group = self._group("/".join(parts[:n]))
            if group not in out:
                out.append(group)

    def _project(self, data: dict[str, Any], out: list[SourceGroup | SourceProject]) -> SourceProject:
        namespace = data.get("namespace") or {}
        ns_path = str(namespace.get("full_path") or data["path_with_namespace"].rsplit("/", 1)[0])
        if namespace.get("kind", "group") == "group":
            self._with_ancestors(ns_path, out)
        project = SourceProject(
            source_id=str(data["id"]),
            namespace_full_path=ns_path,
            path=str(data["path"]),
            name=str(data.get("name") or data["path"]),
            visibility=data.get("visibility"),
            description=data.get("description") or "",
            created_at=parse_time(data.get("created_at")),
            handle=int(data["id"]),
        )
        if project not in out:
            out.append(project)
        return project

    def scope(self) -> list[SourceGroup | SourceProject]:
        out: list[SourceGroup | SourceProject] = []
        for path in self.group_paths:
            self._with_ancestors(path, out)
            group = self._groups[path]
            for sub in self._optional_list(
                f"subgroups of {path}", f"/groups/{group.source_id}/descendant_groups"
            ):
                self._with_ancestors(str(sub["full_path"]), out)
            for data in self._list(
                f"projects of {path}", f"/groups/{group.source_id}/projects", include_subgroups=True
            ):
                self._project(data, out)
        for path in self.project_paths:
            self._project(self._get(f"project {path}", f"/projects/{_quote(path)}"), out)
        groups = sorted((x for x in out if isinstance(x, SourceGroup)), key=lambda g: g.full_path.count("/"))
        return [*groups, *(x for x in out if isinstance(x, SourceProject))]

    def follow(self, link: SourceLink) -> list[SourceGroup | SourceProject]:
        out: list[SourceGroup | SourceProject] = []
        self._project(self._get(f"project {link.other_project}", f"/projects/{link.other_project}"), out)
        return out

    def reference(self, link: SourceLink) -> str:
        return link.other_ref

    # ---------------------------------------------------------------- project details

    def _members(self, what: str, path: str) -> list[SourceMember]:
        found = []
        for data in self._optional_list(what, path):
            member = user(data)
            if member is not None and isinstance(data.get("access_level"), int):
                found.append(SourceMember(member, int(data["access_level"])))
        return found

    def group_members(self, group: SourceGroup) -> list[SourceMember]:
        return self._members(f"members of {group.full_path}", f"/groups/{group.source_id}/members")

    def project_members(self, project: SourceProject) -> list[SourceMember]:
        return self._members(f"members of {project.full_path}", f"/projects/{project.handle}/members")

    def labels(self, project: SourceProject) -> list[SourceLabel]:
        return [
            SourceLabel(str(x["name"]), x.get("color"), x.get("description") or "")
            for x in self._optional_list(
                f"labels of {project.full_path}", f"/projects/{project.handle}/labels"
            )
        ]

    def milestones(self, project: SourceProject) -> list[SourceMilestone]:
        return [
            milestone(x)
            for x in self._optional_list(
                f"milestones of {project.full_path}", f"/projects/{project.handle}/milestones"
            )
        ]

    # ---------------------------------------------------------------- issues

    def issue_pages(self, project: SourceProject) -> Iterator[list[SourceIssue]]:
        what = f"issues of {project.full_path}"
        pages = self._call(
            what,
            lambda: self.gl.http_list(
                f"/projects/{project.handle}/issues",
                query_data={"scope": "all", "order_by": "created_at", "sort": "asc", "per_page": PAGE},
                iterator=True,
                max_retries=self.client_retries,
            ),
        )
        batch: list[SourceIssue] = []
        items = iter(pages)
        while True:
            data = self._call(what, lambda: next(items, None))
            if data is None:
                break
            batch.append(issue(data))
            if len(batch) == PAGE:
                yield batch
                batch = []
        if batch:
            yield batch

    def notes(self, project: SourceProject, issue: SourceIssue) -> list[SourceNote]:
        found = self._list(
            f"notes of {project.full_path}#{issue.iid}",
            f"/projects/{project.handle}/issues/{issue.iid}/notes",
            sort="asc",
            order_by="created_at",
        )
        return [n for n in (note(x) for x in found) if n is not None]

    def links(self, project: SourceProject, issue: SourceIssue) -> list[SourceLink]:
        what = f"links of {project.full_path}#{issue.iid}"
        found = []
        for data in self._list(what, f"/projects/{project.handle}/issues/{issue.iid}/links"):
            link_type = from_gitlab_name(str(data.get("link_type")))
            if link_type is None:
                raise FetchError(what, f"unknown link type {data.get('link_type')!r}")
            found.append(
                SourceLink(
                    source_id=str(data["issue_link_id"]),
                    issue_id=issue.source_id,
                    issue_ref=f"{project.full_path}#{issue.iid}",
                    other_id=str(data["id"]),
                    other_ref=reference_of(data),
                    link_type=link_type,
                    created_at=parse_time(data.get("link_created_at")),
                    other_project=data.get("project_id"),
                )
            )
        return found


def _quote(path: str) -> str:
    return path.replace("/", "%2F")
