"""GitLab's token rotation: POST /personal_access_tokens/:id/rotate and /self/rotate."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import service as accounts
from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import resource_router
from issuegraph.api.gitlab.params import read_params
from issuegraph.api.responses import json_response
from issuegraph.domain.errors import NotFound
from issuegraph.domain.ids import parse_id

router = resource_router()

_ROTATE = {
    "responses": {200: {"model": schemas.NewPersonalAccessToken}},
    "openapi_extra": schemas.query(expires_at={"type": "string", "format": "date"}),
}


@router.post("/personal_access_tokens/self/rotate", **_ROTATE)  # type: ignore[arg-type]
def rotate_own_token(
    params: dict[str, object] = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    """Rotate the token of this request: it is revoked, a new one is returned."""
    actor.require_write()
    token, raw = accounts.rotate_token(session, actor, None, accounts.parse_expiry(params.get("expires_at")))
    return json_response(ser.token(token, raw), 200)


@router.post("/personal_access_tokens/{token_id}/rotate", **_ROTATE)  # type: ignore[arg-type]
def rotate_token(
    token_id: str,
    params: dict[str, object] = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    """Rotate a token of the caller's (any token, for an administrator)."""
    actor.require_write()
    number = parse_id(token_id)
    if number is None:
        raise NotFound("token_not_found", "404 Not found")
    token, raw = accounts.rotate_token(
        session, actor, number, accounts.parse_expiry(params.get("expires_at"))
    )
    return json_response(ser.token(token, raw), 200)
