"""From a path to the domain object it names, in the spec's order: organization, repository, issue.

Both addressing forms (spec §3) end in the same service calls. Anything missing or unreadable
is NotFound; a value that cannot be an id or a canonical issue number names nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.sourcecraft.params import id_of, slug_of_issue
from issuegraph.db.models import Issue, Namespace
from issuegraph.domain.errors import DomainError
from issuegraph.issues import service as issues
from issuegraph.projects import service as projects
from issuegraph.projects.service import ProjectAccess


def org_by_slug(session: Session, actor: Actor, org_slug: str) -> Namespace:
    return projects.resolve_group_by_path(session, actor, org_slug)


def org_by_id(session: Session, actor: Actor, org_id: str) -> Namespace:
    return projects.resolve_group(session, actor, id_of(org_id, "group"))


def repo_by_slug(session: Session, actor: Actor, org_slug: str, repo_slug: str) -> ProjectAccess:
    # A repository is `<org>/<repo>`: one namespace level, so nested projects have only the id: form.
    return projects.resolve_project(session, actor, f"{org_slug}/{repo_slug}")


def repo_by_id(session: Session, actor: Actor, repo_id: str) -> ProjectAccess:
    return projects.resolve_project(session, actor, id_of(repo_id, "project"))


def issue_by_slug(
    session: Session, actor: Actor, org_slug: str, repo_slug: str, issue_slug: str, also: int | None = None
) -> tuple[Issue, ProjectAccess]:
    """The issue a path names; `also` reads another issue of the repository in the same query
    (a link target named by slug, looked up next by issue_in_repo)."""
    try:
        iid = slug_of_issue(issue_slug)
    except DomainError:
        repo_by_slug(session, actor, org_slug, repo_slug)  # an unknown repository is reported first
        raise
    # A repository is `<org>/<repo>`: its project and the issue are read in one query.
    return issues.resolve_issue_in(session, actor, f"{org_slug}/{repo_slug}", iid, also=also)


def issue_by_id(session: Session, actor: Actor, issue_id: str) -> tuple[Issue, ProjectAccess]:
    return issues.resolve_issue_by_id(session, actor, id_of(issue_id, "issue"))


def issue_in_repo(session: Session, access: ProjectAccess, issue_slug: str) -> Issue:
    """A link target named by slug: looked up in the path issue's repository (spec §7.1)."""
    return issues.resolve_issue(session, access, slug_of_issue(issue_slug))
