"""Sending deliveries: claim due work, POST it, record the outcome, retry with back-off.

At least once. A claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL) leases a delivery for longer
than an attempt can take; a process killed mid-attempt leaves the lease to expire and another
process sends the delivery again, with the same Idempotency-Key / webhook-id. A delivery waits
while an earlier delivery of the same issue to the same hook is pending, so one issue's events
arrive in commit order. Auto-disabling as GitLab does it (4th consecutive failure: paused 1 min,
doubling to 24 h; 40th: disabled), except that the events wait for the hook instead of being
dropped.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import random
import ssl
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, delete, exists, insert, literal_column, select, text, true, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from issuegraph.config import Settings
from issuegraph.db.models import Webhook, WebhookDelivery, WebhookLog, WebhookPayload, utcnow
from issuegraph.events import payloads, signing, ssrf

PAUSE_FROM = 4  # consecutive failures before the first pause
DISABLE_AT = 40
MAX_PAUSE = timedelta(hours=24)
RESPONSE_BODY_LIMIT = 8 * 1024
MAX_RESPONSE_HEADERS = 50
CLAIM_BATCH = 200
HEADS_LOCK = 7_362_811_990_002  # pg_advisory_xact_lock key: see lock_heads
# Written into the SQL, not bound: a prepared statement's generic plan may use a partial index
# (`WHERE state = 'pending'`) only when the query says that very value.
PENDING: ColumnClause[str] = literal_column("'pending'")
# Requests in flight at once. httpcore's pool scans every connection for every queued request,
# so beyond a few dozen connections the client's own bookkeeping costs more than the requests.
CONCURRENCY = 16

# httpcore asks `import sniffio` on every request; without sniffio installed each failed import
# searches sys.path again (a third of the deliverer's time in profiles). None in sys.modules
# makes that failure immediate; installed, sniffio is left alone.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


@dataclass
class HookTarget:
    """The hook fields a request needs, copied out of the session."""

    id: int
    flavor: str
    url: str
    token: str | None
    secrets: list[str]
    url_variables: dict[str, str]
    custom_headers: dict[str, str]
    verify_tls: bool = True

    @classmethod
    def of(cls, hook: Webhook) -> HookTarget:
        return cls(
            hook.id,
            hook.flavor,
            hook.url,
            hook.token,
            list(hook.secrets or []),
            dict(hook.url_variables or {}),
            dict(hook.custom_headers or {}),
            verify_tls(hook),
        )


def verify_tls(hook: Webhook) -> bool:
    """A GitLab hook's `enable_ssl_verification` (on unless turned off); native hooks always verify."""
    return hook.flavor != "gitlab" or bool((hook.options or {}).get("enable_ssl_verification", True))


@dataclass
class Prepared:
    url: str  # with variables filled in (credentials still in it)
    headers: dict[str, str]
    body: bytes
    logged_headers: dict[str, str]
    verify_tls: bool = True  # check the receiver's certificate (https only)


@dataclass
class Outcome:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None
    duration: float = 0.0

    def ok(self, flavor: str) -> bool:
        if self.status is None:
            return False
        # GitLab counts 3xx as success for its hooks; Standard Webhooks does not.
        return 200 <= self.status < (400 if flavor == "gitlab" else 300)


def prepare(
    hook: HookTarget,
    trigger: str,
    idempotency_key: str,
    payload: dict[str, Any],
    attempt: int,
    settings: Settings,
    *,
    event_id: int | None = None,
) -> Prepared:
    body = orjson.dumps(payload)
    url = ssrf.fill_variables(hook.url, hook.url_variables)
    # Custom headers first, so none of them can replace a delivery header (as GitLab).
    headers = dict(hook.custom_headers)
    redacted = dict.fromkeys(hook.custom_headers, "[REDACTED]")
    own: dict[str, str] = {"Content-Type": "application/json"}
    if hook.flavor == "gitlab":
        own.update(
            {
                "User-Agent": payloads.GITLAB_USER_AGENT,
                "X-Gitlab-Event": trigger,
                "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
                "X-Gitlab-Event-UUID": _event_uuid(event_id, idempotency_key),
                "X-Gitlab-Instance": settings.base_url(),
                "Idempotency-Key": idempotency_key,
            }
        )
        if hook.token:
            own["X-Gitlab-Token"] = hook.token
    else:
        own["User-Agent"] = payloads.NATIVE_USER_AGENT
        own["X-Issuegraph-Event"] = trigger
    own["X-Issuegraph-Attempt"] = str(attempt)
    if hook.secrets:
        own.update(signing.headers(hook.secrets, idempotency_key, int(time.time()), body))
    headers.update(own)
    logged = {**redacted, **own}
    if "X-Gitlab-Token" in logged:
        logged["X-Gitlab-Token"] = "[REDACTED]"
    return Prepared(url=url, headers=headers, body=body, logged_headers=logged, verify_tls=hook.verify_tls)


def _event_uuid(event_id: int | None, fallback: str) -> str:
    if event_id is None:
        return fallback
    from issuegraph.events.dispatch import event_uuid

    return event_uuid(event_id)


def new_client(
    settings: Settings,
    connections: int = CONCURRENCY,
    tls: ssl.SSLContext | None = None,
    *,
    verify: bool = True,
) -> httpx.AsyncClient:
    """A client for deliveries; `verify=False` skips the receiver's certificate check (a hook with
    `enable_ssl_verification: false`), otherwise `tls` (or the default CA bundle) checks it."""
    timeout = httpx.Timeout(settings.webhooks_timeout, connect=settings.webhooks_connect_timeout)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        trust_env=False,
        verify=(tls if tls is not None else True) if verify else False,
    )


class Sender:
    """CONCURRENCY lanes, each a client of its own taking the next request when free.

    One client with many connections spends its time in its pool's bookkeeping (every queued
    request scans every connection); a lane's client holds a connection or two, so that cost
    stays flat and the lanes keep their connections alive across rounds. A lane opens a second,
    non-verifying client the first time it sends for a hook with `enable_ssl_verification: false`:
    the verifying clients never skip a check."""

    def __init__(self, settings: Settings, lanes: int = CONCURRENCY) -> None:
        self.settings = settings
        tls = ssl.create_default_context()  # loading the CA bundle once, not once a lane
        self.clients = [new_client(settings, connections=2, tls=tls) for _ in range(lanes)]
        self.unverified: list[httpx.AsyncClient | None] = [None] * lanes

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in [*self.clients, *self.unverified]:
            if client is not None:
                await client.aclose()

    def _client(self, lane: int, verify: bool) -> httpx.AsyncClient:
        if verify:
            return self.clients[lane]
        client = self.unverified[lane]
        if client is None:
            client = self.unverified[lane] = new_client(self.settings, connections=2, verify=False)
        return client

    async def send_all(self, prepared: list[Prepared]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(prepared)
        queue = list(range(len(prepared) - 1, -1, -1))

        async def lane(number: int) -> None:
            while queue:
                index = queue.pop()
                client = self._client(number, prepared[index].verify_tls)
                outcomes[index] = await send(prepared[index], self.settings, client)

        await asyncio.gather(*(lane(n) for n in range(min(len(self.clients), max(1, len(prepared))))))
        return [o if o is not None else Outcome(error="not sent") for o in outcomes]


async def send(prepared: Prepared, settings: Settings, client: httpx.AsyncClient) -> Outcome:
    """One POST, bounded by the total timeout; never raises for the receiver's failures."""
    started = time.perf_counter()
    outcome = Outcome()
    try:
        target = await ssrf.resolve_target(prepared.url, settings.webhooks_allow_local)
        headers = dict(prepared.headers, Host=target.host_header)
        extensions = {"sni_hostname": target.server_name} if target.server_name else None
        request = client.build_request(
            "POST", target.url, content=prepared.body, headers=headers, extensions=extensions
        )
        if target.auth:
            user_pass = f"{target.auth[0]}:{target.auth[1]}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(user_pass).decode()
        response = await asyncio.wait_for(client.send(request), settings.webhooks_timeout)
        outcome.status = response.status_code
        outcome.headers = dict(list(response.headers.items())[:MAX_RESPONSE_HEADERS])
        outcome.body = response.text[:RESPONSE_BODY_LIMIT]
    except ssrf.BlockedUrl as exc:
        outcome.error = f"URL is blocked: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        outcome.error = "execution expired"
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    outcome.duration = time.perf_counter() - started
    return outcome


def retry_delay(attempt: int, settings: Settings) -> float:
    """Exponential back-off with jitter: base x 2^(attempt-1), capped, then 50-100 % of it."""
    ceiling = min(
        settings.webhooks_retry_max_seconds, settings.webhooks_retry_base_seconds * 2 ** (attempt - 1)
    )
    return float(ceiling * (0.5 + random.random() / 2))


def pause_for(failures: int, settings: Settings) -> timedelta | None:
    """GitLab's schedule: nothing for 1-3 failures, then 1 min x 2^(n-4) up to 24 h."""
    if failures < PAUSE_FROM:
        return None
    seconds = settings.webhooks_pause_base_seconds * 2 ** min(failures - PAUSE_FROM, 30)
    return min(timedelta(seconds=seconds), MAX_PAUSE)


def record_hook_result(hook: Webhook, ok: bool, now: datetime, settings: Settings) -> None:
    """Auto-disabling: success resets; failures pause, then disable at the 40th."""
    if ok:
        hook.recent_failures = 0
        hook.disabled_until = None
        hook.disabled = False
        return
    hook.recent_failures = (hook.recent_failures or 0) + 1
    pause = pause_for(hook.recent_failures, settings)
    if pause is not None:
        hook.disabled_until = now + pause
    if hook.recent_failures >= DISABLE_AT:
        hook.disabled = True


def alert_status(hook: Webhook, now: datetime | None = None) -> str:
    now = now or utcnow()
    if hook.disabled:
        return "disabled"
    if hook.disabled_until is not None and hook.disabled_until > now:
        return "temporarily_disabled"
    return "executable"


def log_row(
    hook_id: int,
    delivery_id: int | None,
    attempt: int,
    trigger: str,
    prepared: Prepared,
    payload: dict[str, Any],
    idempotency_key: str,
    outcome: Outcome,
    now: datetime,
) -> dict[str, Any]:
    return {
        "hook_id": hook_id,
        "delivery_id": delivery_id,
        "attempt": attempt,
        "trigger": trigger,
        "url": ssrf.strip_credentials(prepared.url),
        "idempotency_key": idempotency_key,
        "request_headers": prepared.logged_headers,
        # A delivery's attempts share its body: logged once, on the delivery (see log_payloads).
        "request_data": {} if delivery_id is not None else payload,
        "response_status": outcome.status,
        "response_headers": outcome.headers,
        "response_body": outcome.body,
        "internal_error": outcome.error,
        "execution_duration": round(outcome.duration, 6),
        "created_at": now,
    }


@dataclass
class Claimed:
    id: int
    hook: HookTarget
    event_id: int
    attempt: int
    trigger: str
    uuid: str
    payload: dict[str, Any]


def claim(session: Session, now: datetime, settings: Settings, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Lease due deliveries of executable hooks, the earliest pending one per hook and issue.

    Its cost follows the number of active hooks and of deliveries it hands out, never the
    length of the queue: for each hook that may be sent to, its heads (`head`: the earliest
    pending delivery of each issue, kept by `mark_heads` and `record`) are walked in commit
    order (a partial index on heads) up to `limit`; the first `limit` of all, in commit order,
    are then locked (SKIP LOCKED: another deliverer's are passed over) and leased.
    """
    d = WebhookDelivery
    lease_free = (d.leased_until.is_(None)) | (d.leased_until <= now)
    active = Webhook.disabled.is_(False) & (
        (Webhook.disabled_until.is_(None)) | (Webhook.disabled_until <= now)
    )
    due = (d.hook_id == Webhook.id) & d.head & (d.next_attempt_at <= now) & lease_free
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        per_hook = select(d.id, d.event_seq).where(due).order_by(d.event_seq).limit(limit).lateral("due")
        heads = select(per_hook.c.id).select_from(Webhook).join(per_hook, true())
        heads = heads.where(active).order_by(per_hook.c.event_seq, per_hook.c.id)
    else:  # no LATERAL; one deliverer, and the same partial index serves the plan
        heads = select(d.id).join(Webhook, due).where(active).order_by(d.event_seq, d.id)
    candidates = list(session.scalars(heads.limit(limit)))
    if not candidates:
        return []
    # Locked, then checked again: another deliverer may have leased some since they were read.
    locking = select(d.id).where(d.id.in_(candidates), d.state == PENDING, lease_free)
    locking = locking.order_by(d.event_seq, d.id)
    if postgres:
        locking = locking.with_for_update(skip_locked=True)
    ids = list(session.scalars(locking))
    if not ids:
        return []
    # Longer than this round can take: its attempts run CONCURRENCY at a time, each bounded by the
    # total timeout. A process that dies keeps its claims until then, then another sends them.
    rounds = -(-len(ids) // CONCURRENCY)
    lease = now + timedelta(seconds=settings.webhooks_timeout * rounds + 10)
    session.execute(
        update(d).where(d.id.in_(ids)).values(leased_until=lease, attempts=d.attempts + 1),
        execution_options={"synchronize_session": False},
    )
    rows = session.execute(
        select(d.id, d.event_id, d.attempts, d.trigger, d.uuid, WebhookPayload.body, Webhook)
        .join(Webhook, Webhook.id == d.hook_id)
        .join(WebhookPayload, _its_payload(d, Webhook.flavor))
        .where(d.id.in_(ids))
        .order_by(d.event_seq, d.id)
    ).all()
    return [Claimed(row[0], HookTarget.of(row[6]), row[1], row[2], row[3], row[4], row[5]) for row in rows]


def lock_heads(session: Session, *, shared: bool) -> None:
    """Serialise the two writers of `head` on PostgreSQL (SQLite's writes are serial already).

    The dispatcher (exclusive) makes a new delivery a head when no delivery of its hook and
    issue is pending; a success (`record`, shared: deliverers do not exclude each other) moves
    the head to the next pending one. Interleaved, a dispatcher could see the succeeding
    delivery still pending while the success's snapshot missed the new one: an issue left with
    no head, its deliveries never sent. `record` takes the lock before any row lock (the
    dispatcher's inserts wait on the hooks' rows that `record` locks) and holds it to commit.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}({HEADS_LOCK})"))


def mark_heads(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set `head` on new delivery rows (in commit order): the first of its hook and issue in
    `rows` is a head unless a delivery of them is already pending. Takes the heads lock."""
    lock_heads(session, shared=False)
    d = WebhookDelivery
    hooks = {row["hook_id"] for row in rows}
    issues = {row["order_key"] for row in rows}
    pending = session.execute(
        select(d.hook_id, d.order_key).where(d.head, d.hook_id.in_(hooks), d.order_key.in_(issues))
    )
    seen = {(hook, issue) for hook, issue in pending}
    for row in rows:
        key = (row["hook_id"], row["order_key"])
        row["head"] = key not in seen
        seen.add(key)


def record(
    session: Session, results: list[tuple[Claimed, Prepared, Outcome]], now: datetime, settings: Settings
) -> None:
    """Write the outcomes of one round: deliveries, logs and the hooks' failure counts; a
    success passes its issue's head to the next pending delivery of it to that hook."""
    if not results:
        return
    lock_heads(session, shared=True)  # first: see lock_heads
    # The hooks first, in id order: deleting a hook locks its row and then (by the cascade) its
    # deliveries, so taking the deliveries first and the hook after deadlocked with a delete.
    # A hook deleted while its deliveries were out is gone with them: nothing to record.
    by_hook: dict[int, list[bool]] = {}
    for c, _, o in results:
        by_hook.setdefault(c.hook.id, []).append(o.ok(c.hook.flavor))
    hooks = session.scalars(
        select(Webhook).where(Webhook.id.in_(by_hook)).order_by(Webhook.id).with_for_update()
    ).all()
    alive = {hook.id for hook in hooks}
    results = [r for r in results if r[0].hook.id in alive]
    done = [c.id for c, _, o in results if o.ok(c.hook.flavor)]
    failed = [
        {
            "id": c.id,
            "next_attempt_at": now + timedelta(seconds=retry_delay(c.attempt, settings)),
            "leased_until": None,
        }
        for c, _, o in results
        if not o.ok(c.hook.flavor)
    ]
    if done:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(done))
            .values(state="delivered", delivered_at=now, leased_until=None, head=False),
            execution_options={"synchronize_session": False},
        )
        # A statement of its own, after the one above: its snapshot holds every delivery that a
        # dispatcher committed before this transaction took the heads lock.
        succeeded, following = aliased(WebhookDelivery), aliased(WebhookDelivery)
        next_of_its_issue = (
            select(following.id)
            .where(
                following.hook_id == succeeded.hook_id,
                following.order_key == succeeded.order_key,
                following.state == PENDING,
            )
            .order_by(following.event_seq)
            .limit(1)
            .scalar_subquery()
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(select(next_of_its_issue).where(succeeded.id.in_(done))))
            .values(head=True),
            execution_options={"synchronize_session": False},
        )
    if failed:
        session.execute(update(WebhookDelivery), failed)
    if results:
        session.execute(
            insert(WebhookLog),
            [
                log_row(c.hook.id, c.id, c.attempt, c.trigger, p, c.payload, c.uuid, o, now)
                for c, p, o in results
            ],
        )
    for hook in hooks:
        for ok in by_hook[hook.id]:
            if ok and hook.recent_failures == 0 and hook.disabled_until is None and not hook.disabled:
                continue
            record_hook_result(hook, ok, now, settings)


def _its_payload(d: Any, flavor: Any) -> ColumnElement[bool]:
    """The join condition of a delivery and its body (the event's, about its issue, its flavor)."""
    p = WebhookPayload
    return and_(p.event_id == d.event_id, p.order_key == d.order_key, p.flavor == flavor)


def prune(session: Session, now: datetime, settings: Settings) -> int:
    """Delivery logs, delivered deliveries and the bodies no delivery needs, older than the
    retention age. A body stays while any delivery of its event and issue does (a pending one
    may be older than the retention age: a paused hook's events are kept)."""
    cutoff = now - timedelta(days=settings.webhooks_log_retention_days)
    logs = session.execute(delete(WebhookLog).where(WebhookLog.created_at < cutoff))
    session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.state == "delivered", WebhookDelivery.delivered_at < cutoff
        )
    )
    p = WebhookPayload
    needed = exists().where(WebhookDelivery.event_id == p.event_id, WebhookDelivery.order_key == p.order_key)
    session.execute(delete(p).where(p.created_at < cutoff, ~needed))
    return int(getattr(logs, "rowcount", 0) or 0)


def log_payloads(session: Session, logs: list[WebhookLog]) -> dict[int, dict[str, Any]]:
    """The bodies the logs sent, by log id (a delivery's attempts keep it on the delivery)."""
    ids = {log.delivery_id for log in logs if log.delivery_id is not None and not log.request_data}
    d = WebhookDelivery
    bodies: dict[int, Any] = (
        dict(
            session.execute(
                select(d.id, WebhookPayload.body)
                .join(Webhook, Webhook.id == d.hook_id)
                .join(WebhookPayload, _its_payload(d, Webhook.flavor))
                .where(d.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    return {
        log.id: dict(log.request_data) if log.request_data else dict(bodies.get(log.delivery_id or -1) or {})
        for log in logs
    }
