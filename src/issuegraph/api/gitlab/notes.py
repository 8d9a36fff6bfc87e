"""GitLab notes (comments) of an issue."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import Params, resource_router
from issuegraph.api.gitlab.pagination import (
    offset_headers,
    page_of,
)
from issuegraph.api.gitlab.params import (
    iid_path,
    project_ref,
    read_params,
    require,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.pagination import OffsetPage, sort_keys
from issuegraph.domain.errors import Invalid
from issuegraph.issues import service as issues

router = resource_router()


@router.get(
    "/projects/{project_id}/issues/{issue_iid}/notes",
    responses={200: {"model": list[schemas.Note]}},
    openapi_extra=schemas.query(sort={"type": "string", "enum": ["asc", "desc"]}, **schemas.PAGE),
)
def list_notes(
    request: Request,
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    iid = iid_path(issue_iid)
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    sort = str_param(params, "sort") or "desc"
    if sort not in ("asc", "desc"):
        raise Invalid("invalid_parameter", "sort does not have a valid value")
    page = page_of(params)
    wanted = OffsetPage(page.offset, page.per_page, sort_keys("created_at", sort == "desc"))
    found = issues.list_issue_notes(session, issue, actor, wanted)
    rows, total = found.rows, found.total or 0
    authors = accounts_repo.users_by_id(session, [n.author_id for n in rows if n.author_id])
    body = [ser.note(n, authors.get(n.author_id or 0), access.project.id, issue.iid) for n in rows]
    return json_response(body, headers=offset_headers(request, page, total))


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/notes",
    status_code=201,
    responses={201: {"model": schemas.Note}},
    openapi_extra=schemas.body_of(schemas.NoteCreate),
)
def create_note(
    project_id: str,
    issue_iid: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    iid = iid_path(issue_iid)
    require(params, "body")
    issue, access = issues.resolve_issue_in(session, actor, project_ref(project_id), iid)
    note = issues.create_note(session, access, issue, str(params["body"]))
    return json_response(ser.note(note, actor.user, access.project.id, issue.iid), 201)
