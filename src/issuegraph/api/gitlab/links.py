"""GitLab issue links (`/projects/:id/issues/:iid/links`); the rules are in issuegraph.links."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import Params, resource_router
from issuegraph.api.gitlab.params import (
    iid_path,
    project_ref,
    read_params,
    require,
)
from issuegraph.api.responses import json_response
from issuegraph.db.models import Issue
from issuegraph.domain.errors import Invalid, NotFound
from issuegraph.domain.ids import parse_id
from issuegraph.domain.links import from_gitlab_name
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues
from issuegraph.links import service as links
from issuegraph.projects import service as projects

router = resource_router()


def _url_issue(
    session: Session, actor: Actor, project_id: str, issue_iid: str
) -> tuple[Issue, projects.ProjectAccess]:
    actor.require_user()
    return issues.resolve_issue_in(session, actor, project_ref(project_id), iid_path(issue_iid))


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/links", responses={200: {"model": list[schemas.RelatedIssue]}}
)
def list_links(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    seen = links.list_links(session, actor, issue)
    views = {v.issue.id: v for v in issues_repo.load_views(session, [s.other for s in seen])}
    return json_response([ser.related_issue(views[s.other.id], s.link, s.link_type) for s in seen])


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/links",
    status_code=201,
    responses={201: {"model": schemas.IssueLink}},
    openapi_extra=schemas.body_of(schemas.LinkCreate),
)
def create_link(
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    require(params, "target_project_id", "target_issue_iid")
    raw_type = params.get("link_type")
    link_type = (
        from_gitlab_name(str(raw_type)) if raw_type not in (None, "") else from_gitlab_name("relates_to")
    )
    if link_type is None or isinstance(raw_type, list | dict):
        raise Invalid("invalid_parameter", "link_type does not have a valid value")
    target_ref, target_iid = str(params["target_project_id"]), str(params["target_issue_iid"])
    target_number = parse_id(target_iid)
    same_project = target_ref == project_id  # both ends read in one statement
    source, access = issues.resolve_issue_in(
        session, actor, project_ref(project_id), iid, also=target_number if same_project else None
    )
    if target_number is None:
        projects.resolve_project(session, actor, target_ref)  # an unknown project is still 404 Project
        raise NotFound("issue_not_found", "404 Not found")
    target, target_access = issues.resolve_issue_in(session, actor, target_ref, target_number)
    accesses = {access.project.id: access, target_access.project.id: target_access}
    link = links.create_link(session, actor, source, target, link_type, accesses=accesses)
    return _link_response(session, link, 201, [source, target])


def _link_response(session: Session, link: Any, status: int, ends: list[Issue] | None = None) -> Response:
    """The link and both its issues (`ends`, when the caller holds them already)."""
    if ends is None:
        ends = list(issues_repo.by_ids(session, [link.source_id, link.target_id]).values())
    views = {v.issue.id: v for v in issues_repo.load_views(session, ends)}
    return json_response(ser.issue_link(link, views[link.source_id], views[link.target_id]), status)


def _link_id(value: str) -> int:
    number = parse_id(value)
    if number is None:
        raise NotFound("link_not_found", "404 Not found")
    return number


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/links/{issue_link_id}",
    responses={200: {"model": schemas.IssueLink}},
)
def get_link(
    project_id: str,
    issue_iid: str,
    issue_link_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    link, source, target = links.resolve_link(session, actor, issue, _link_id(issue_link_id))
    return _link_response(session, link, 200, [source, target])


@router.delete(
    "/projects/{project_id}/issues/{issue_iid}/links/{issue_link_id}",
    responses={200: {"model": schemas.IssueLink}},
)
def delete_link(
    project_id: str,
    issue_iid: str,
    issue_link_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    issue, _ = _url_issue(session, actor, project_id, issue_iid)
    link, source, target = links.resolve_link(session, actor, issue, _link_id(issue_link_id))
    views = {v.issue.id: v for v in issues_repo.load_views(session, [source, target])}
    body = ser.issue_link(link, views[source.id], views[target.id])  # as it was before deletion
    links.delete_link(session, actor, link, source, target)
    return json_response(body, 200)


# Issues and their links are most of the traffic. Every route under this prefix has at least
