"""The import, phase by phase: scope (groups, projects), project details (members, labels,
milestones), issues with their comments, then links.

Reads run in a bounded thread pool; writes run in this thread through the services
(`*/importing.py`), one transaction per page of issues or batch of links, each object in its own
savepoint so one refusal costs one object. Each written object is recorded in `imported_objects`
in the same transaction, so a killed run loses at most one uncommitted batch and the next run
skips what was committed (same fingerprint) and finishes the rest.

Memory does not grow with the source: issues are read and written a page at a time, and what
must wait for the links phase (the links read, the issues whose links were read) waits in a
scratch file (`spill.py`), read back a batch at a time.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import astuple, dataclass, field
from typing import Any, Protocol, TypeVar

from rich.progress import Progress, TaskID
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.accounts.importing import user_for_import
from issuegraph.accounts.service import Actor
from issuegraph.db.engine import Database
from issuegraph.db.models import Issue, Namespace, Note, Project, User
from issuegraph.domain.errors import DomainError
from issuegraph.importers.fetching import FetchError
from issuegraph.importers.mapping import Mapping
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
    digest,
)
from issuegraph.importers.spill import DONE, NEW, OUTSIDE, Spill
from issuegraph.importers.summary import Summary
from issuegraph.issues import importing as issues_import
from issuegraph.links.importing import import_link
from issuegraph.projects import importing as projects_import
from issuegraph.projects import repository as projects_repo
from issuegraph.projects.service import ProjectAccess, access_by_project_ids

T = TypeVar("T")
LINK_BATCH = 200
MARKER_BATCH = 500


class Source(Protocol):
    """What an importer reads. Each method may raise FetchError (retries are the source's)."""

    instance_url: str
    kind: str

    def scope(self) -> list[SourceGroup | SourceProject]:
        """The selected groups (parents first, ancestors included) and projects."""

    def follow(self, link: SourceLink) -> list[SourceGroup | SourceProject]:
        """The groups and project that hold a link's other issue ([] if it cannot be read)."""

    def reference(self, link: SourceLink) -> str:
        """group/project#iid of a link's other issue, for the summary."""

    def group_members(self, group: SourceGroup) -> list[SourceMember]: ...
    def project_members(self, project: SourceProject) -> list[SourceMember]: ...
    def labels(self, project: SourceProject) -> list[SourceLabel]: ...
    def milestones(self, project: SourceProject) -> list[SourceMilestone]: ...
    def issue_pages(self, project: SourceProject) -> Iterator[list[SourceIssue]]: ...
    def notes(self, project: SourceProject, issue: SourceIssue) -> list[SourceNote]: ...
    def links(self, project: SourceProject, issue: SourceIssue) -> list[SourceLink]: ...


@dataclass
class Options:
    user_map: dict[str, str] = field(default_factory=dict)
    follow_links: bool = False
    dry_run: bool = False
    workers: int = 8
    as_user: str | None = None  # the local administrator the import acts as (default: root)


class Importer:
    def __init__(
        self, database: Database, source: Source, options: Options, progress: Progress | None = None
    ) -> None:
        self.database = database
        self.source = source
        self.options = options
        self.progress = progress
        self.summary = Summary(dry_run=options.dry_run)
        self.mapping = Mapping(source.instance_url.rstrip("/"), source.kind)
        self._dry_session: Session | None = None
        self._users: dict[str, int] = {}
        self._labels: dict[tuple[int, str], int] = {}
        self._milestones: dict[tuple[int, str], int] = {}
        self._tasks: dict[str, TaskID] = {}
        self._projects_done: set[str] = set()
        self._spill: Spill  # the links read, and the issues whose links were read (one run's)
        self.actor: Actor

    # ------------------------------------------------------------ running

    def run(self) -> Summary:
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.workers), thread_name_prefix="import")
        if self.options.dry_run:
            self._dry_session = self.database.new_session()
        self._spill = Spill()
        try:
            self.actor = self._admin()
            with self._phase("scope", None):
                scope = self._fetch("scope", self.source.scope)
            projects = self._write_scope(scope or [])
            while projects:
                for project in projects:
                    self._project_details(project, pool)
                self._issues(projects, pool)
                projects = self._links()
                if not self.options.follow_links:
                    projects = []
            for batch in self._spill.links((OUTSIDE,), LINK_BATCH):
                for link in batch:
                    self.summary.skip(
                        "link",
                        f"{link.issue_ref} {link.link_type.value} {self.source.reference(link)}",
                        "the other issue is outside the import (see --follow-links)",
                    )
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._spill.close()
            if self._dry_session is not None:
                self._dry_session.rollback()
                self._dry_session.close()
        return self.summary

    @contextlib.contextmanager
    def _unit(self) -> Iterator[Session]:
        """A transaction: committed at the end, or (dry run) one transaction rolled back at the end."""
        if self._dry_session is not None:
            yield self._dry_session
            return
        with self.database.session() as session:
            yield session

    @contextlib.contextmanager
    def _phase(self, name: str, total: int | None) -> Iterator[None]:
        if self.progress is not None and name not in self._tasks:
            self._tasks[name] = self.progress.add_task(name, total=total)
        yield

    def _advance(self, name: str, n: int = 1, total: int | None = None) -> None:
        if self.progress is not None:
            if name not in self._tasks:
                self._tasks[name] = self.progress.add_task(name, total=total)
            self.progress.update(self._tasks[name], advance=n)
            if total is not None:
                self.progress.update(self._tasks[name], total=total)

    def _fetch(self, what: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except FetchError as exc:
            self.summary.fail(what.split(" ", 1)[0], what, exc.reason)
            return None

    def _admin(self) -> Actor:
        with self._unit() as session:
            name = self.options.as_user or "root"
            user = session.scalar(select(User).where(User.username == name, User.is_admin.is_(True)))
            if user is None and self.options.as_user is None:
                user = session.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))
            if user is None:
                raise SystemExit(f"no local administrator {name!r}: set ISSUEGRAPH_ADMIN_TOKEN or create one")
            return Actor(user=user, scopes=frozenset({"api"}))

    # ------------------------------------------------------------ scope

    def _write_scope(self, items: Sequence[SourceGroup | SourceProject]) -> list[SourceProject]:
        projects: list[SourceProject] = []
        with self._unit() as session:
            for item in items:
                if isinstance(item, SourceGroup):
                    local = self._write_group(session, item)
                    members = self._fetch_optional(item.full_path, "member", self.source.group_members, item)
                    for member in members if local is not None else []:
                        key = f"group {item.source_id}:{member.user.username}"
                        self._write_member(session, member, key, project=None, group=local)
                elif item.source_id not in self._projects_done:
                    if self._write_project(session, item):
                        projects.append(item)
                    self._projects_done.add(item.source_id)
                self._advance("scope")
        return projects

    def _write_group(self, session: Session, group: SourceGroup) -> Namespace | None:
        fingerprint = digest(astuple(group))
        row = self.mapping.get(session, "group", group.source_id)
        found = session.get(Namespace, row.local_id) if row is not None else None
        if row is not None and row.fingerprint == fingerprint and found is not None:
            self.summary.count("group", "unchanged")
            return found
        parent_path, _, _ = group.full_path.rpartition("/")
        try:
            with session.begin_nested():
                parent = self._ensure_parents(session, parent_path)
                local, created = projects_import.import_group(
                    session,
                    self.actor,
                    path=group.path,
                    name=group.name,
                    parent=parent,
                    visibility=group.visibility,
                    description=group.description,
                )
                self.mapping.remember(session, "group", group.source_id, local.id, fingerprint, row)
        except DomainError as exc:
            self.summary.fail("group", group.full_path, exc.message)
            return None
        self.summary.count("group", "imported" if created else "updated")
        return local

    def _ensure_parents(self, session: Session, full_path: str) -> Namespace | None:
        if not full_path:
            return None
        found = projects_repo.namespace_by_full_path(session, full_path)
        if found is not None:
            return found
        parent_path, _, path = full_path.rpartition("/")
        parent = self._ensure_parents(session, parent_path)
        group, _ = projects_import.import_group(
            session, self.actor, path=path, name=path, parent=parent, visibility=None, description=None
        )
        return group

    def _write_project(self, session: Session, project: SourceProject) -> bool:
        fingerprint = digest(astuple(project)[:-1])  # the handle is the source's, not data
        row = self.mapping.get(session, "project", project.source_id)
        if (
            row is not None
            and row.fingerprint == fingerprint
            and session.get(Project, row.local_id) is not None
        ):
            self.summary.count("project", "unchanged")
            return True
        try:
            with session.begin_nested():
                namespace = self._ensure_parents(session, project.namespace_full_path)
                if namespace is None:
                    raise DomainError("namespace_missing", "the project has no namespace")
                local, created = projects_import.import_project(
                    session,
                    self.actor,
                    namespace=namespace,
                    path=project.path,
                    name=project.name,
                    visibility=project.visibility,
                    description=project.description,
                    created_at=project.created_at,
                )
                self.mapping.remember(session, "project", project.source_id, local.id, fingerprint, row)
        except DomainError as exc:
            self.summary.fail("project", project.full_path, exc.message)
            return False
        self.summary.count("project", "imported" if created else "updated")
        return True

    def _project_id(self, session: Session, project: SourceProject) -> int:
        row = self.mapping.get(session, "project", project.source_id)
        assert row is not None  # written by _write_scope
        return row.local_id

    # ------------------------------------------------------------ users, members, labels, milestones

    def _user_id(self, session: Session, user: SourceUser) -> int:
        username = self.options.user_map.get(user.username, user.username)
        if username in self._users:
            return self._users[username]
        local, created = user_for_import(
            session, self.actor, username=username, name=user.name, email=user.email
        )
        self.summary.count("user", "imported" if created else "unchanged")
        self._users[username] = local.id
        return local.id

    def _project_details(self, project: SourceProject, pool: ThreadPoolExecutor) -> None:
        members = pool.submit(
            self._fetch_optional, project.full_path, "member", self.source.project_members, project
        )
        labels = pool.submit(self._fetch_optional, project.full_path, "label", self.source.labels, project)
        milestones = pool.submit(
            self._fetch_optional, project.full_path, "milestone", self.source.milestones, project
        )
        with self._unit() as session:
            project_id = self._project_id(session, project)
            local = session.get(Project, project_id)
            for member in members.result():
                self._write_member(
                    session, member, f"{project.source_id}:{member.user.username}", project=local
                )
            for label in labels.result():
                self._label_id(session, project_id, label, update=True)
            for milestone in milestones.result():
                self._milestone_id(session, project_id, milestone, update=True)
        self._advance("projects")

    def _fetch_optional(self, where: str, kind: str, call: Callable[[Any], list[T]], item: Any) -> list[T]:
        try:
            return call(item)
        except FetchError as exc:
            self.summary.fail(kind, f"{kind}s of {where}", exc.reason)
            return []

    def _write_member(
        self,
        session: Session,
        member: SourceMember,
        key: str,
        *,
        project: Project | None,
        group: Namespace | None = None,
    ) -> None:
        try:
            with session.begin_nested():
                user_id = self._user_id(session, member.user)
                changed = projects_import.import_member(
                    session,
                    self.actor,
                    user_id=user_id,
                    level=member.access_level,
                    project=project,
                    group=group,
                )
        except DomainError as exc:
            self.summary.fail("member", key, exc.message)
            return
        self.summary.count("member", "updated" if changed else "unchanged")

    def _label_id(
        self, session: Session, project_id: int, label: SourceLabel, *, update: bool = False
    ) -> int:
        key = (project_id, label.name)
        if key in self._labels and not update:
            return self._labels[key]
        fingerprint = digest(astuple(label))
        source_id = f"{project_id}:{label.name}"
        row = self.mapping.get(session, "label", source_id)
        if row is not None and (row.fingerprint == fingerprint or not update):
            self._labels[key] = row.local_id
            if update:
                self.summary.count("label", "unchanged")
            return row.local_id
        local = issues_import.import_label(
            session, project_id, name=label.name, color=label.color, description=label.description
        )
        self.mapping.remember(session, "label", source_id, local.id, fingerprint if update else "", row)
        self.summary.count("label", "imported" if row is None else "updated")
        self._labels[key] = local.id
        return local.id

    def _milestone_id(
        self, session: Session, project_id: int, milestone: SourceMilestone, *, update: bool = False
    ) -> int:
        key = (project_id, milestone.title)
        if key in self._milestones and not update:
            return self._milestones[key]
        fingerprint = digest(astuple(milestone))
        source_id = f"{project_id}:{milestone.title}"
        row = self.mapping.get(session, "milestone", source_id)
        if row is not None and (row.fingerprint == fingerprint or not update):
            self._milestones[key] = row.local_id
            if update:
                self.summary.count("milestone", "unchanged")
            return row.local_id
        local = issues_import.import_milestone(
            session,
            project_id,
            title=milestone.title,
            description=milestone.description,
            state=milestone.state,
            start_date=milestone.start_date,
            due_date=milestone.due_date,
            created_at=milestone.created_at,
            updated_at=milestone.updated_at,
        )
        self.mapping.remember(session, "milestone", source_id, local.id, fingerprint if update else "", row)
        self.summary.count("milestone", "imported" if row is None else "updated")
        self._milestones[key] = local.id
        return local.id

    # ------------------------------------------------------------ issues and comments

    def _issues(self, projects: list[SourceProject], pool: ThreadPoolExecutor) -> None:
        for project in projects:
            pages = self.source.issue_pages(project)
            upcoming: Future[list[SourceIssue] | None] = pool.submit(self._next_page, project, pages)
            while True:
                page = upcoming.result()
                if page is None:
                    break
                upcoming = pool.submit(self._next_page, project, pages)  # read ahead while writing
                self._issue_page(project, page, pool)

    def _next_page(
        self, project: SourceProject, pages: Iterator[list[SourceIssue]]
    ) -> list[SourceIssue] | None:
        try:
            return next(pages)
        except StopIteration:
            return None
        except FetchError as exc:
            self.summary.fail("issue", f"issues of {project.full_path}", exc.reason)
            return None

    def _issue_page(self, project: SourceProject, page: list[SourceIssue], pool: ThreadPoolExecutor) -> None:
        fingerprints = {issue.source_id: issue.fingerprint() for issue in page}
        with self._unit() as session:
            rows = self.mapping.many(session, "issue", fingerprints)
            markers = self.mapping.many(session, "issue_links", fingerprints)
        changed = [
            i
            for i in page
            if rows.get(i.source_id) is None or rows[i.source_id].fingerprint != fingerprints[i.source_id]
        ]
        want_links = [
            i
            for i in page
            if markers.get(i.source_id) is None
            or markers[i.source_id].fingerprint != fingerprints[i.source_id]
        ]
        notes = {
            i.source_id: pool.submit(self._fetch_for_issue, "note", project, i, self.source.notes)
            for i in changed
            if i.notes_count != 0
        }
        links = {
            i.source_id: pool.submit(self._fetch_for_issue, "link", project, i, self.source.links)
            for i in want_links
        }
        with self._unit() as session:
            project_id = self._project_id(session, project)
            access = access_by_project_ids(session, self.actor, [project_id])[project_id]
            rows = self.mapping.many(session, "issue", fingerprints)
            present = set(
                session.scalars(select(Issue.id).where(Issue.id.in_([r.local_id for r in rows.values()])))
            )
            for issue in page:
                row = rows.get(issue.source_id)
                if issue in changed or (row is not None and row.local_id not in present):
                    got = notes[issue.source_id].result() if issue.source_id in notes else []
                    self._write_issue(session, access, issue, row, got, fingerprints[issue.source_id])
                else:
                    self.summary.count("issue", "unchanged")
            self._advance("issues", len(page))
        read: list[SourceLink] = []
        for issue in want_links:
            found = links[issue.source_id].result()
            if found is None:
                continue  # reported; the marker stays behind, so the next run asks again
            read += found
            self._spill.mark_links_read(issue.source_id, fingerprints[issue.source_id])
        self._spill.add_links(read)  # to the spill, not memory: they wait for the links phase

    def _fetch_for_issue(
        self,
        kind: str,
        project: SourceProject,
        issue: SourceIssue,
        call: Callable[[SourceProject, SourceIssue], list[T]],
    ) -> list[T] | None:
        try:
            return call(project, issue)
        except FetchError as exc:
            self.summary.fail(kind, f"{kind}s of {project.full_path}#{issue.iid}", exc.reason)
            return None

    def _write_issue(
        self,
        session: Session,
        access: ProjectAccess,
        issue: SourceIssue,
        row: Any,
        notes: list[SourceNote] | None,
        fingerprint: str,
    ) -> None:
        ref = f"{access.project.full_path}#{issue.iid}"
        existing = session.get(Issue, row.local_id) if row is not None else None
        project_id = access.project.id
        try:
            with session.begin_nested():
                data = issues_import.ImportedIssue(
                    iid=issue.iid,
                    title=issue.title,
                    description=issue.description,
                    state=issue.state,
                    author_id=self._user_id(session, issue.author),
                    created_at=issue.created_at,
                    updated_at=issue.updated_at,
                    status=issue.status,
                    priority=issue.priority,
                    confidential=issue.confidential,
                    discussion_locked=issue.discussion_locked,
                    weight=issue.weight,
                    deadline=issue.deadline,
                    updated_by_id=self._user_id(session, issue.updated_by) if issue.updated_by else None,
                    closed_by_id=self._user_id(session, issue.closed_by) if issue.closed_by else None,
                    closed_at=issue.closed_at,
                    started_at=issue.started_at,
                    completed_at=issue.completed_at,
                    milestone_id=self._milestone_id(session, project_id, issue.milestone)
                    if issue.milestone
                    else None,
                    assignee_ids=[self._user_id(session, u) for u in issue.assignees],
                    label_ids=[self._label_id(session, project_id, label) for label in issue.labels],
                )
                local = issues_import.import_issue(session, access, data, existing)
                complete = notes is not None
                self._write_notes(session, local, ref, notes or [])
                # A failed comment read leaves the fingerprint empty: the next run reads them again.
                self.mapping.remember(
                    session,
                    "issue",
                    issue.source_id,
                    local.id,
                    fingerprint if complete else "",
                    row,
                    new=row is None,
                )
        except DomainError as exc:
            self.summary.fail("issue", ref, exc.message)
            return
        self.summary.count("issue", "imported" if existing is None else "updated")

    def _write_notes(self, session: Session, issue: Issue, ref: str, notes: list[SourceNote]) -> None:
        rows = self.mapping.many(session, "note", [n.source_id for n in notes])
        for note in notes:
            fingerprint = note.fingerprint()
            row = rows.get(note.source_id)
            existing = session.get(Note, row.local_id) if row is not None else None
            if row is not None and existing is not None and row.fingerprint == fingerprint:
                self.summary.count("note", "unchanged")
                continue
            try:
                with session.begin_nested():
                    local = issues_import.import_note(
                        session,
                        issue,
                        author_id=self._user_id(session, note.author),
                        body=note.body,
                        created_at=note.created_at,
                        updated_at=note.updated_at,
                        existing=existing,
                    )
                    self.mapping.remember(
                        session, "note", note.source_id, local.id, fingerprint, row, new=row is None
                    )
            except DomainError as exc:
                self.summary.fail("note", f"{ref} note {note.source_id}", exc.message)
                continue
            self.summary.count("note", "imported" if existing is None else "updated")

    # ------------------------------------------------------------ links

    def _links(self) -> list[SourceProject]:
        """Write the links read so far (and those waiting for their other issue), oldest first (so
        of links that break a rule together, the newest is the one left out), a batch at a time
        from the spill. Returns the projects to follow (--follow-links)."""
        outside = False
        for batch in self._spill.links((NEW, OUTSIDE), LINK_BATCH):
            with self._unit() as session:
                known = self.mapping.many(session, "link", [link.source_id for link in batch])
                ends = self.mapping.many(
                    session, "issue", {x for link in batch for x in (link.issue_id, link.other_id)}
                )
                issues = {
                    i.id: i
                    for i in session.scalars(
                        select(Issue).where(Issue.id.in_([row.local_id for row in ends.values()]))
                    )
                }
                accesses = access_by_project_ids(session, self.actor, {i.project_id for i in issues.values()})
                waiting = {
                    link.source_id
                    for link in batch
                    if self._write_link(session, link, known, ends, issues, accesses)
                }
            self._spill.set_state(OUTSIDE, waiting)
            self._spill.set_state(DONE, (link.source_id for link in batch if link.source_id not in waiting))
            outside = outside or bool(waiting)
            self._advance("links", len(batch))
        for markers in self._spill.complete_markers(MARKER_BATCH):
            with self._unit() as session:
                done = self.mapping.many(session, "issue", (issue_id for issue_id, _ in markers))
                rows = self.mapping.many(session, "issue_links", (issue_id for issue_id, _ in markers))
                for issue_id, fingerprint in markers:
                    if issue_id in done:
                        row = rows.get(issue_id)
                        self.mapping.remember(
                            session,
                            "issue_links",
                            issue_id,
                            done[issue_id].local_id,
                            fingerprint,
                            row,
                            new=row is None,
                        )
        if not (self.options.follow_links and outside):
            return []
        return self._follow()

    def _write_link(
        self,
        session: Session,
        link: SourceLink,
        known: dict[str, Any],
        ends: dict[str, Any],
        issues: dict[int, Issue],
        accesses: dict[int, ProjectAccess],
    ) -> bool:
        """Write one link; True when it waits for its other issue (outside the import so far)."""
        ref = f"{link.issue_ref} {link.link_type.value} {link.other_ref}"
        if link.source_id in known:
            self.summary.count("link", "unchanged")
            return False
        if link.other_id not in ends:
            self._spill.add_incomplete([link.issue_id])
            return True
        if link.issue_id not in ends:
            self._spill.add_incomplete([link.other_id])
            self.summary.skip("link", ref, "its issue was not imported")
            return False
        source, target = issues.get(ends[link.issue_id].local_id), issues.get(ends[link.other_id].local_id)
        if source is None or target is None:
            self.summary.skip("link", ref, "its issue was deleted here")
            return False
        try:
            with session.begin_nested():
                local = import_link(
                    session,
                    self.actor,
                    source,
                    target,
                    link.link_type,
                    created_at=link.created_at,
                    author_id=self._user_id(session, link.author) if link.author else None,
                    accesses=accesses,
                )
                self.mapping.remember(session, "link", link.source_id, local.id, new=True)
        except DomainError as exc:
            self._spill.add_incomplete((link.issue_id, link.other_id))
            self.summary.skip("link", ref, f"{exc.code}: {exc.message}")
            return False
        self.summary.count("link", "imported")
        return False

    def _follow(self) -> list[SourceProject]:
        """--follow-links: the projects of the issues outside, imported next round."""
        items: list[SourceGroup | SourceProject] = []
        asked: set[str] = set()
        for batch in self._spill.links((OUTSIDE,), LINK_BATCH):
            for link in batch:
                key = repr(link.other_project)
                if key in asked:
                    continue
                asked.add(key)
                found = self._fetch(
                    f"project of {link.other_ref}", functools.partial(self.source.follow, link)
                )
                items += found or []
        return self._write_scope(items)
