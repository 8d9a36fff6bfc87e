"""Native webhooks under /api/graph/v1: subscriptions per project, per group and instance-wide.

Each chooses event types (the issue and link life cycle, comments, and the graph's own
`issue.blocked`, `issue.unblocked`, `issue.children_done`); deliveries are signed per Standard
Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The secret is shown when it
is made (creation, rotation) and never again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab.serializers import ts
from issuegraph.api.native.schemas import ERRORS, TOO_MANY_REQUESTS
from issuegraph.api.responses import json_response
from issuegraph.config import get_settings
from issuegraph.db.models import Webhook, WebhookLog
from issuegraph.db.pagination import OffsetPage, sort_keys
from issuegraph.events import delivery
from issuegraph.events import service as hooks
from issuegraph.events.dispatch import NATIVE_TYPES
from issuegraph.events.service import Scope
from issuegraph.projects import service as projects

# Included by the native router (native.routes), which gives the prefix.
router = APIRouter(tags=["webhooks"], responses=ERRORS)
_BY_ID = sort_keys("id", False)

EventType = Literal[
    "issue.created",
    "issue.updated",
    "issue.closed",
    "issue.reopened",
    "issue.deleted",
    "issue_link.created",
    "issue_link.deleted",
    "note.created",
    "issue.blocked",
    "issue.unblocked",
    "issue.children_done",
]
assert set(EventType.__args__) == set(NATIVE_TYPES)  # type: ignore[attr-defined]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL the events are POSTed to")
    event_types: list[EventType] = Field(min_length=1)
    description: str = ""
    secret: str | None = Field(default=None, description="whsec_ secret; made for you when absent")
    skip_silent: bool = Field(default=False, description="Do not send changes made with silent=true")


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = None
    skip_silent: bool | None = None


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(default=None, description="The new whsec_ secret; made for you when absent")


def serialize(hook: Webhook, *, secret: str | None = None) -> dict[str, Any]:
    kind = "project" if hook.project_id else "group" if hook.group_id else "instance"
    data: dict[str, Any] = {
        "id": hook.id,
        "scope": {"kind": kind, "id": hook.project_id or hook.group_id},
        "url": hook.url,
        "description": hook.description,
        "event_types": hook.event_types,
        "skip_silent": bool((hook.options or {}).get("skip_silent")),
        "alert_status": delivery.alert_status(hook),
        "disabled_until": ts(hook.disabled_until),
        "recent_failures": hook.recent_failures,
        "secrets": len(hook.secrets or []),
        "created_at": ts(hook.created_at),
    }
    if secret is not None:
        data["secret"] = secret
    return data


def serialize_log(log: WebhookLog, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": log.id,
        "event_type": log.trigger,
        "webhook_id": log.idempotency_key,
        "attempt": log.attempt,
        "url": log.url,
        "request_headers": log.request_headers,
        "request_body": body,
        "response_status": log.response_status,
        "response_body": log.response_body,
        "error": log.internal_error,
        "duration": log.execution_duration,
        "created_at": ts(log.created_at),
    }


Ref = Annotated[str, Path(description="Id or URL-encoded full path"), AfterValidator(unquote)]
HookId = Annotated[int, Path(ge=1, le=2**62)]
LogId = Annotated[int, Path(ge=1, le=2**62)]
SessionDep = Annotated[Session, Depends(get_session)]
ActorDep = Annotated[Actor, Depends(get_actor)]


def project_hooks(project_ref: Ref, session: SessionDep, actor: ActorDep) -> Scope:
    actor.require_user()
    return hooks.project_scope(projects.resolve_project(session, actor, project_ref))


def group_hooks(group_ref: Ref, session: SessionDep, actor: ActorDep) -> Scope:
    actor.require_user()
    return hooks.group_scope(session, actor, projects.resolve_group(session, actor, group_ref))


def instance_hooks(actor: ActorDep) -> Scope:
    return hooks.instance_scope(actor)


def _register(base: str, resolve: Callable[..., Scope]) -> None:
    def _hook(session: Session, scope: Scope, hook_id: int) -> Webhook:
        return hooks.get_hook(session, scope, "native", hook_id)

    @router.get(base, summary="List webhooks")
    def list_(
        session: SessionDep,
        scope: Scope = Depends(resolve),
        page: Annotated[int, Query(ge=1, le=10**6)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        wanted = OffsetPage((page - 1) * per_page, per_page, _BY_ID)
        found = hooks.list_hooks(session, scope, "native", wanted)
        return json_response({"items": [serialize(h) for h in found.rows], "total": found.total})

    @router.post(base, status_code=201, summary="Subscribe a URL to event types")
    def create(
        session: SessionDep,
        actor: ActorDep,
        body: Annotated[WebhookIn, Body()],
        scope: Scope = Depends(resolve),
    ) -> Response:
        hook = hooks.create_native_hook(
            session,
            actor,
            scope,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            secret=body.secret,
            skip_silent=body.skip_silent,
            settings=get_settings(),
        )
        return json_response(serialize(hook, secret=hook.secrets[0]), 201)

    @router.get(base + "/{hook_id}", summary="One webhook")
    def get(session: SessionDep, hook_id: HookId, scope: Scope = Depends(resolve)) -> Response:
        return json_response(serialize(_hook(session, scope, hook_id)))

    @router.patch(base + "/{hook_id}", summary="Change a webhook")
    def patch(
        session: SessionDep,
        hook_id: HookId,
        body: Annotated[WebhookPatch, Body()],
        scope: Scope = Depends(resolve),
    ) -> Response:
        hook = hooks.update_native_hook(
            session,
            _hook(session, scope, hook_id),
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            skip_silent=body.skip_silent,
            settings=get_settings(),
        )
        return json_response(serialize(hook))

    @router.delete(base + "/{hook_id}", status_code=204, summary="Delete a webhook")
    def delete(session: SessionDep, hook_id: HookId, scope: Scope = Depends(resolve)) -> Response:
        hooks.delete_hook(session, _hook(session, scope, hook_id))
        return Response(status_code=204)

    @router.post(base + "/{hook_id}/rotate-secret", summary="New secret; the previous one keeps signing")
    def rotate(
        session: SessionDep,
        hook_id: HookId,
        scope: Scope = Depends(resolve),
        body: Annotated[RotateIn | None, Body()] = None,
    ) -> Response:
        hook = _hook(session, scope, hook_id)
        secret = hooks.rotate_secret(session, hook, body.secret if body else None)
        return json_response(serialize(hook, secret=secret))

    @router.delete(base + "/{hook_id}/previous-secret", status_code=204, summary="End a rotation")
    def expire(session: SessionDep, hook_id: HookId, scope: Scope = Depends(resolve)) -> Response:
        hooks.expire_previous_secret(session, _hook(session, scope, hook_id))
        return Response(status_code=204)

    @router.get(base + "/{hook_id}/deliveries", summary="Attempts of the past 7 days, newest first")
    def deliveries(
        session: SessionDep,
        hook_id: HookId,
        scope: Scope = Depends(resolve),
        page: Annotated[int, Query(ge=1, le=10**6)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        hook = _hook(session, scope, hook_id)
        logs = hooks.list_logs(session, hook, [], (page - 1) * per_page, per_page)
        bodies = delivery.log_payloads(session, logs)
        return json_response([serialize_log(log, bodies[log.id]) for log in logs])

    @router.post(
        base + "/{hook_id}/deliveries/{log_id}/redeliver",
        summary="Send a logged delivery again",
        responses=TOO_MANY_REQUESTS,
    )
    def redeliver(
        session: SessionDep, actor: ActorDep, hook_id: HookId, log_id: LogId, scope: Scope = Depends(resolve)
    ) -> Response:
        hook = _hook(session, scope, hook_id)
        # GitLab's resend limit (429 past it), counted whatever happens next: committed now.
        hooks.count_request(session, "resend", actor, scope, get_settings())
        session.commit()
        outcome = hooks.resend_log(session, hook, log_id, get_settings())
        return json_response({"response_status": outcome.status, "error": outcome.error})

    for fn in (list_, create, get, patch, delete, rotate, expire, deliveries, redeliver):
        fn.__name__ = f"{resolve.__name__}_{fn.__name__}"


_register("/projects/{project_ref:path}/webhooks", project_hooks)
_register("/groups/{group_ref:path}/webhooks", group_hooks)
_register("/webhooks", instance_hooks)
