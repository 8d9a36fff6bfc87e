"""PUT /api/v4/users/:id: an administrator changes a user (issuegraph: the password)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts import passwords
from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.params import iid_path, read_params, require, str_param
from issuegraph.api.responses import json_response
from issuegraph.api.routing import FaceRouter

router = FaceRouter(prefix="/api/v4", tags=["gitlab"], responses=schemas.ERRORS)


@router.put("/users/{user_id}")
def update_user(
    user_id: str,
    params: dict[str, Any] = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    """Only `password` is changed; GitLab's other user fields are not stored by issuegraph."""
    actor.require_admin()
    actor.require_write()
    uid = iid_path(user_id, "id")
    require(params, "password")
    user = passwords.change_password(session, actor, uid, str_param(params, "password") or "")
    return json_response(ser.user_full(user, include_private=True))
