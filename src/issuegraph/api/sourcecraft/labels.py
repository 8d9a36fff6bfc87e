"""Repository labels and milestones, and an issue's labels (`{ids?, slugs?}` bodies).

issuegraph keeps no slug of its own for labels and milestones: a label's slug is its name,
a milestone's slug its title (both unique in their repository).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.api.responses import json_response
from issuegraph.api.sourcecraft import serializers as ser
from issuegraph.api.sourcecraft.dependencies import (
    DB,
    ISSUE,
    ISSUE_ID,
    REPO,
    REPO_ID,
    Authenticated,
    Silent,
    json_body,
    no_filter,
    page,
    path_issue,
    path_repo,
)
from issuegraph.api.sourcecraft.pagination import PageRequest
from issuegraph.api.sourcecraft.params import canonical_number
from issuegraph.api.sourcecraft.schemas import (
    CreateLabelBody,
    CreateMilestoneBody,
    ModifyLabelCollectionRequest,
)
from issuegraph.db.models import Issue, Label
from issuegraph.domain.errors import NotFound
from issuegraph.issues import service as issues
from issuegraph.projects.service import ProjectAccess

router = APIRouter()

DEFAULT_COLOR = "#808080"  # "optional, default color is gray"
LABEL_SORT: dict[str, Any] = {"name": "str", "slug": "str", "created_at": "datetime", "id": "int"}
_LABEL_ATTRS = {"name": "name", "slug": "name", "created_at": "created_at", "id": "id"}
MILESTONE_SORT: dict[str, Any] = {
    "name": "str",
    "slug": "str",
    "created_at": "datetime",
    "updated_at": "datetime",
    "id": "int",
}
_MILESTONE_ATTRS = {
    "name": "title",
    "slug": "title",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "id": "id",
}


@router.get(REPO + "/labels")
@router.get(REPO_ID + "/labels")
def list_labels(
    actor: Actor = Authenticated,
    page_request: PageRequest = Depends(page(LABEL_SORT, default_sort="name")),
    _filter: None = Depends(no_filter),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    found = issues.list_labels(session, access, page_request.keyset(_LABEL_ATTRS))
    items, token = found.rows, page_request.token(found)
    return json_response(ser.envelope("items", [ser.label(x) for x in items], token))


@router.post(REPO + "/labels", status_code=201)
@router.post(REPO_ID + "/labels", status_code=201)
def create_label(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: CreateLabelBody = Depends(json_body(CreateLabelBody)),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    label = issues.create_label(
        session, access, name=body.name or "", color=body.color or DEFAULT_COLOR, description=None
    )
    return json_response(ser.label(label), 201)


@router.get(REPO + "/milestones")
@router.get(REPO_ID + "/milestones")
def list_milestones(
    actor: Actor = Authenticated,
    page_request: PageRequest = Depends(page(MILESTONE_SORT)),
    _filter: None = Depends(no_filter),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    found = issues.list_milestones(session, access, page_request.keyset(_MILESTONE_ATTRS))
    items, token = found.rows, page_request.token(found)
    authors = accounts_repo.users_by_id(session, [m.author_id for m in items if m.author_id])
    body = [ser.milestone(m, authors.get(m.author_id or 0)) for m in items]
    return json_response(ser.envelope("items", body, token))


# The spec answers CreateMilestone with 200, not 201 (unlike every other create).
@router.post(REPO + "/milestones", status_code=200)
@router.post(REPO_ID + "/milestones", status_code=200)
def create_milestone(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: CreateMilestoneBody = Depends(json_body(CreateMilestoneBody)),
    access: ProjectAccess = Depends(path_repo),
    session: Session = DB,
) -> Response:
    milestone = issues.create_milestone(
        session,
        access,
        title=body.name or "",
        description=body.description,
        start_date=body.start_date,
        due_date=body.deadline,
    )
    return json_response(ser.milestone(milestone, actor.user), 200)


# ---------------------------------------------------------------- an issue's labels


def _labels_response(labels: list[Label]) -> Response:
    return json_response({"labels": [ser.label(x) for x in labels]})


@router.get(ISSUE + "/labels")
@router.get(ISSUE_ID + "/labels")
def get_issue_labels(
    actor: Actor = Authenticated,
    path: tuple[Issue, ProjectAccess] = Depends(path_issue),
    session: Session = DB,
) -> Response:
    return _labels_response(issues.issue_labels(session, path[0]))


def _change(
    session: Session,
    path: tuple[Issue, ProjectAccess],
    body: ModifyLabelCollectionRequest,
    mode: str,
    silent: bool,
) -> Response:
    issue, access = path
    ids = [canonical_number(x) for x in body.ids or []]
    if None in ids:
        raise NotFound("label_not_found", "404 Label Not Found")
    labels = issues.resolve_labels(session, access, ids=[i for i in ids if i], names=body.slugs)
    return _labels_response(issues.change_labels(session, access, issue, labels, mode=mode, silent=silent))


LabelsBody = Depends(json_body(ModifyLabelCollectionRequest))


@router.post(ISSUE + "/labels")
@router.post(ISSUE_ID + "/labels")
def add_issue_labels(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: ModifyLabelCollectionRequest = LabelsBody,
    path: tuple[Issue, ProjectAccess] = Depends(path_issue),
    session: Session = DB,
) -> Response:
    return _change(session, path, body, "add", silent)


@router.put(ISSUE + "/labels")
@router.put(ISSUE_ID + "/labels")
def replace_issue_labels(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: ModifyLabelCollectionRequest = LabelsBody,
    path: tuple[Issue, ProjectAccess] = Depends(path_issue),
    session: Session = DB,
) -> Response:
    return _change(session, path, body, "replace", silent)


@router.delete(ISSUE + "/labels")
@router.delete(ISSUE_ID + "/labels")
def remove_issue_labels(
    actor: Actor = Authenticated,
    silent: bool = Silent,
    body: ModifyLabelCollectionRequest = LabelsBody,
    path: tuple[Issue, ProjectAccess] = Depends(path_issue),
    session: Session = DB,
) -> Response:
    return _change(session, path, body, "remove", silent)
