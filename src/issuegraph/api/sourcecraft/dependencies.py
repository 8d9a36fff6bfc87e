"""Each check of a SourceCraft request as a dependency, so a route's signature lists them in the
spec's order: token (401), then the request's shape (400), then the path (404). The service call
in the route body brings the rest (409, 403, domain rules)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_session, require_user
from issuegraph.api.sourcecraft import lookups
from issuegraph.api.sourcecraft.filters import parse_issue_filter
from issuegraph.api.sourcecraft.pagination import Kind, PageRequest, page_request
from issuegraph.api.sourcecraft.params import parse_body, silent_param
from issuegraph.api.sourcecraft.schemas import Body
from issuegraph.db.models import Issue, Namespace
from issuegraph.domain.errors import Invalid, NotFound
from issuegraph.issues.service import IssueFilters
from issuegraph.projects.service import ProjectAccess


class _Slug(Convertor[str]):
    """A slug segment; never one that starts with `id:`, so the `id:` routes always win (spec §3)."""

    regex = r"(?!id:)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("scslug", _Slug())

ORG = "/orgs/{org_slug:scslug}"
ORG_ID = "/orgs/id:{org_id}"
REPO = "/repos/{org_slug:scslug}/{repo_slug:scslug}"
REPO_ID = "/repos/id:{repo_id}"
ISSUE = REPO + "/issues/{issue_slug:scslug}"
ISSUE_ID = "/issues/id:{issue_id}"

Authenticated = Depends(require_user)
DB = Depends(get_session)
Silent = Depends(silent_param)


def json_body(model: type[Body]) -> Callable[[Request], Coroutine[Any, Any, Body]]:
    """The body parsed into `model`, then checked for the shape rules the model carries."""

    async def dependency(request: Request) -> Body:
        body = parse_body(await request.body(), model)
        body.check_shape()
        return body

    return dependency


def page(
    kinds: Mapping[str, Kind], *, default_sort: str = "created_at", filtered: bool = False
) -> Callable[[Request], PageRequest]:
    def dependency(request: Request) -> PageRequest:
        text = request.query_params.get("filter", "") if filtered else ""
        return page_request(request, kinds, default_sort=default_sort, extra=text)

    return dependency


def issue_filters(request: Request) -> IssueFilters:
    return parse_issue_filter(request.query_params.get("filter"))


def no_filter(request: Request) -> None:
    """Lists whose `filter` language issuegraph does not implement say so instead of ignoring it."""
    if (request.query_params.get("filter") or "").strip():
        raise Invalid(
            "filter_unsupported", "filter is not supported on this list", details={"field": "filter"}
        )


def _path_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = request.path_params
    if any("\x00" in value for value in params.values()):  # names nothing, and PostgreSQL refuses it
        raise NotFound("route_not_found", "no such object")
    return params


def path_org(request: Request, actor: Actor = Authenticated, session: Session = DB) -> Namespace:
    params = _path_params(request)
    if "org_id" in params:
        return lookups.org_by_id(session, actor, params["org_id"])
    return lookups.org_by_slug(session, actor, params["org_slug"])


def path_repo(request: Request, actor: Actor = Authenticated, session: Session = DB) -> ProjectAccess:
    params = _path_params(request)
    if "repo_id" in params:
        return lookups.repo_by_id(session, actor, params["repo_id"])
    return lookups.repo_by_slug(session, actor, params["org_slug"], params["repo_slug"])


def path_issue(
    request: Request, actor: Actor = Authenticated, session: Session = DB
) -> tuple[Issue, ProjectAccess]:
    return resolve_path_issue(request, actor, session)


def resolve_path_issue(
    request: Request, actor: Actor, session: Session, also: int | None = None
) -> tuple[Issue, ProjectAccess]:
    """path_issue; `also` as in lookups.issue_by_slug."""
    params = _path_params(request)
    if "issue_id" in params:
        return lookups.issue_by_id(session, actor, params["issue_id"])
    return lookups.issue_by_slug(
        session, actor, params["org_slug"], params["repo_slug"], params["issue_slug"], also
    )
