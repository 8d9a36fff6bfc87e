"""GitLab users: `/user`, `/users`."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import passwords
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
    read_params,
    require,
    str_param,
)
from issuegraph.api.responses import json_response
from issuegraph.db.pagination import OffsetPage, sort_keys

router = resource_router()


@router.get("/user", responses={200: {"model": schemas.User}})
def current_user(actor: Actor = Depends(get_actor)) -> Response:
    user = actor.require_user()
    return json_response(ser.user_full(user, include_private=True))


@router.get("/users", responses={200: {"model": list[schemas.User]}})
def list_users(
    request: Request,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()  # issuegraph lists users to administrators only (issue 2)
    page = page_of(params)
    found = accounts.list_users(
        session,
        actor,
        username=str_param(params, "username"),
        search=str_param(params, "search"),
        page=OffsetPage(page.offset, page.per_page, sort_keys("id", False)),
    )
    return json_response(
        [ser.user_full(u, include_private=actor.is_admin) for u in found.rows],
        headers=offset_headers(request, page, found.total or 0),
    )


@router.get("/users/{user_id}", responses={200: {"model": schemas.User}})
def get_user(
    user_id: str, actor: Actor = Depends(get_actor), session: Session = Depends(get_session)
) -> Response:
    actor.require_user()
    user = accounts.get_user(session, actor, iid_path(user_id, "id"))
    return json_response(ser.user_full(user, include_private=actor.is_admin))


@router.post("/users", status_code=201, openapi_extra=None, responses={201: {"model": schemas.User}})
def create_user(
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    actor.require_admin()
    require(params, "email", "username", "name")
    password = str_param(params, "password")
    if password is not None:
        passwords.check_rules(password)
    user = accounts.create_user(
        session,
        actor,
        username=str(params["username"]),
        name=str(params["name"]),
        email=str(params["email"]),
        is_admin=bool(bool_param(params, "admin")),
    )
    if password is not None:
        passwords.set_password(session, user, password)
    return json_response(ser.user_full(user, include_private=True), 201)


@router.put("/users/{user_id}")
def update_user(
    user_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    """An administrator changes a user; issuegraph stores only `password` of GitLab's fields."""
    actor.require_admin()
    uid = iid_path(user_id, "id")
    require(params, "password")
    user = passwords.change_password(session, actor, uid, str_param(params, "password") or "")
    return json_response(ser.user_full(user, include_private=True))
