"""Groups, projects and memberships for an import: found by path or created by the services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.db.models import GroupMember, Namespace, Project, ProjectMember
from issuegraph.domain.errors import Invalid
from issuegraph.domain.roles import VALID_ACCESS_LEVELS, Visibility
from issuegraph.projects import repository as repo
from issuegraph.projects.service import create_group, create_project


def import_group(
    session: Session,
    actor: Actor,
    *,
    path: str,
    name: str,
    parent: Namespace | None,
    visibility: str | None,
    description: str | None,
) -> tuple[Namespace, bool]:
    """The group at parent/path, created if missing, name, visibility and description as given;
    (group, created)."""
    actor.require_admin()
    full_path = f"{parent.full_path}/{path}" if parent else path
    group = repo.namespace_by_full_path(session, full_path)
    if group is not None and group.kind != "group":
        raise Invalid("path_taken", f"{full_path} is a user's namespace here")
    created = group is None
    if group is None:
        group = create_group(
            session,
            actor,
            name=name or path,
            path=path,
            parent_id=parent.id if parent else None,
            visibility=_visibility(visibility),
            description=description or "",
        )
    else:
        group.name = name or group.name
        group.visibility = _visibility(visibility) or group.visibility
        group.description = description if description is not None else group.description
    session.flush()
    return group, created


def import_project(
    session: Session,
    actor: Actor,
    *,
    namespace: Namespace,
    path: str,
    name: str,
    visibility: str | None,
    description: str | None,
    created_at: datetime | None,
) -> tuple[Project, bool]:
    """The project at namespace/path, created if missing; (project, created)."""
    actor.require_admin()
    project = session.scalar(select(Project).where(Project.full_path == f"{namespace.full_path}/{path}"))
    created = project is None
    if project is None:
        project = create_project(
            session,
            actor,
            name=name,
            path=path,
            namespace_id=namespace.id,
            visibility=_visibility(visibility),
            description=description or "",
        )
    else:
        project.name = name or project.name
        project.visibility = _visibility(visibility) or project.visibility
        project.description = description if description is not None else project.description
    if created_at is not None:
        project.created_at = created_at
    session.flush()
    return project, created


def _visibility(value: str | None) -> str | None:
    return value if value in Visibility.ALL else None


def import_member(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    level: int,
    project: Project | None = None,
    group: Namespace | None = None,
) -> bool:
    """Give the user this access level in the project or group; True if anything changed."""
    actor.require_admin()
    if level not in VALID_ACCESS_LEVELS:
        raise Invalid("invalid_access_level", f"access level {level} is not one issuegraph knows")
    member: ProjectMember | GroupMember | None
    if project is not None:
        member = session.get(ProjectMember, (project.id, user_id))
        if member is None:
            session.add(ProjectMember(project_id=project.id, user_id=user_id, access_level=level))
            session.flush()
            return True
    elif group is not None:
        member = session.get(GroupMember, (group.id, user_id))
        if member is None:
            session.add(GroupMember(namespace_id=group.id, user_id=user_id, access_level=level))
            session.flush()
            return True
    else:
        raise ValueError("a project or a group")
    if member.access_level == level:
        return False
    member.access_level = level
    session.flush()
    return True
