"""Groups, projects, memberships, and what a caller may do in a project."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.db import pagination
from issuegraph.db.models import GroupMember, Issue, Namespace, Project, ProjectMember, User, utcnow
from issuegraph.db.pagination import Columns, OffsetPage, Page, PageRequest
from issuegraph.db.sql import MAX_INT, contains_text
from issuegraph.domain.errors import Conflict, Forbidden, Invalid, NotFound
from issuegraph.domain.ids import is_numeric, parse_id
from issuegraph.domain.roles import VALID_ACCESS_LEVELS, AccessLevel, Visibility
from issuegraph.issues import repository as issues_repo
from issuegraph.projects import repository as repo

PATH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
CLOSE_POLICIES = ("allow", "warn", "deny")


@dataclass(frozen=True)
class ProjectAccess:
    """A project as one caller sees it."""

    project: Project
    namespace: Namespace
    level: int
    actor: Actor

    @property
    def can_read(self) -> bool:
        if self.actor.is_admin or self.project.visibility == Visibility.PUBLIC:
            return True
        if self.project.visibility == Visibility.INTERNAL and self.actor.authenticated:
            return True
        return self.level >= AccessLevel.GUEST

    @property
    def is_member(self) -> bool:
        return self.level >= AccessLevel.GUEST

    @property
    def can_read_confidential(self) -> bool:
        return self.actor.is_admin or self.level >= AccessLevel.PLANNER

    @property
    def can_link(self) -> bool:
        """GitLab's admin_issue_link: a member with at least Guest, or an admin."""
        return self.actor.authenticated and (self.actor.is_admin or self.level >= AccessLevel.GUEST)

    @property
    def can_admin(self) -> bool:
        return self.actor.is_admin or self.level >= AccessLevel.MAINTAINER

    @property
    def can_delete_project(self) -> bool:
        return self.actor.is_admin or self.level >= AccessLevel.OWNER

    def can_read_issue(self, issue: Issue, assignee_ids: Iterable[int] = ()) -> bool:
        if not self.can_read:
            return False
        if not issue.confidential or self.can_read_confidential:
            return True
        uid = self.actor.user_id
        return uid is not None and (issue.author_id == uid or uid in set(assignee_ids))

    def can_update_issue(self, issue: Issue) -> bool:
        if self.actor.is_admin or self.level >= AccessLevel.PLANNER:
            return True
        return self.actor.user_id is not None and issue.author_id == self.actor.user_id

    @property
    def can_create_issue(self) -> bool:
        return self.actor.authenticated and self.can_read

    @property
    def can_delete_issue(self) -> bool:
        return self.actor.is_admin or self.level >= AccessLevel.OWNER


def access_for(
    session: Session, actor: Actor, pairs: Iterable[tuple[Project, Namespace]]
) -> dict[int, ProjectAccess]:
    pairs = list(pairs)
    levels = repo.access_levels(session, actor.user_id, pairs) if actor.user_id is not None else {}
    return {p.id: ProjectAccess(p, ns, levels.get(p.id, 0), actor) for p, ns in pairs}


# Projects resolved in this session (one request), per actor and project id, so that a
# request naming the same project twice (a link inside one project) looks it up once. Any
# write in the session forgets them (see _forget_accesses), so they never outlive a change.
_ACCESS_MEMO = "issuegraph.project_accesses"
_PREFETCHED = "issuegraph.prefetched_issues"  # {(project id, iid): issue or None}, read once


def _memo(session: Session, actor: Actor) -> dict[int, ProjectAccess]:
    memo: dict[Actor, dict[int, ProjectAccess]] = session.info.setdefault(_ACCESS_MEMO, {})
    return memo.setdefault(actor, {})


def _load_accesses(
    session: Session, actor: Actor, *, ref: str | int | None = None, ids: Iterable[int] = ()
) -> list[ProjectAccess]:
    memo = _memo(session, actor)
    found = [
        ProjectAccess(p, ns, level, actor)
        for p, ns, level in repo.projects_with_levels(session, actor.user_id, ref=ref, ids=ids)
    ]
    memo.update((access.project.id, access) for access in found)
    return found


def resolve_project(session: Session, actor: Actor, ref: str | int) -> ProjectAccess:
    """A project the caller can read, or NotFound (missing and unreadable look the same)."""
    key = str(ref)
    memo = _memo(session, actor)
    if is_numeric(key):
        number = parse_id(key)
        access = memo.get(number) if number is not None else None
    else:
        access = next((a for a in memo.values() if a.project.full_path.lower() == key.lower()), None)
    if access is None:
        found = _load_accesses(session, actor, ref=ref)
        access = found[0] if found else None
    if access is None or not access.can_read:
        raise NotFound("project_not_found", "404 Project Not Found")
    return access


def resolve_project_and_issue(
    session: Session, actor: Actor, ref: str | int, iid: int, *, also: int | None = None
) -> tuple[ProjectAccess, Issue | None]:
    """resolve_project, and the project's issue `iid` (None if there is none, readable or not):
    one query where resolve_project and a lookup by iid would be two. `also` reads another
    issue of the project in the same query, for the next call that asks for it (a link whose
    ends are in one project: the target's lookup costs no statement)."""
    key = str(ref)
    memo = _memo(session, actor)
    number = parse_id(key)
    known = memo.get(number) if number is not None else None
    if known is not None or abs(iid) > MAX_INT:
        access = resolve_project(session, actor, ref)
        return access, issue_by_iid(session, access.project.id, iid)
    if also is not None and abs(also) > MAX_INT:
        also = None
    found = repo.project_with_issue(session, actor.user_id, ref, iid, also)
    if found is None:
        raise NotFound("project_not_found", "404 Project Not Found")
    project, namespace, level, issue, other = found
    access = ProjectAccess(project, namespace, level, actor)
    memo[project.id] = access
    if also is not None:
        session.info[_PREFETCHED] = {(project.id, also): other}
    if not access.can_read:
        raise NotFound("project_not_found", "404 Project Not Found")
    return access, issue


def issue_by_iid(session: Session, project_id: int, iid: int) -> Issue | None:
    """The project's issue `iid` (readable or not): the one resolve_project_and_issue read ahead
    (`also`), else a query."""
    prefetched: dict[tuple[int, int], Issue | None] | None = session.info.get(_PREFETCHED)
    if prefetched and (project_id, iid) in prefetched:
        return prefetched.pop((project_id, iid))
    return issues_repo.by_iid(session, project_id, iid)


def access_by_project_ids(session: Session, actor: Actor, ids: Iterable[int]) -> dict[int, ProjectAccess]:
    """One query whatever the ids (lists must not cost more when their issues span projects)."""
    wanted = set(ids)
    memo = _memo(session, actor)
    known = {pid: memo[pid] for pid in wanted if pid in memo}
    missing = wanted - known.keys()
    if missing:
        known.update((a.project.id, a) for a in _load_accesses(session, actor, ids=missing))
    return known


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_accesses(session: Session, *_: Any) -> None:
    session.info.pop(_ACCESS_MEMO, None)
    session.info.pop(_PREFETCHED, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_accesses_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info.pop(_ACCESS_MEMO, None)
        state.session.info.pop(_PREFETCHED, None)


# ---------------------------------------------------------------- groups


def _check_path(path: str, field: str = "path") -> None:
    if not path or not PATH_RE.match(path) or path.endswith((".git", ".atom")) or path.startswith("id:"):
        raise Invalid(f"invalid_{field}", f"{field} is invalid", details={"field": field})


def _check_visibility(value: str | None) -> str | None:
    if value is not None and value not in Visibility.ALL:
        raise Invalid(
            "invalid_visibility", "visibility does not have a valid value", details={"field": "visibility"}
        )
    return value


def create_group(
    session: Session,
    actor: Actor,
    *,
    name: str,
    path: str,
    parent_id: int | None = None,
    visibility: str | None = None,
    description: str = "",
) -> Namespace:
    user = actor.require_write()
    _check_path(path)
    _check_visibility(visibility)
    parent = None
    if parent_id is not None:
        parent = session.get(Namespace, parent_id)
        if parent is None or parent.kind != "group" or not can_read_group(session, actor, parent):
            raise NotFound("group_not_found", "404 Group Not Found")
        if not actor.is_admin and repo.group_access_level(session, user.id, parent) < AccessLevel.OWNER:
            raise Forbidden("forbidden", "403 Forbidden")
    full_path = f"{parent.full_path}/{path}" if parent else path
    group = Namespace(
        kind="group",
        name=name or path,
        path=path,
        full_path=full_path,
        parent_id=parent.id if parent else None,
        visibility=visibility or Visibility.PRIVATE,
        description=description or "",
        traversal_ids="",
    )
    try:
        with session.begin_nested():
            session.add(group)
            session.flush()
    except IntegrityError as exc:
        raise Invalid("path_taken", 'Failed to save group {:path=>["has already been taken"]}') from exc
    group.traversal_ids = f"{parent.traversal_ids}/{group.id}" if parent else str(group.id)
    session.add(GroupMember(namespace_id=group.id, user_id=user.id, access_level=AccessLevel.OWNER))
    session.flush()
    return group


def can_read_group(session: Session, actor: Actor, group: Namespace) -> bool:
    if actor.is_admin or group.visibility == Visibility.PUBLIC:
        return True
    if group.visibility == Visibility.INTERNAL and actor.authenticated:
        return True
    if actor.user_id is None:
        return False
    if repo.group_access_level(session, actor.user_id, group) >= AccessLevel.GUEST:
        return True
    # Members of a project inside a private group can see the group (as on GitLab).
    return bool(
        session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .join(Project, Project.id == ProjectMember.project_id)
            .join(Namespace, Namespace.id == Project.namespace_id)
            .where(
                ProjectMember.user_id == actor.user_id,
                repo.in_tree_of(group),
            )
        )
    )


def resolve_group(session: Session, actor: Actor, ref: str | int) -> Namespace:
    group = repo.namespace_by_ref(session, ref)
    if group is None or group.kind != "group" or not can_read_group(session, actor, group):
        raise NotFound("group_not_found", "404 Group Not Found")
    return group


def resolve_group_by_path(session: Session, actor: Actor, full_path: str) -> Namespace:
    """A group the caller can read, by full path (for faces whose paths never carry ids)."""
    group = repo.namespace_by_full_path(session, full_path)
    if group is None or group.kind != "group" or not can_read_group(session, actor, group):
        raise NotFound("group_not_found", "404 Group Not Found")
    return group


GROUP_SORT_COLUMNS: Columns = {"name": Namespace.name, "id": Namespace.id}


def list_groups(session: Session, actor: Actor, *, search: str | None, page: OffsetPage) -> Page[Namespace]:
    """The groups the caller can read, matching `search` in name or path; sort fields `name`, `id`."""
    query = select(Namespace).where(
        Namespace.kind == "group", repo.visible_groups_clause(actor.user_id, actor.is_admin)
    )
    if search:
        query = query.where(contains_text(Namespace.name, search) | contains_text(Namespace.path, search))
    return pagination.fetch(session, query, page, GROUP_SORT_COLUMNS)


# ---------------------------------------------------------------- projects


def create_project(
    session: Session,
    actor: Actor,
    *,
    name: str | None,
    path: str | None,
    namespace_id: int | str | None = None,
    visibility: str | None = None,
    description: str = "",
) -> Project:
    user = actor.require_write()
    if not name and not path:
        raise Invalid("name_missing", "name is missing, path is missing", details={"field": "name"})
    path = path or re.sub(r"[^A-Za-z0-9_.-]+", "-", name or "").strip("-").lower()
    name = name or path
    _check_path(path)
    _check_visibility(visibility)
    if namespace_id in (None, ""):
        namespace = session.scalar(
            select(Namespace).where(Namespace.owner_id == user.id, Namespace.kind == "user")
        )
        if namespace is None:
            raise NotFound("namespace_not_found", "404 Namespace Not Found")
    else:
        namespace = repo.namespace_by_ref(session, namespace_id)
        if namespace is None:
            raise NotFound("namespace_not_found", "404 Namespace Not Found")
        if namespace.kind == "group":
            if not can_read_group(session, actor, namespace):
                raise NotFound("namespace_not_found", "404 Namespace Not Found")
            if (
                not actor.is_admin
                and repo.group_access_level(session, user.id, namespace) < AccessLevel.DEVELOPER
            ):
                raise Forbidden("forbidden", "403 Forbidden")
        elif namespace.owner_id != user.id and not actor.is_admin:
            raise Forbidden("forbidden", "403 Forbidden")
    project = Project(
        namespace_id=namespace.id,
        name=name,
        path=path,
        full_path=f"{namespace.full_path}/{path}",
        description=description or "",
        visibility=visibility or Visibility.PRIVATE,
        creator_id=user.id,
        last_issue_iid=0,
    )
    try:
        with session.begin_nested():
            session.add(project)
            session.flush()
    except IntegrityError as exc:
        raise Invalid("path_taken", 'Failed to save project {:path=>["has already been taken"]}') from exc
    if (
        namespace.kind == "group"
        and repo.group_access_level(session, user.id, namespace) < AccessLevel.MAINTAINER
    ) or (namespace.kind == "user" and namespace.owner_id != user.id):
        session.add(
            ProjectMember(project_id=project.id, user_id=user.id, access_level=AccessLevel.MAINTAINER)
        )
    session.flush()
    return project


def list_projects(
    session: Session,
    actor: Actor,
    *,
    search: str | None = None,
    membership: bool = False,
    owned: bool = False,
    visibility: str | None = None,
    namespace: Namespace | None = None,
    include_subgroups: bool = False,
    page: OffsetPage,
) -> Page[tuple[Project, Namespace]]:
    """The projects the caller can read, with their namespaces, filtered; sort fields in
    PROJECT_SORT_COLUMNS (`created_at`, `updated_at`, `name`, `path`, `id`)."""
    query = (
        select(Project, Namespace)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .where(repo.visible_projects_clause(actor.user_id, actor.is_admin))
    )
    if search:
        query = query.where(contains_text(Project.name, search) | contains_text(Project.path, search))
    if visibility:
        query = query.where(Project.visibility == _check_visibility(visibility))
    if (membership or owned) and actor.user_id is not None:
        query = query.where(repo.visible_projects_clause(actor.user_id, False))
        query = query.where(
            Project.id.in_(select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id))
            | Project.namespace_id.in_(_member_namespaces(actor.user_id))
        )
    if namespace is not None:
        if include_subgroups:
            query = query.where(repo.in_tree_of(namespace))
        else:
            query = query.where(Project.namespace_id == namespace.id)
    return pagination.fetch(session, query, page, PROJECT_SORT_COLUMNS, scalars=False)


def namespace_projects_query(actor: Actor, namespace: Namespace) -> Select[Project, Namespace]:
    """The readable projects directly in a namespace, unordered (`list_namespace_projects` pages it)."""
    return (
        select(Project, Namespace)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .where(Project.namespace_id == namespace.id)
        .where(repo.visible_projects_clause(actor.user_id, actor.is_admin))
    )


def _member_namespaces(user_id: int) -> Any:
    g = Namespace.__table__.alias("mg")
    n = Namespace.__table__.alias("mn")
    return (
        select(n.c.id)
        .select_from(n.join(g, (n.c.id == g.c.id) | n.c.traversal_ids.like(g.c.traversal_ids + "/%")))
        .join(GroupMember, (GroupMember.namespace_id == g.c.id) & (GroupMember.user_id == user_id))
        .union(select(Namespace.id).where(Namespace.owner_id == user_id))
    )


def update_project(session: Session, access: ProjectAccess, changes: dict[str, Any]) -> Project:
    access.actor.require_write()
    if not access.can_admin:
        raise Forbidden("forbidden", "403 Forbidden")
    project = access.project
    if changes.get("name"):
        project.name = str(changes["name"])
    if "description" in changes and changes["description"] is not None:
        project.description = str(changes["description"])
    if "visibility" in changes and changes["visibility"] is not None:
        project.visibility = _check_visibility(str(changes["visibility"])) or project.visibility
    if "close_policy" in changes and changes["close_policy"] is not None:
        if changes["close_policy"] not in CLOSE_POLICIES:
            raise Invalid("invalid_close_policy", "close_policy does not have a valid value")
        project.close_policy = str(changes["close_policy"])
    if "close_duplicates" in changes and changes["close_duplicates"] is not None:
        project.close_duplicates = bool(changes["close_duplicates"])
    if "path" in changes and changes["path"] and changes["path"] != project.path:
        _check_path(str(changes["path"]))
        project.path = str(changes["path"])
        project.full_path = f"{access.namespace.full_path}/{project.path}"
    project.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Invalid("path_taken", 'Failed to save project {:path=>["has already been taken"]}') from exc
    return project


def delete_project(session: Session, access: ProjectAccess) -> None:
    access.actor.require_write()
    if not access.can_delete_project:
        raise Forbidden("forbidden", "403 Forbidden")
    session.delete(access.project)
    session.flush()


# ---------------------------------------------------------------- members


def _check_level(level: Any) -> int:
    try:
        value = int(level)
    except (TypeError, ValueError) as exc:
        raise Invalid("invalid_access_level", "access_level does not have a valid value") from exc
    if value not in VALID_ACCESS_LEVELS:
        raise Invalid("invalid_access_level", "access_level does not have a valid value")
    return value


def add_project_member(
    session: Session, access: ProjectAccess, user_id: int, access_level: Any
) -> tuple[User, int]:
    access.actor.require_write()
    level = _check_level(access_level)
    if not access.can_admin:
        raise Forbidden("forbidden", "403 Forbidden")
    if level == AccessLevel.OWNER and not (access.actor.is_admin or access.level >= AccessLevel.OWNER):
        raise Forbidden("forbidden", "403 Forbidden")
    user = accounts_repo.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    if session.get(ProjectMember, (access.project.id, user.id)) is not None:
        raise Conflict("member_exists", "Member already exists")
    session.add(ProjectMember(project_id=access.project.id, user_id=user.id, access_level=level))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("member_exists", "Member already exists") from exc
    return user, level


def remove_project_member(session: Session, access: ProjectAccess, user_id: int) -> None:
    access.actor.require_write()
    if not access.can_admin and access.actor.user_id != user_id:
        raise Forbidden("forbidden", "403 Forbidden")
    member = session.get(ProjectMember, (access.project.id, user_id))
    if member is None:
        raise NotFound("member_not_found", "404 Member Not Found")
    session.delete(member)
    session.flush()


def list_project_members(session: Session, access: ProjectAccess) -> list[tuple[User, int]]:
    members = repo.project_members(session, access.project.id)
    users = accounts_repo.users_by_id(session, [m.user_id for m in members])
    return [(users[m.user_id], m.access_level) for m in sorted(members, key=lambda m: m.user_id)]


def add_group_member(
    session: Session, actor: Actor, group: Namespace, user_id: int, access_level: Any
) -> tuple[User, int]:
    me = actor.require_write()
    level = _check_level(access_level)
    my_level = repo.group_access_level(session, me.id, group)
    if not actor.is_admin and my_level < AccessLevel.MAINTAINER:
        raise Forbidden("forbidden", "403 Forbidden")
    if level == AccessLevel.OWNER and not (actor.is_admin or my_level >= AccessLevel.OWNER):
        raise Forbidden("forbidden", "403 Forbidden")
    user = accounts_repo.get_user(session, user_id)
    if user is None:
        raise NotFound("user_not_found", "404 User Not Found")
    if session.get(GroupMember, (group.id, user.id)) is not None:
        raise Conflict("member_exists", "Member already exists")
    session.add(GroupMember(namespace_id=group.id, user_id=user.id, access_level=level))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("member_exists", "Member already exists") from exc
    return user, level


def remove_group_member(session: Session, actor: Actor, group: Namespace, user_id: int) -> None:
    me = actor.require_write()
    if (
        not actor.is_admin
        and me.id != user_id
        and repo.group_access_level(session, me.id, group) < AccessLevel.MAINTAINER
    ):
        raise Forbidden("forbidden", "403 Forbidden")
    member = session.get(GroupMember, (group.id, user_id))
    if member is None:
        raise NotFound("member_not_found", "404 Member Not Found")
    session.execute(
        delete(GroupMember).where(GroupMember.namespace_id == group.id, GroupMember.user_id == user_id)
    )


def list_group_members(session: Session, group: Namespace) -> list[tuple[User, int]]:
    members = repo.group_members(session, group.id)
    users = accounts_repo.users_by_id(session, [m.user_id for m in members])
    return [(users[m.user_id], m.access_level) for m in sorted(members, key=lambda m: m.user_id)]


PROJECT_SORT_COLUMNS: Columns = {
    "path": Project.path,
    "name": Project.name,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
    "id": Project.id,
}


def list_namespace_projects(
    session: Session, actor: Actor, namespace: Namespace, page: PageRequest
) -> Page[tuple[Project, Namespace]]:
    """One page of the projects directly in a namespace that the caller can read."""
    return pagination.fetch(
        session,
        namespace_projects_query(actor, namespace),
        page,
        PROJECT_SORT_COLUMNS,
        values=lambda row: pagination.attributes(row[0], page.sort),
        scalars=False,
    )
