"""All queries about namespaces, groups, projects and memberships."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from issuegraph.db.models import GroupMember, Namespace, Project, ProjectMember


def ancestor_ids(namespace: Namespace) -> list[int]:
    return [int(x) for x in namespace.traversal_ids.split("/") if x]


def project_with_namespace(session: Session, ref: str | int) -> tuple[Project, Namespace] | None:
    """Find a project by numeric id or full path."""
    query = select(Project, Namespace).join(Namespace, Namespace.id == Project.namespace_id)
    key = str(ref)
    if key.isdigit():
        query = query.where(Project.id == int(key))
    else:
        query = query.where(func.lower(Project.full_path) == key.lower())
    row = session.execute(query).first()
    return (row[0], row[1]) if row else None


def projects_with_namespaces(session: Session, ids: Iterable[int]) -> dict[int, tuple[Project, Namespace]]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Project, Namespace)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .where(Project.id.in_(wanted))
    ).all()
    return {p.id: (p, n) for p, n in rows}


def namespace_by_ref(session: Session, ref: str | int) -> Namespace | None:
    key = str(ref)
    if key.isdigit():
        return session.get(Namespace, int(key))
    return session.scalar(select(Namespace).where(func.lower(Namespace.full_path) == key.lower()))


def access_levels(
    session: Session, user_id: int, projects: Iterable[tuple[Project, Namespace]]
) -> dict[int, int]:
    """Highest access level of a user in each project (direct or through any ancestor group)."""
    pairs = list(projects)
    if not pairs:
        return {}
    project_ids = {p.id for p, _ in pairs}
    ns_ids: set[int] = set()
    for _, ns in pairs:
        ns_ids.update(ancestor_ids(ns))
    direct = dict(
        session.execute(
            select(ProjectMember.project_id, ProjectMember.access_level).where(
                ProjectMember.user_id == user_id, ProjectMember.project_id.in_(project_ids)
            )
        )
        .all()
    )
    group_levels: dict[int, int] = {}
    if ns_ids:
        group_levels = dict(
            session.execute(
                select(GroupMember.namespace_id, GroupMember.access_level).where(
                    GroupMember.user_id == user_id, GroupMember.namespace_id.in_(ns_ids)
                )
            )
            .all()
        )
    levels: dict[int, int] = {}
    for project, ns in pairs:
        level = direct.get(project.id, 0)
        for nid in ancestor_ids(ns):
            level = max(level, group_levels.get(nid, 0))
        if ns.kind == "user" and ns.owner_id == user_id:
            level = 50
        levels[project.id] = level
    return levels


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
