"""Bulk links: create or delete up to 1,000 links in one transaction, all or nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import Response

from issuegraph.api.native.params import ActorDep, SessionDep
from issuegraph.api.native.schemas import ERRORS, BulkAnswer, BulkRequest, ErrorBody
from issuegraph.api.responses import json_response
from issuegraph.graph import service

router = APIRouter()


@router.post(
    "/links/bulk",
    response_model=BulkAnswer,
    responses={
        **ERRORS,
        400: {
            "model": ErrorBody,
            "description": "`bulk_failed`: nothing was changed; `details.errors` lists every failing item "
            "as {index, code, message, details}",
        },
        403: {"model": ErrorBody, "description": "Token without the `api` scope"},
    },
    summary="Create or delete up to 1,000 links atomically (all or nothing)",
)
def bulk_links(
    session: SessionDep,
    actor: ActorDep,
    body: Annotated[BulkRequest, Body()],
) -> Response:
    items = [
        service.BulkItem(
            action=op.action,
            source=service.Locator(op.source.id, _str(op.source.project), op.source.iid),
            target=service.Locator(op.target.id, _str(op.target.project), op.target.iid),
            link_type=op.link_type,
        )
        for op in body.operations
    ]
    results = service.bulk_links(session, actor, items, silent=body.silent)
    return json_response(
        {
            "created": sum(1 for r in results if r["status"] == "created"),
            "deleted": sum(1 for r in results if r["status"] == "deleted"),
            "results": results,
        }
    )


def _str(value: str | int | None) -> str | None:
    return None if value is None else str(value)
