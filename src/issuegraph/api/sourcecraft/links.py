"""Issue links (spec §4, §7): list and create in both addressing forms, delete by id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft import lookups
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.dependencies import (
    DB,
    ISSUE,
    ISSUE_ID,
    Authenticated,
    Silent,
    json_body,
    page,
    path_issue,
    resolve_path_issue,
)
from issuegraph.api.sourcecraft.pagination import PageRequest
from issuegraph.api.sourcecraft.params import MAX_SLUG, canonical_number, id_of
from issuegraph.api.sourcecraft.schemas import CreateLinkBody
from issuegraph.db.models import Issue
from issuegraph.db.pagination import attributes, keyset_list
from issuegraph.domain.links import LinkType
from issuegraph.links import service as links
from issuegraph.links.service import SeenLink
from issuegraph.projects.service import ProjectAccess

router = APIRouter()

LINK_SORT: dict[str, Any] = {"created_at": "datetime", "updated_at": "datetime", "id": "int"}


@router.get(ISSUE + "/issue_links")
@router.get(ISSUE_ID + "/issue_links")
def list_issue_links(
    actor: Actor = Authenticated,
    page_request: PageRequest = Depends(page(LINK_SORT)),
    path: tuple[Issue, ProjectAccess] = Depends(path_issue),
    session: Session = DB,
) -> Response:
    issue, _ = path
    seen = links.list_links(session, actor, issue)
    wanted = page_request.keyset()
    found = keyset_list(seen, wanted, lambda s: attributes(s.link, wanted.sort))
    items, token = found.rows, page_request.token(found)
    authors = accounts_repo.users_by_id(session, [s.link.author_id for s in items])
    return json_response(ser.envelope("links", [_seen(s, issue, authors) for s in items], token))


def _seen(s: SeenLink, issue: Issue, authors: dict[int, Any]) -> dict[str, Any]:
    return ser.link(s.link, issue, s.other, s.link_type, authors.get(s.link.author_id or 0))


@router.post(ISSUE + "/issue_links", status_code=201)
@router.post(ISSUE_ID + "/issue_links", status_code=201)
def create_issue_link(
    request: Request,
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: CreateLinkBody = Depends(json_body(CreateLinkBody)),
    session: Session = DB,
) -> Response:
    # The path's issue first (its 404 comes before the body's target errors), read in one
    # statement with a target named by slug, which is in the same repository.
    slug = body.target_issue_slug if not body.target_issue_id else None
    issue, access = resolve_path_issue(request, actor, session, also=canonical_number(slug, MAX_SLUG))
    by, value = body.target()
    if by == "id":
        target, target_access = lookups.issue_by_id(session, actor, value)
    else:
        target, target_access = lookups.issue_in_repo(session, access, value), access
    link_type = body.link_type or LinkType.RELATED_TO
    accesses = {access.project.id: access, target_access.project.id: target_access}
    row = links.create_link(session, actor, issue, target, link_type, silent=silent, accesses=accesses)
    return json_response(ser.link(row, issue, target, link_type, actor.user), 201)


@router.delete("/issue_links/id:{issue_link_id}", status_code=204)
def delete_issue_link(
    issue_link_id: str, actor: Actor = Authenticated, silent: bool = Silent, session: Session = DB
) -> Response:
    row, source, target = links.resolve_link_by_id(session, actor, id_of(issue_link_id, "link"))
    links.delete_link(session, actor, row, source, target, silent=silent)
    return Response(status_code=204)
