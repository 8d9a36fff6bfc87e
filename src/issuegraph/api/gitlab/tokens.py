"""GitLab personal access tokens: created for a user, listed, read and revoked."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import service as accounts
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
    bool_param,
    iid_path,
    int_param,
    list_param,
    read_params,
    require,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.pagination import OffsetPage, sort_keys
from issuegraph.domain.errors import Invalid, NotFound
from issuegraph.domain.ids import parse_id

router = resource_router()


@router.post(
    "/users/{user_id}/personal_access_tokens",
    status_code=201,
    responses={201: {"model": schemas.NewPersonalAccessToken}},
)
def create_token(
    user_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()
    require(params, "name", "scopes")
    scopes = list_param(params, "scopes") or []
    token, raw = accounts.create_token(
        session,
        actor,
        user_id=iid_path(user_id, "user_id"),
        name=str(params["name"]),
        scopes=scopes,
        expires_at=accounts.parse_expiry(params.get("expires_at")),
    )
    return json_response(ser.token(token, raw), 201)


_TOKEN_STATES = {"active": True, "inactive": False}


@router.get(
    "/personal_access_tokens",
    responses={200: {"model": list[schemas.PersonalAccessToken]}},
    openapi_extra=schemas.query(**schemas.TOKEN_FILTERS),
)
def list_tokens(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_user()
    state = str_param(params, "state")
    if state not in (None, "", *_TOKEN_STATES):
        raise Invalid("invalid_parameter", "state does not have a valid value")
    page = page_of(params)
    found = accounts.list_tokens(
        session,
        actor,
        user_id=int_param(params, "user_id"),
        revoked=bool_param(params, "revoked"),
        active=_TOKEN_STATES.get(state or ""),
        search=str_param(params, "search"),
        page=OffsetPage(page.offset, page.per_page, sort_keys("id", False)),
    )
    return json_response(
        [ser.token(t) for t in found.rows], headers=offset_headers(request, page, found.total or 0)
    )


def _token_id(value: str) -> int:
    """A token id in a path; anything else names no token (GitLab's 404, not a 400)."""
    number = parse_id(value)
    if number is None:
        raise NotFound("token_not_found", "404 Not found")
    return number


@router.get("/personal_access_tokens/self", responses={200: {"model": schemas.PersonalAccessToken}})
def get_own_token(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> Response:
    return json_response(ser.token(accounts.resolve_token(session, actor, None)))


@router.get("/personal_access_tokens/{token_id}", responses={200: {"model": schemas.PersonalAccessToken}})
def get_token(
    token_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    return json_response(ser.token(accounts.resolve_token(session, actor, _token_id(token_id))))


@router.delete("/personal_access_tokens/self", status_code=204)
def revoke_own_token(actor: Actor = Depends(get_actor), session: Session = Depends(get_session)) -> Response:
    accounts.revoke_token(session, actor, None)
    return Response(status_code=204)


@router.delete("/personal_access_tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    accounts.revoke_token(session, actor, _token_id(token_id))
    return Response(status_code=204)
