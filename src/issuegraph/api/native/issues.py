"""The graph around one issue: what blocks it and what it blocks (transitively, with paths), its
ancestors, its descendant tree with roll-ups, and the canonical issue of its duplicate chain.

These routes come first in the router: `{project_ref:path}` is greedy and these are the longer
patterns.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from issuegraph.api.native.params import ActorDep, Depth, Iid, Limit, OpenOnly, ProjectRef, SessionDep
from issuegraph.api.native.schemas import ERRORS, AncestorsAnswer, BlocksAnswer, CanonicalAnswer, TreeAnswer
from issuegraph.api.responses import json_response
from issuegraph.graph import service

router = APIRouter()


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/blockers",
    response_model=BlocksAnswer,
    responses=ERRORS,
    summary="Issues blocking this one, directly and transitively, each with its path",
)
def blockers(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Depth = service.DEFAULT_DEPTH,
    open_only: OpenOnly = False,
    limit: Limit = 1000,
) -> Response:
    return json_response(
        service.related_by_blocks(
            session,
            actor,
            project_ref,
            iid,
            direction="blockers",
            depth=depth,
            open_only=open_only,
            limit=limit,
        )
    )


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/blocking",
    response_model=BlocksAnswer,
    responses=ERRORS,
    summary="Issues this one blocks, directly and transitively, each with its path",
)
def blocking(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Depth = service.DEFAULT_DEPTH,
    open_only: OpenOnly = False,
    limit: Limit = 1000,
) -> Response:
    return json_response(
        service.related_by_blocks(
            session,
            actor,
            project_ref,
            iid,
            direction="blocking",
            depth=depth,
            open_only=open_only,
            limit=limit,
        )
    )


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/ancestors",
    response_model=AncestorsAnswer,
    responses=ERRORS,
    summary="Parent, grandparent, ... of an issue",
)
def ancestors(project_ref: ProjectRef, iid: Iid, session: SessionDep, actor: ActorDep) -> Response:
    return json_response(service.ancestors(session, actor, project_ref, iid))


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/tree",
    response_model=TreeAnswer,
    responses=ERRORS,
    summary="Descendant tree with roll-ups (totals, closed, percent done, weights)",
)
def tree(
    project_ref: ProjectRef,
    iid: Iid,
    session: SessionDep,
    actor: ActorDep,
    depth: Annotated[
        int, Query(ge=1, le=service.HIERARCHY_CAP, description="Levels to show")
    ] = service.HIERARCHY_CAP,
) -> Response:
    return json_response(service.descendant_tree(session, actor, project_ref, iid, depth=depth))


@router.get(
    "/projects/{project_ref:path}/issues/{iid}/canonical",
    response_model=CanonicalAnswer,
    responses=ERRORS,
    summary="The canonical issue at the end of this issue's duplicate chain",
)
def canonical(project_ref: ProjectRef, iid: Iid, session: SessionDep, actor: ActorDep) -> Response:
    return json_response(service.canonical(session, actor, project_ref, iid))
