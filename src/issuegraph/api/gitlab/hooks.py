"""GitLab project and group hooks: `/projects/:id/hooks` and `/groups/:id/hooks`.

Routes, attributes, status codes and messages as shared/spec/gitlab-webhooks.md §1. The same
handlers serve both scopes; `token` and `signing_token` are never returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab.dependencies import resource_router
from issuegraph.api.gitlab.pagination import Page, offset_headers, page_of
from issuegraph.api.gitlab.params import (
    bool_param,
    iid_path,
    int_param,
    list_param,
    project_ref,
    read_params,
    require,
    str_param,
)
from issuegraph.api.gitlab.schemas import TOO_MANY_REQUESTS
from issuegraph.api.gitlab.serializers import ts
from issuegraph.api.responses import json_response
from issuegraph.config import get_settings
from issuegraph.db.models import Webhook, WebhookLog
from issuegraph.db.pagination import OffsetPage, sort_keys
from issuegraph.domain.errors import Invalid, NotFound, RuleViolation
from issuegraph.events import delivery
from issuegraph.events import service as hooks
from issuegraph.events.service import Scope
from issuegraph.projects import service as projects

router = resource_router()
Params = dict[str, Any]
# Parameters of an edit that are not edits (GitLab's `No parameters provided` ignores them).
_BY_ID = sort_keys("id", False)
_NOT_EDITS = frozenset({"id", "hook_id", "private_token"})


def _scope(session: Session, actor: Actor, kind: str, ref: str) -> Scope:
    actor.require_user()
    if kind == "projects":
        return hooks.project_scope(projects.resolve_project(session, actor, project_ref(ref)))
    return hooks.group_scope(session, actor, projects.resolve_group(session, actor, project_ref(ref)))


def _pairs(params: Params, name: str) -> dict[str, str] | None:
    """GitLab's `[{key, value}]` arrays (a JSON object of key: value is also taken)."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, list) or not all(isinstance(item, dict) and "key" in item for item in value):
        raise Invalid("invalid_parameter", f"{name} is invalid")
    return {str(item["key"]): str(item.get("value", "")) for item in value}


def _fields(params: Params, scope: Scope) -> hooks.GitlabHookFields:
    """The hook attributes of a create or edit, typed; what python-gitlab sends that GitLab
    ignores (`resource_deploy_token_events`, say) is accepted and dropped."""
    signing_token = str_param(params, "signing_token")
    if signing_token is None and "signing_token" in params:
        signing_token = ""  # null removes it, as an empty string does
    flags = {flag: bool_param(params, flag) for flag in hooks.flags_for(scope)}
    return hooks.GitlabHookFields(
        url=str_param(params, "url") or None,
        token=str_param(params, "token"),
        signing_token=signing_token,
        url_variables=_pairs(params, "url_variables"),
        custom_headers=_pairs(params, "custom_headers"),
        flags={flag: value for flag, value in flags.items() if value is not None},
        push_events_branch_filter=str_param(params, "push_events_branch_filter"),
        branch_filter_strategy=str_param(params, "branch_filter_strategy"),
        custom_webhook_template=str_param(params, "custom_webhook_template"),
        name=str_param(params, "name"),
        description=str_param(params, "description"),
    )


def _count(session: Session, action: str, actor: Actor, scope: Scope) -> None:
    """GitLab's per-user rate limit on `action` in this project or group (429 past it). The
    attempt counts whatever happens next, as on GitLab, so it is committed now; that also ends
    the transaction before a test's or resend's request goes out."""
    hooks.count_request(session, action, actor, scope, get_settings())
    session.commit()


def serialize(hook: Webhook, scope: Scope, *, full: bool = True) -> dict[str, Any]:
    options = hook.options or {}
    data: dict[str, Any] = {
        "id": hook.id,
        "url": hook.url,
        "name": hook.name,
        "description": hook.description,
        "created_at": ts(hook.created_at),
    }
    for flag in hooks.GROUP_FLAGS if scope.kind == "group" else hooks.PROJECT_FLAGS:
        data[flag] = bool(options.get(flag, hooks.FLAG_DEFAULTS.get(flag, False)))
    data.update(
        {
            "alert_status": delivery.alert_status(hook),
            "disabled_until": ts(hook.disabled_until),
            "push_events_branch_filter": options.get("push_events_branch_filter"),
            "branch_filter_strategy": options.get("branch_filter_strategy", "wildcard"),
            "custom_webhook_template": options.get("custom_webhook_template"),
            "token_present": bool(hook.token),
            "signing_token_present": bool(hook.secrets),
            # issuegraph: what auto-disabling counts (GitLab keeps it to itself)
            "recent_failures": hook.recent_failures,
        }
    )
    if full:
        data["url_variables"] = [{"key": k} for k in (hook.url_variables or {})]
        data["custom_headers"] = [{"key": k} for k in (hook.custom_headers or {})]
    data["project_id" if scope.kind == "project" else "group_id"] = scope.id
    return data


def serialize_log(log: WebhookLog, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": log.id,
        "url": log.url,
        "trigger": log.trigger,
        "request_headers": log.request_headers,
        "request_data": body,
        "response_headers": log.response_headers,
        "response_body": log.response_body,
        "execution_duration": log.execution_duration,
        "response_status": hooks.log_status(log),
        "internal_error_message": log.internal_error,
        "attempt": log.attempt,
        "idempotency_key": log.idempotency_key,
        "created_at": ts(log.created_at),
    }


def _hook_id(value: str) -> int:
    return iid_path(value, "hook_id")


@router.get("/{kind}/{ref}/hooks")
def list_hooks(
    request: Request,
    kind: str,
    ref: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    page = page_of(params)
    found = hooks.list_hooks(session, scope, "gitlab", OffsetPage(page.offset, page.per_page, _BY_ID))
    return json_response(
        [serialize(h, scope, full=False) for h in found.rows],
        headers=offset_headers(request, page, found.total or 0),
    )


def _kind(kind: str) -> str:
    if kind not in ("projects", "groups"):
        raise NotFound("not_found", "404 Not Found")
    return kind


@router.get("/{kind}/{ref}/hooks/{hook_id}")
def get_hook(
    kind: str,
    ref: str,
    hook_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    return json_response(serialize(hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id)), scope))


@router.post("/{kind}/{ref}/hooks", status_code=201, responses=TOO_MANY_REQUESTS)
def add_hook(
    kind: str,
    ref: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    require(params, "url")
    given = _fields(params, scope)
    _count(session, "create", actor, scope)
    hook = hooks.create_gitlab_hook(session, actor, scope, given, get_settings())
    return json_response(serialize(hook, scope), 201)


@router.put("/{kind}/{ref}/hooks/{hook_id}")
def edit_hook(
    kind: str,
    ref: str,
    hook_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    if not {k for k in params if k not in _NOT_EDITS}:
        raise Invalid("no_parameters", "No parameters provided")
    hooks.update_gitlab_hook(session, hook, scope, _fields(params, scope), get_settings())
    return json_response(serialize(hook, scope))


@router.delete("/{kind}/{ref}/hooks/{hook_id}", status_code=204)
def delete_hook(
    request: Request,
    kind: str,
    ref: str,
    hook_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    _check_unmodified_since(request, hook)
    hooks.delete_hook(session, hook)
    return Response(status_code=204)


def _check_unmodified_since(request: Request, hook: Webhook) -> None:
    from email.utils import parsedate_to_datetime

    header = request.headers.get("if-unmodified-since")
    if not header:
        return
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return
    if hook.updated_at.replace(microsecond=0) > since:
        raise RuleViolation("precondition_failed", "412 Precondition Failed")


@router.get("/{kind}/{ref}/hooks/{hook_id}/events")
def hook_events(
    request: Request,
    kind: str,
    ref: str,
    hook_id: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    per_page = int_param(params, "per_page", default=20) or 20
    if not 1 <= per_page <= 20:
        raise Invalid("invalid_parameter", "per_page does not have a valid value")
    page = Page(page=max(int_param(params, "page", default=1) or 1, 1), per_page=per_page)
    statuses = list_param(params, "status") or []
    logs = hooks.list_logs(session, hook, statuses, page.offset, page.per_page)
    bodies = delivery.log_payloads(session, logs)
    return json_response([serialize_log(log, bodies[log.id]) for log in logs])


@router.post(
    "/{kind}/{ref}/hooks/{hook_id}/events/{log_id}/resend", status_code=201, responses=TOO_MANY_REQUESTS
)
def resend(
    kind: str,
    ref: str,
    hook_id: str,
    log_id: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    _count(session, "resend", actor, scope)
    outcome = hooks.resend_log(session, hook, iid_path(log_id, "hook_log_id"), get_settings())
    return json_response(
        {"response_status": outcome.status if outcome.status is not None else "internal error"}, 201
    )


@router.post("/{kind}/{ref}/hooks/{hook_id}/test/{trigger}", status_code=201, responses=TOO_MANY_REQUESTS)
def test_hook(
    kind: str,
    ref: str,
    hook_id: str,
    trigger: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    if trigger not in hooks.TEST_TRIGGERS:
        raise Invalid("invalid_parameter", "trigger does not have a valid value")
    _count(session, "test", actor, scope)
    outcome = hooks.test_hook(session, hook, scope, trigger, actor, get_settings())
    if outcome.status is not None and 200 <= outcome.status < 300:
        # GitLab answers `201 Created` whatever 2xx the receiver gave (shared/spec §1.1).
        return json_response({"message": "201 Created"}, 201)
    # The failed attempt is logged and kept: answer 422 after the transaction commits.
    session.commit()
    return json_response({"message": outcome.body or outcome.error or f"{outcome.status}"}, 422)


@router.put("/{kind}/{ref}/hooks/{hook_id}/url_variables/{key}", status_code=204)
def put_url_variable(
    kind: str,
    ref: str,
    hook_id: str,
    key: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    hooks.set_url_variable(session, hook, key, str_param(params, "value"), get_settings())
    return Response(status_code=204)


@router.delete("/{kind}/{ref}/hooks/{hook_id}/url_variables/{key}", status_code=204)
def delete_url_variable(
    kind: str,
    ref: str,
    hook_id: str,
    key: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    hooks.unset_url_variable(session, hook, key)
    return Response(status_code=204)


@router.put("/{kind}/{ref}/hooks/{hook_id}/custom_headers/{key}", status_code=204)
def put_custom_header(
    kind: str,
    ref: str,
    hook_id: str,
    key: str,
    params: Params = Depends(read_params),
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    hooks.set_custom_header(session, hook, key, str_param(params, "value"))
    return Response(status_code=204)


@router.delete("/{kind}/{ref}/hooks/{hook_id}/custom_headers/{key}", status_code=204)
def delete_custom_header(
    kind: str,
    ref: str,
    hook_id: str,
    key: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    scope = _scope(session, actor, _kind(kind), ref)
    hook = hooks.get_hook(session, scope, "gitlab", _hook_id(hook_id))
    hooks.unset_custom_header(session, hook, key)
    return Response(status_code=204)
