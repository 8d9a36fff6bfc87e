"""Hooks as use cases: create, edit, delete, test, resend; GitLab hooks and native subscriptions.

Who may: a project's hooks need Maintainer (or admin), a group's hooks Owner (or admin), as on
GitLab; instance-wide native subscriptions need an administrator.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.config import Settings
from issuegraph.db import pagination
from issuegraph.db.models import Issue, Namespace, Note, Project, Webhook, WebhookLog, utcnow
from issuegraph.db.pagination import Columns, OffsetPage, Page
from issuegraph.domain.errors import Forbidden, Invalid, NotFound, RuleViolation
from issuegraph.domain.roles import AccessLevel
from issuegraph.events import branch_filters, delivery, payloads, signing, ssrf
from issuegraph.issues.repository import load_views
from issuegraph.projects import repository as projects_repo
from issuegraph.projects.service import ProjectAccess
from issuegraph.ratelimits import service as ratelimits

PROJECT_FLAGS = (
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "repository_update_events",
    "enable_ssl_verification",
    "issues_events",
    "confidential_issues_events",
    "note_events",
    "confidential_note_events",
    "pipeline_events",
    "wiki_page_events",
    "deployment_events",
    "feature_flag_events",
    "job_events",
    "releases_events",
    "milestone_events",
    "emoji_events",
    "resource_access_token_events",
    "resource_deploy_token_events",
    "vulnerability_events",
)
GROUP_FLAGS = (*PROJECT_FLAGS, "subgroup_events", "member_events", "project_events")
FLAG_DEFAULTS = {"push_events": True, "enable_ssl_verification": True}
STRING_OPTIONS = ("push_events_branch_filter", "custom_webhook_template")
BRANCH_FILTER_STRATEGIES = ("wildcard", "regex", "all_branches")
TEST_TRIGGERS = (
    "push_events",
    "tag_push_events",
    "note_events",
    "confidential_note_events",
    "issues_events",
    "confidential_issues_events",
    "job_events",
    "merge_requests_events",
    "pipeline_events",
    "wiki_page_events",
    "releases_events",
    "emoji_events",
    "resource_access_token_events",
)
_VAR_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_KEY = re.compile(r"^[A-Za-z]+[0-9]*(?:[._-][A-Za-z0-9]+)*$")
MAX_VARIABLES = 20
MAX_TEMPLATE = 4096


@dataclass(frozen=True)
class Scope:
    """Where hooks hang: a project, a group, or the instance (native only)."""

    kind: str  # "project" | "group" | "instance"
    id: int | None

    @property
    def label(self) -> str:
        return self.kind


def project_scope(access: ProjectAccess) -> Scope:
    if not access.can_admin:
        raise Forbidden("forbidden", "403 Forbidden")
    return Scope("project", access.project.id)


def group_scope(session: Session, actor: Actor, group: Namespace) -> Scope:
    actor.require_user()
    if not actor.is_admin:
        level = projects_repo.group_access_level(session, actor.user_id or 0, group)
        if level < AccessLevel.OWNER:
            raise Forbidden("forbidden", "403 Forbidden")
    return Scope("group", group.id)


def instance_scope(actor: Actor) -> Scope:
    actor.require_admin()
    return Scope("instance", None)


def _scoped(query: Any, scope: Scope, flavor: str) -> Any:
    query = query.where(Webhook.flavor == flavor)
    if scope.kind == "project":
        return query.where(Webhook.project_id == scope.id)
    if scope.kind == "group":
        return query.where(Webhook.group_id == scope.id)
    return query.where(Webhook.project_id.is_(None), Webhook.group_id.is_(None))


HOOK_SORT_COLUMNS: Columns = {"id": Webhook.id}


def list_hooks(session: Session, scope: Scope, flavor: str, page: OffsetPage) -> Page[Webhook]:
    """A scope's hooks of one flavor (`gitlab` or `native`); sort field `id`."""
    return pagination.fetch(session, _scoped(select(Webhook), scope, flavor), page, HOOK_SORT_COLUMNS)


def get_hook(session: Session, scope: Scope, flavor: str, hook_id: int) -> Webhook:
    hook: Webhook | None = session.scalar(
        _scoped(select(Webhook), scope, flavor).where(Webhook.id == hook_id)
    )
    if hook is None:
        raise NotFound("hook_not_found", "404 Not found")
    return hook


# ---------------------------------------------------------------- validation


def check_url(url: str, variables: dict[str, str], settings: Settings) -> str:
    url = url.strip()
    try:
        ssrf.check_url(ssrf.fill_variables(url, variables), settings.webhooks_allow_local)
    except ssrf.BlockedUrl as exc:
        raise RuleViolation("invalid_url", "Invalid url given") from exc
    return url


def valid_variable(key: str, value: str) -> bool:
    return bool(_VAR_KEY.match(key)) and 1 <= len(value) <= 100


def valid_header(key: str, value: str) -> bool:
    return bool(_HEADER_KEY.match(key)) and 1 <= len(value) <= 2048


def _validate_token(token: str | None) -> None:
    if token is not None and ("\n" in token or "\r" in token):
        raise RuleViolation("invalid_token", "Token must not contain a newline")


def _validate_signing(secret: str | None) -> None:
    if secret and not signing.valid_secret(secret):
        raise RuleViolation(
            "invalid_signing_token", "Signing token must be whsec_ followed by base64 of 24 to 64 bytes"
        )


def _limit(session: Session, scope: Scope, flavor: str, settings: Settings) -> None:
    count = session.scalar(_scoped(select(func.count()).select_from(Webhook), scope, flavor)) or 0
    if count >= settings.webhooks_max_per_scope:
        raise RuleViolation(
            "hook_limit",
            f"Maximum number of {scope.kind} hooks ({settings.webhooks_max_per_scope}) exceeded",
        )


# ---------------------------------------------------------------- GitLab hooks


@dataclass
class GitlabHookFields:
    """What a create or an edit of a GitLab hook gives, as the face parsed it; None: not given."""

    url: str | None = None
    token: str | None = None  # "" removes it
    signing_token: str | None = None  # "" removes it
    url_variables: dict[str, str] | None = None
    custom_headers: dict[str, str] | None = None
    flags: dict[str, bool] = field(default_factory=dict)  # the event flags given
    push_events_branch_filter: str | None = None
    branch_filter_strategy: str | None = None
    custom_webhook_template: str | None = None
    name: str | None = None
    description: str | None = None


def flags_for(scope: Scope) -> tuple[str, ...]:
    """The event flags a hook of this scope has (a group hook has a few more)."""
    return GROUP_FLAGS if scope.kind == "group" else PROJECT_FLAGS


def _apply_gitlab_options(hook: Webhook, scope: Scope, given: GitlabHookFields, creating: bool) -> None:
    options = dict(hook.options or {})
    if creating:
        for flag in flags_for(scope):
            options[flag] = FLAG_DEFAULTS.get(flag, False)
        options["branch_filter_strategy"] = "wildcard"
    options.update({flag: value for flag, value in given.flags.items() if flag in flags_for(scope)})
    if given.custom_webhook_template is not None:
        options["custom_webhook_template"] = given.custom_webhook_template
    if len(options.get("custom_webhook_template") or "") > MAX_TEMPLATE:
        raise RuleViolation(
            "invalid_template", "Custom webhook template is too long (maximum is 4096 characters)"
        )
    if given.branch_filter_strategy is not None:
        if given.branch_filter_strategy not in BRANCH_FILTER_STRATEGIES:
            raise Invalid("invalid_parameter", "branch_filter_strategy does not have a valid value")
        options["branch_filter_strategy"] = given.branch_filter_strategy
    if given.push_events_branch_filter is not None:
        options["push_events_branch_filter"] = given.push_events_branch_filter
    # Checked on every save, as GitLab validates the hook; the filter has no effect here (no pushes).
    options["push_events_branch_filter"] = branch_filters.checked(
        options.get("branch_filter_strategy", "wildcard"), options.get("push_events_branch_filter")
    )
    hook.options = options
    if given.name is not None:
        hook.name = given.name
    if given.description is not None:
        hook.description = given.description


def create_gitlab_hook(
    session: Session, actor: Actor, scope: Scope, given: GitlabHookFields, settings: Settings
) -> Webhook:
    if not given.url:
        raise Invalid("missing_parameter", "url is missing")
    variables = given.url_variables or {}
    if any(not valid_variable(k, v) for k, v in variables.items()) or len(variables) > MAX_VARIABLES:
        raise RuleViolation("invalid_url", "Invalid url given")
    headers = given.custom_headers or {}
    if any(not valid_header(k, v) for k, v in headers.items()) or len(headers) > MAX_VARIABLES:
        raise RuleViolation("invalid_headers", "Custom headers must be a valid json schema")
    _validate_token(given.token)
    _validate_signing(given.signing_token)
    hook = Webhook(
        flavor="gitlab",
        project_id=scope.id if scope.kind == "project" else None,
        group_id=scope.id if scope.kind == "group" else None,
        url=check_url(given.url, variables, settings),
        name="",
        description="",
        token=given.token or None,
        secrets=[given.signing_token] if given.signing_token else [],
        options={},
        event_types=[],
        url_variables=variables,
        custom_headers=headers,
        recent_failures=0,
        disabled=False,
        created_by_id=actor.user_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    _apply_gitlab_options(hook, scope, given, creating=True)
    _limit(session, scope, "gitlab", settings)
    session.add(hook)
    session.flush()
    return hook


def update_gitlab_hook(
    session: Session, hook: Webhook, scope: Scope, given: GitlabHookFields, settings: Settings
) -> Webhook:
    variables = dict(hook.url_variables or {})
    if given.url_variables:
        if any(not valid_variable(k, v) for k, v in given.url_variables.items()):
            raise RuleViolation("invalid_url", "Invalid url given")
        variables.update(given.url_variables)  # merged, as GitLab
    headers = dict(hook.custom_headers or {})
    if given.custom_headers and any(not valid_header(k, v) for k, v in given.custom_headers.items()):
        raise RuleViolation("invalid_headers", "Custom headers validation failed")
    _validate_token(given.token)
    if given.url and given.url.strip() != hook.url:
        hook.url = check_url(given.url, variables, settings)
        if given.token is None:  # a new URL without a new token drops the old token (GitLab)
            hook.token = None
        if given.custom_headers is None:
            headers = {}
    elif given.url_variables:
        check_url(hook.url, variables, settings)
    if given.custom_headers:
        headers.update(given.custom_headers)
    if len(variables) > MAX_VARIABLES or len(headers) > MAX_VARIABLES:
        raise RuleViolation("invalid_headers", "Custom headers validation failed")
    hook.url_variables = variables
    hook.custom_headers = headers
    if given.token is not None:
        hook.token = given.token or None
    if given.signing_token is not None:
        _validate_signing(given.signing_token)
        hook.secrets = [given.signing_token] if given.signing_token else []
    _apply_gitlab_options(hook, scope, given, creating=False)
    hook.updated_at = utcnow()
    session.flush()
    return hook


def delete_hook(session: Session, hook: Webhook) -> None:
    session.delete(hook)
    session.flush()


def set_url_variable(
    session: Session, hook: Webhook, key: str, value: str | None, settings: Settings
) -> None:
    if value is None or not valid_variable(key, value):
        raise RuleViolation("illegal_key", "Illegal key or value")
    variables = dict(hook.url_variables or {})
    variables[key] = value
    if len(variables) > MAX_VARIABLES:
        raise RuleViolation("illegal_key", "Illegal key or value")
    hook.url_variables = variables
    hook.updated_at = utcnow()
    session.flush()


def unset_url_variable(session: Session, hook: Webhook, key: str) -> None:
    variables = dict(hook.url_variables or {})
    if key not in variables:
        raise NotFound("not_found", "404 Not found")
    del variables[key]
    hook.url_variables = variables
    hook.updated_at = utcnow()
    session.flush()


def set_custom_header(session: Session, hook: Webhook, key: str, value: str | None) -> None:
    if value is None or not valid_header(key, value):
        raise RuleViolation("illegal_key", "Illegal key or value")
    headers = dict(hook.custom_headers or {})
    headers[key] = value
    if len(headers) > MAX_VARIABLES:
        raise RuleViolation("illegal_key", "Illegal key or value")
    hook.custom_headers = headers
    hook.updated_at = utcnow()
    session.flush()


def unset_custom_header(session: Session, hook: Webhook, key: str) -> None:
    headers = dict(hook.custom_headers or {})
    if key not in headers:
        raise NotFound("not_found", "404 Not found")
    del headers[key]
    hook.custom_headers = headers
    hook.updated_at = utcnow()
    session.flush()


# ---------------------------------------------------------------- logs, tests, resends

LOG_STATUSES = ("successful", "client_failure", "server_failure")
LOG_WINDOW = timedelta(days=7)


def list_logs(
    session: Session, hook: Webhook, statuses: Sequence[str], offset: int, limit: int
) -> list[WebhookLog]:
    query = select(WebhookLog).where(
        WebhookLog.hook_id == hook.id, WebhookLog.created_at >= utcnow() - LOG_WINDOW
    )
    conditions: list[Any] = []
    for status in statuses:
        if status == "successful":
            conditions.append(WebhookLog.response_status.between(200, 399))
        elif status == "client_failure":
            conditions.append(WebhookLog.response_status.between(400, 499))
        elif status == "server_failure":
            conditions.append(
                WebhookLog.response_status.between(500, 599) | WebhookLog.response_status.is_(None)
            )
        elif status.isdigit() and 100 <= int(status) <= 599:
            conditions.append(WebhookLog.response_status == int(status))
        else:
            raise Invalid("invalid_parameter", "status does not have a valid value")
    if conditions:
        from sqlalchemy import or_

        query = query.where(or_(*conditions))
    return list(session.scalars(query.order_by(WebhookLog.id.desc()).offset(offset).limit(limit)))


def count_request(session: Session, action: str, actor: Actor, scope: Scope, settings: Settings) -> None:
    """GitLab's limits on hook tests, resends and creation: per user and project (or group), a
    minute (`ISSUEGRAPH_WEBHOOKS_{TEST,RESEND,CREATE}_LIMIT`, 0: none); Throttled past one.
    Counted in the database, so every worker process and server shares the count."""
    limits = {
        "test": settings.webhooks_test_limit,
        "resend": settings.webhooks_resend_limit,
        "create": settings.webhooks_create_limit,
    }
    ratelimits.hit(session, f"hooks_{action}", f"{actor.user_id}:{scope.kind}:{scope.id}", limits[action])


def send_now(prepared: delivery.Prepared, settings: Settings) -> delivery.Outcome:
    """Send one request from request code (tests, resends) and wait for the answer."""

    async def go() -> delivery.Outcome:
        async with delivery.new_client(settings, verify=prepared.verify_tls) as client:
            return await delivery.send(prepared, settings, client)

    from issuegraph.api import runner

    if runner.ON_LOOP.get():  # a greenlet on the server's event loop: suspend it, not the loop
        from sqlalchemy.util import await_only

        result: delivery.Outcome = await_only(go())
        return result
    return asyncio.run(go())  # a worker thread: no loop of its own


def sample_payload(
    session: Session, scope: Scope, trigger: str, actor: Actor, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """The X-Gitlab-Event and body of a test, from the first issue or note of the project (of a
    group hook: of the group's projects and its subgroups'). A confidential issue, and a note
    on one, is a sample only for the confidential triggers: a hook that did not ask for
    confidential events is never sent one, by a test either (GitLab samples any issue)."""
    if scope.kind == "instance" or trigger not in (
        "issues_events",
        "confidential_issues_events",
        "note_events",
        "confidential_note_events",
    ):
        raise RuleViolation("test_unavailable", "Testing not available for this hook")
    base = settings.base_url()
    where = "the project has" if scope.kind == "project" else "the group has a project with"
    in_scope = _issues_of(session, scope)
    if not trigger.startswith("confidential"):
        in_scope = in_scope & Issue.confidential.is_(False)
    if trigger in ("issues_events", "confidential_issues_events"):
        issue = session.scalar(select(Issue).where(in_scope).order_by(Issue.id).limit(1))
        if issue is None:
            raise RuleViolation("test_no_issues", f"Ensure {where} issues.")
        view = load_views(session, [issue])[0]
        header = "Confidential Issue Hook" if trigger.startswith("confidential") else "Issue Hook"
        return header, payloads.gitlab_issue(view, actor.user, "open", {}, base)
    row = session.execute(
        select(Note, Issue)
        .join(Issue, Issue.id == Note.issue_id)
        .where(in_scope, Note.system.is_(False))
        .order_by(Note.id)
        .limit(1)
    ).first()
    if row is None:
        raise RuleViolation("test_no_notes", f"Ensure {where} notes.")
    note, issue = row
    view = load_views(session, [issue])[0]
    header = "Confidential Note Hook" if trigger.startswith("confidential") else "Note Hook"
    return header, payloads.gitlab_note(note, view, actor.user, base)


def _issues_of(session: Session, scope: Scope) -> Any:
    """Issues of a project, or of every project of a group and its subgroups."""
    if scope.kind == "project":
        return Issue.project_id == scope.id
    group = session.get(Namespace, scope.id)
    assert group is not None  # the scope was resolved from it
    namespaces = select(Namespace.id).where(projects_repo.in_tree_of(group))
    return Issue.project_id.in_(select(Project.id).where(Project.namespace_id.in_(namespaces)))


def test_hook(
    session: Session, hook: Webhook, scope: Scope, trigger: str, actor: Actor, settings: Settings
) -> delivery.Outcome:
    """Send a sample now, bypassing auto-disabling; a 2xx re-enables the hook (GitLab)."""
    header, body = sample_payload(session, scope, trigger, actor, settings)
    return _send_logged(session, hook, header, body, str(uuid.uuid4()), settings, test=True)


def _send_logged(
    session: Session,
    hook: Webhook,
    trigger: str,
    body: dict[str, Any],
    idempotency_key: str,
    settings: Settings,
    *,
    test: bool,
) -> delivery.Outcome:
    target = delivery.HookTarget.of(hook)
    try:
        prepared = delivery.prepare(target, trigger, idempotency_key, body, 1, settings)
    except ssrf.BlockedUrl as exc:
        raise RuleViolation("invalid_url", "Invalid url given") from exc
    outcome = send_now(prepared, settings)
    now = utcnow()
    session.add(
        WebhookLog(
            **delivery.log_row(hook.id, None, 1, trigger, prepared, body, idempotency_key, outcome, now)
        )
    )
    ok = outcome.status is not None and 200 <= outcome.status < 300
    if ok and test:
        delivery.record_hook_result(hook, True, now, settings)
    elif not test:
        delivery.record_hook_result(hook, outcome.ok(hook.flavor), now, settings)
    session.flush()
    return outcome


def resend_log(session: Session, hook: Webhook, log_id: int, settings: Settings) -> delivery.Outcome:
    log = session.scalar(select(WebhookLog).where(WebhookLog.id == log_id, WebhookLog.hook_id == hook.id))
    if log is None:
        raise NotFound("not_found", "404 Not found")
    current = ssrf.strip_credentials(ssrf.fill_variables(hook.url, dict(hook.url_variables or {})))
    if current != log.url:
        raise RuleViolation("url_changed", "The hook URL has changed, and this log entry cannot be retried")
    return _send_logged(
        session,
        hook,
        log.trigger,
        delivery.log_payloads(session, [log])[log.id],
        log.idempotency_key,
        settings,
        test=False,
    )


def log_status(log: WebhookLog) -> str:
    return str(log.response_status) if log.response_status is not None else "internal error"


# ---------------------------------------------------------------- native subscriptions


def _native_types(types: Sequence[str]) -> list[str]:
    from issuegraph.events.dispatch import NATIVE_TYPES

    unknown = [t for t in types if t not in NATIVE_TYPES]
    if not types or unknown:
        raise Invalid(
            "invalid_event_types",
            "event_types must name at least one of: " + ", ".join(NATIVE_TYPES),
            details={"field": "event_types", "unknown": unknown},
        )
    return list(dict.fromkeys(types))


def _native_url(url: str, settings: Settings) -> str:
    try:
        ssrf.check_url(url, settings.webhooks_allow_local)
    except ssrf.BlockedUrl as exc:
        raise Invalid("invalid_url", f"Invalid url given: {exc}", details={"field": "url"}) from exc
    return url.strip()


def _native_secret(secret: str | None) -> str:
    if secret is None:
        return signing.new_secret()
    if not signing.valid_secret(secret):
        raise Invalid(
            "invalid_secret",
            "secret must be whsec_ followed by base64 of 24 to 64 bytes",
            details={"field": "secret"},
        )
    return secret


def create_native_hook(
    session: Session,
    actor: Actor,
    scope: Scope,
    *,
    url: str,
    event_types: Sequence[str],
    description: str,
    secret: str | None,
    skip_silent: bool,
    settings: Settings,
) -> Webhook:
    now = utcnow()
    hook = Webhook(
        flavor="native",
        project_id=scope.id if scope.kind == "project" else None,
        group_id=scope.id if scope.kind == "group" else None,
        url=_native_url(url, settings),
        name="",
        description=description,
        token=None,
        secrets=[_native_secret(secret)],
        options={"skip_silent": skip_silent},
        event_types=_native_types(event_types),
        url_variables={},
        custom_headers={},
        recent_failures=0,
        disabled=False,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    _limit(session, scope, "native", settings)
    session.add(hook)
    session.flush()
    return hook


def update_native_hook(
    session: Session,
    hook: Webhook,
    *,
    url: str | None,
    event_types: Sequence[str] | None,
    description: str | None,
    skip_silent: bool | None,
    settings: Settings,
) -> Webhook:
    if url is not None:
        hook.url = _native_url(url, settings)
    if event_types is not None:
        hook.event_types = _native_types(event_types)
    if description is not None:
        hook.description = description
    if skip_silent is not None:
        hook.options = {**(hook.options or {}), "skip_silent": skip_silent}
    hook.updated_at = utcnow()
    session.flush()
    return hook


def rotate_secret(session: Session, hook: Webhook, secret: str | None) -> str:
    """A new secret signs from now on; the previous one keeps signing until expired, so a
    receiver can switch without losing a delivery (Standard Webhooks' rotation)."""
    new = _native_secret(secret)
    hook.secrets = [new, *(hook.secrets or [])[:1]]
    hook.updated_at = utcnow()
    session.flush()
    return new


def expire_previous_secret(session: Session, hook: Webhook) -> None:
    hook.secrets = list(hook.secrets or [])[:1]
    hook.updated_at = utcnow()
    session.flush()
