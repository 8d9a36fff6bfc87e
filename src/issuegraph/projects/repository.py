"""All queries about namespaces, groups, projects and memberships."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, String, and_, bindparam, cast, false, func, or_, select, true
from sqlalchemy.orm import Session

from issuegraph.db.models import GroupMember, Issue, Namespace, Project, ProjectMember
from issuegraph.db.sql import in_ids
from issuegraph.domain.ids import is_numeric, parse_id


def paths_by_id(session: Session, project_ids: Iterable[int]) -> dict[int, str]:
    """Each project's full path, from its namespace's current path (the issue picker's references)."""
    query = (
        select(Project.id, Namespace.full_path + "/" + Project.path)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .where(Project.id.in_(set(project_ids)))
    )
    return {int(project_id): str(path) for project_id, path in session.execute(query).all()}


def ancestor_ids(namespace: Namespace) -> list[int]:
    return [int(x) for x in namespace.traversal_ids.split("/") if x]


def in_tree_of(group: Namespace) -> ColumnElement[bool]:
    """A `Namespace` row is the group or one of its subgroups (at any depth)."""
    return or_(Namespace.id == group.id, Namespace.traversal_ids.like(group.traversal_ids + "/%"))


def namespace_by_ref(session: Session, ref: str | int) -> Namespace | None:
    key = str(ref)
    if is_numeric(key):
        number = parse_id(key)
        return session.get(Namespace, number) if number is not None else None
    return session.scalar(select(Namespace).where(func.lower(Namespace.full_path) == key.lower()))


def namespace_by_full_path(session: Session, full_path: str) -> Namespace | None:
    """Find a namespace by its full path only: a numeric path is a path, never an id."""
    return session.scalar(select(Namespace).where(func.lower(Namespace.full_path) == full_path.lower()))


# Correlated to Project and Namespace: the user's direct level, and the best through a group.
_DIRECT_LEVEL = (
    select(func.max(ProjectMember.access_level))
    .where(ProjectMember.project_id == Project.id, ProjectMember.user_id == bindparam("user_id"))
    .scalar_subquery()
)
# traversal_ids is "1/5/9": group 5 is an ancestor because "/1/5/9/" contains "/5/".
_GROUP_LEVEL = (
    select(func.max(GroupMember.access_level))
    .where(
        GroupMember.user_id == bindparam("user_id"),
        ("/" + Namespace.traversal_ids + "/").like("%/" + cast(GroupMember.namespace_id, String) + "/%"),
    )
    .scalar_subquery()
)
_WITH_NAMESPACE = select(Project, Namespace).join(Namespace, Namespace.id == Project.namespace_id)
_PROJECT_BY = {
    "id": Project.id == bindparam("id"),
    "path": func.lower(Project.full_path) == bindparam("path"),
    "ids": in_ids(Project.id),
}
# Built once: a hot path should not pay for building and hashing the same statement per request.
_PROJECTS = {by: _WITH_NAMESPACE.where(condition) for by, condition in _PROJECT_BY.items()}
_PROJECTS_WITH_LEVELS = {
    by: _WITH_NAMESPACE.add_columns(_DIRECT_LEVEL, _GROUP_LEVEL).where(condition)
    for by, condition in _PROJECT_BY.items()
}
# The same, with the project's issue :iid (or NULLs): an issue's URL names both.
# A second iid (`also`, the iid itself when there is none) reads a link's other end with it.
_ISSUE_OF_PROJECT = and_(Issue.project_id == Project.id, Issue.iid.in_([bindparam("iid"), bindparam("also")]))
_WITH_ISSUE = {
    (by, levels): (_PROJECTS_WITH_LEVELS if levels else _PROJECTS)[by]
    .add_columns(Issue)
    .outerjoin(Issue, _ISSUE_OF_PROJECT)
    for by in ("id", "path")
    for levels in (False, True)
}
_LEVELS = (
    select(Project.id, _DIRECT_LEVEL, _GROUP_LEVEL)
    .join(Namespace, Namespace.id == Project.namespace_id)
    .where(_PROJECT_BY["ids"])
)


def _level(namespace: Namespace, user_id: int, direct: int | None, through_group: int | None) -> int:
    if namespace.kind == "user" and namespace.owner_id == user_id:
        return 50
    return max(direct or 0, through_group or 0)


def projects_with_levels(
    session: Session, user_id: int | None, *, ref: str | int | None = None, ids: Iterable[int] = ()
) -> list[tuple[Project, Namespace, int]]:
    """The project named by `ref` (numeric id or full path), or those with `ids`, each with its
    namespace and the user's access level, in one query."""
    params: dict[str, object]
    if ref is None:
        by, params = "ids", {"ids": list(ids)}
    elif is_numeric(str(ref)):
        number = parse_id(str(ref))
        if number is None:
            return []  # no such id
        by, params = "id", {"id": number}
    else:
        by, params = "path", {"path": str(ref).lower()}
    if user_id is None:
        return [(p, ns, 0) for p, ns in session.execute(_PROJECTS[by], params)]
    rows = session.execute(_PROJECTS_WITH_LEVELS[by], {**params, "user_id": user_id})
    return [(p, ns, _level(ns, user_id, d, g)) for p, ns, d, g in rows]


def project_with_issue(
    session: Session, user_id: int | None, ref: str | int, iid: int, also: int | None = None
) -> tuple[Project, Namespace, int, Issue | None, Issue | None] | None:
    """As projects_with_levels for one `ref`, with the project's issue `iid` (None if it has
    none) in the same query, and its issue `also` when asked (the other end of a link in the
    same project). Both iids must fit the INTEGER column (callers check MAX_INT)."""
    key = str(ref)
    params: dict[str, object]
    if is_numeric(key):
        number = parse_id(key)
        if number is None:
            return None
        by, params = "id", {"id": number}
    else:
        by, params = "path", {"path": key.lower()}
    params.update(iid=iid, also=iid if also is None else also)
    rows = session.execute(_WITH_ISSUE[by, user_id is not None], {**params, "user_id": user_id}).all()
    if not rows:
        return None
    issues = {row[-1].iid: row[-1] for row in rows if row[-1] is not None}
    project, namespace = rows[0][0], rows[0][1]
    level = 0 if user_id is None else _level(namespace, user_id, rows[0][2], rows[0][3])
    return project, namespace, level, issues.get(iid), None if also is None else issues.get(also)


def access_levels(
    session: Session, user_id: int, projects: Iterable[tuple[Project, Namespace]]
) -> dict[int, int]:
    """Highest access level of a user in each project (direct or through any ancestor group)."""
    pairs = {p.id: ns for p, ns in projects}
    if not pairs:
        return {}
    rows = session.execute(_LEVELS, {"ids": list(pairs), "user_id": user_id})
    levels = {pid: _level(pairs[pid], user_id, d, g) for pid, d, g in rows}
    # A project gone from the database meanwhile keeps only the owner rule.
    return {pid: levels.get(pid, _level(ns, user_id, None, None)) for pid, ns in pairs.items()}


def group_access_level(session: Session, user_id: int, namespace: Namespace) -> int:
    ids = ancestor_ids(namespace)
    level = session.scalar(
        select(func.max(GroupMember.access_level)).where(
            GroupMember.user_id == user_id, GroupMember.namespace_id.in_(ids)
        )
    )
    return int(level or 0)


def visible_projects_clause(user_id: int | None, is_admin: bool) -> ColumnElement[bool]:
    """SQL condition: the project is readable by this user."""
    if is_admin:
        return true()
    if user_id is None:
        return Project.visibility == "public"
    g = Namespace.__table__.alias("member_group")
    ns = Namespace.__table__.alias("project_ns")
    in_member_group = (
        select(ns.c.id)
        .select_from(ns.join(g, or_(ns.c.id == g.c.id, ns.c.traversal_ids.like(g.c.traversal_ids + "/%"))))
        .join(GroupMember, and_(GroupMember.namespace_id == g.c.id, GroupMember.user_id == user_id))
    )
    own_ns = select(Namespace.id).where(Namespace.owner_id == user_id)
    return or_(
        Project.visibility.in_(("public", "internal")),
        Project.id.in_(select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)),
        Project.namespace_id.in_(in_member_group),
        Project.namespace_id.in_(own_ns),
    )


def visible_groups_clause(user_id: int | None, is_admin: bool) -> ColumnElement[bool]:
    if is_admin:
        return true()
    if user_id is None:
        return Namespace.visibility == "public"
    g = Namespace.__table__.alias("member_group")
    member_ns = (
        select(Namespace.id)
        .select_from(Namespace)
        .join(g, or_(Namespace.id == g.c.id, Namespace.traversal_ids.like(g.c.traversal_ids + "/%")))
        .join(GroupMember, and_(GroupMember.namespace_id == g.c.id, GroupMember.user_id == user_id))
    )
    return or_(Namespace.visibility.in_(("public", "internal")), Namespace.id.in_(member_ns))


def project_members(session: Session, project_id: int) -> list[ProjectMember]:
    return list(session.scalars(select(ProjectMember).where(ProjectMember.project_id == project_id)))


def group_members(session: Session, namespace_id: int) -> list[GroupMember]:
    return list(session.scalars(select(GroupMember).where(GroupMember.namespace_id == namespace_id)))


def nothing() -> ColumnElement[bool]:
    return false()
