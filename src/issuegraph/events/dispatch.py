"""From the outbox to deliveries: give events their commit-order `seq`, fan them out to hooks.

One dispatcher at a time (a transaction-scoped advisory lock on PostgreSQL; SQLite has one
writer), so `seq` grows in the order events became visible, and the deliveries of one issue's
events are created in that order. The events row keeps what happened; the body built for an
issue is stored once per flavor (`webhook_payloads`) and every hook of that flavor is sent it, so a
retry sends the very same bytes and ten hooks do not store ten copies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from issuegraph.db.models import (
    Event,
    Issue,
    Namespace,
    Note,
    Project,
    User,
    Webhook,
    WebhookDelivery,
    WebhookPayload,
)
from issuegraph.domain.links import LinkType, to_gitlab_name, type_seen_from
from issuegraph.events import delivery, mail, payloads
from issuegraph.issues.repository import IssueView, load_views
from issuegraph.projects.repository import ancestor_ids

BATCH = 500
DISPATCH_LOCK = 7_362_811_990_001  # pg_advisory_xact_lock key of the one dispatcher
EVENT_NAMESPACE = uuid.UUID("5b0f6a39-8a57-4f0e-9a47-6f1f5d6c3e11")

# Native event types a subscription may choose.
NATIVE_TYPES = (
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
)
GRAPH_TYPES = frozenset({"issue.blocked", "issue.unblocked", "issue.children_done"})
CAUSE_ISSUE_KEYS = ("blocker_id", "child_id")  # issues a graph event's cause names


def _payload(event: Event) -> dict[str, Any]:
    return dict(event.payload or {})


def event_uuid(event_id: int) -> str:
    """X-Gitlab-Event-UUID: one per event, the same for every hook and attempt."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"event-{event_id}"))


@dataclass
class Occurrence:
    """What one event means for one issue: the hooks of that issue's project hear of it."""

    issue_id: int
    project_id: int
    gitlab_trigger: str | None  # "issue" or "note", None: nothing for GitLab hooks
    gitlab_action: str = "update"
    changes: dict[str, Any] = field(default_factory=dict)
    native_type: str | None = None
    native_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    """Everything the payloads of one batch of events need, loaded once."""

    views: dict[int, IssueView]
    users: dict[int, User]
    notes: dict[int, Note]
    projects: dict[int, tuple[Project, Namespace]]
    base: str


def dispatch_once(session: Session, base_url: str, *, limit: int = BATCH, mail_on: bool = False) -> int:
    """Hand out up to `limit` events in the caller's transaction; returns how many."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and not session.scalar(text(f"SELECT pg_try_advisory_xact_lock({DISPATCH_LOCK})")):
        return 0  # another process is dispatching right now
    # One statement numbers the batch: the events are loaded only when hooks or mail need them
    # (with neither, this is all a dispatch round costs the serving process).
    after = select(func.coalesce(func.max(Event.seq), 0)).scalar_subquery()
    numbered = (
        select(Event.id, (func.row_number().over(order_by=Event.id) + after).label("seq"))
        .where(Event.seq.is_(None))
        .order_by(Event.id)
        .limit(limit)
        .subquery()
    )
    assigned = session.execute(
        update(Event).where(Event.id == numbered.c.id).values(seq=numbered.c.seq).returning(Event.id),
        execution_options={"synchronize_session": False},
    ).all()
    if not assigned:
        return 0
    any_hook = session.scalar(select(Webhook.id).limit(1)) is not None
    created = False
    if any_hook or mail_on:
        ids = [row[0] for row in assigned]
        events = list(session.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.seq)))
        hooks = _hooks_in_scope(session, events) if any_hook else []
        if not hooks and not mail_on:
            return len(assigned)  # hooks elsewhere: nothing here is sent to anyone
        batch = _load(session, events, base_url)
        fanned = _fan_out(events, hooks, batch)
        if fanned.payloads:
            session.execute(insert(WebhookPayload), fanned.payload_rows())
        if fanned.deliveries:
            delivery.mark_heads(session, fanned.deliveries)
            session.execute(insert(WebhookDelivery), fanned.deliveries)
        notifications = mail.notifications(session, events, batch.views, base_url) if mail_on else []
        mail.add(session, notifications)
        created = bool(fanned.deliveries or notifications)
    if postgres and created:  # wake the deliverers (not for events nobody is sent)
        session.execute(text("SELECT pg_notify('issuegraph_deliveries', '')"))
    return len(assigned)


def _occurrences(event: Event, batch: Batch) -> list[Occurrence]:
    payload = _payload(event)
    kind = event.kind
    if event.issue_id is None or event.project_id is None:
        return []
    if kind == "issue.create":
        return [Occurrence(event.issue_id, event.project_id, "issue", "open", native_type="issue.created")]
    if kind == "issue.update":
        changes = dict(payload.get("changes") or {})
        state = changes.get("state")
        action, native = "update", "issue.updated"
        if state and state.get("current") == "closed":
            action, native = "close", "issue.closed"
        elif state and state.get("current") == "opened":
            action, native = "reopen", "issue.reopened"
        return [Occurrence(event.issue_id, event.project_id, "issue", action, changes, native)]
    if kind == "issue.delete":
        return [
            Occurrence(
                event.issue_id,
                event.project_id,
                "issue",
                "delete",
                native_type="issue.deleted",
                native_data={"issue": payload.get("issue") or {"id": event.issue_id}},
            )
        ]
    if kind == "issue_comment.create":
        note_id = payload.get("note_id")
        data = {"note_id": note_id}
        note = batch.notes.get(int(note_id)) if note_id else None
        if note is not None:
            data = {"note": {"id": note.id, "body": note.body, "author_id": note.author_id}}
        return [
            Occurrence(event.issue_id, event.project_id, "note", native_type="note.created", native_data=data)
        ]
    if kind in ("issue_link.create", "issue_link.delete"):
        return _link_occurrences(event, payload, batch)
    if kind in GRAPH_TYPES:  # native only: GitLab has no such event
        cause = dict(payload.get("cause") or {})
        this = batch.views.get(event.issue_id)
        for key in CAUSE_ISSUE_KEYS:  # the blocker, the child that closed
            named = batch.views.get(int(cause.get(key) or 0))
            if cause.get(key) and not (named and this and names_other(this, named)):
                cause[key] = None
        payload = {**payload, "cause": cause}
        return [Occurrence(event.issue_id, event.project_id, None, native_type=kind, native_data=payload)]
    return []


def _link_occurrences(event: Event, payload: dict[str, Any], batch: Batch) -> list[Occurrence]:
    created = event.kind == "issue_link.create"
    source_id, target_id = int(payload["source_id"]), int(payload["target_id"])
    persisted = LinkType(payload["link_type"])
    native_type = "issue_link.created" if created else "issue_link.deleted"
    link = {"id": event.link_id, "source_id": source_id, "target_id": target_id, "link_type": persisted.value}
    found = []
    for issue_id, other_id in ((source_id, target_id), (target_id, source_id)):
        view = batch.views.get(issue_id)
        other = batch.views.get(other_id)
        if view is None:
            continue
        seen = type_seen_from(persisted, viewer_is_source=issue_id == source_id)
        named = other is not None and names_other(view, other)
        entry = {
            "id": event.link_id,
            "link_type": to_gitlab_name(seen),
            "issue_id": other_id if named else None,
            "issue_iid": other.issue.iid if named and other else None,
            "project_id": other.issue.project_id if named and other else None,
        }
        link_seen = link if named else {**link, ("target_id" if issue_id == source_id else "source_id"): None}
        change = {"previous": [], "current": [entry]} if created else {"previous": [entry], "current": []}
        found.append(
            Occurrence(
                issue_id,
                view.issue.project_id,
                "issue",
                "update",
                {"links": change},
                native_type,
                {"link": link_seen},
            )
        )
    return found


def names_other(view: IssueView, other: IssueView) -> bool:
    """Whether an event about `view` may name `other` to the hooks of `view`'s project.

    A hook has no reader of its own: its audience is whoever may read `view`'s project (its
    maintainers set it up). They can read every issue of that project; of other projects only
    what any signed-in user can read (a public or internal project, the issue not confidential).
    Otherwise the entry keeps the link and its type but not which issue is at the other end."""
    if other.issue.project_id == view.issue.project_id:
        return True
    return other.project.visibility in ("public", "internal") and not other.issue.confidential


def _load(session: Session, events: Sequence[Event], base: str) -> Batch:
    issue_ids: set[int] = set()
    note_ids: set[int] = set()
    user_ids: set[int] = set()
    project_ids: set[int] = set()
    for e in events:
        issue_ids |= _issues_named(e)
        if e.project_id is not None:
            project_ids.add(e.project_id)
        if e.actor_id is not None:
            user_ids.add(e.actor_id)
        payload = _payload(e)
        if "note_id" in payload:
            note_ids.add(int(payload["note_id"]))
    issues = list(session.scalars(select(Issue).where(Issue.id.in_(issue_ids)))) if issue_ids else []
    views = {v.issue.id: v for v in load_views(session, issues)}
    project_ids |= {v.project.id for v in views.values()}
    # Issues deleted since: their delete event kept a record of them, enough to describe them.
    gone = issue_ids - views.keys()
    deleted: dict[int, dict[str, Any]] = {}
    if gone:
        for record in session.scalars(
            select(Event.payload).where(Event.kind == "issue.delete", Event.issue_id.in_(gone))
        ):
            issue_record = dict(record or {}).get("issue")
            if isinstance(issue_record, dict) and "id" in issue_record:
                deleted[int(issue_record["id"])] = issue_record
                project_ids.add(int(issue_record["project_id"]))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    notes = {n.id: n for n in session.scalars(select(Note).where(Note.id.in_(note_ids)))} if note_ids else {}
    projects = {
        p.id: (p, n)
        for p, n in session.execute(
            select(Project, Namespace)
            .join(Namespace, Namespace.id == Project.namespace_id)
            .where(Project.id.in_(project_ids))
        )
    }
    for issue_id, issue_record in deleted.items():
        found = projects.get(int(issue_record["project_id"]))
        if found is not None:
            issue = Issue(**{k: v for k, v in issue_record.items() if hasattr(Issue, k)})
            views[issue_id] = IssueView(issue=issue, project=found[0], namespace=found[1], author=None)
    return Batch(views, users, notes, projects, base)


def _issues_named(event: Event) -> set[int]:
    """The issues an event is about or names (a link's ends, a graph event's cause)."""
    payload = _payload(event)
    named = {int(payload[key]) for key in ("source_id", "target_id") if key in payload}
    cause = dict(payload.get("cause") or {})
    named |= {int(cause[key]) for key in CAUSE_ISSUE_KEYS if cause.get(key)}
    if event.issue_id is not None:
        named.add(event.issue_id)
    return named


def _hooks_in_scope(session: Session, events: Sequence[Event]) -> list[Webhook]:
    """The hooks that can hear of these events: of the projects of the issues they name, of
    those projects' groups and ancestors, and instance-wide ones; never the whole table (its
    size is not this batch's business). Found from ids alone, before anything is loaded for the
    bodies: events of projects no hook covers cost three small lookups."""
    issue_ids: set[int] = set()
    project_ids = {e.project_id for e in events if e.project_id is not None}
    for e in events:
        issue_ids |= _issues_named(e)
    if issue_ids:
        found = dict(session.execute(select(Issue.id, Issue.project_id).where(Issue.id.in_(issue_ids))).all())
        project_ids |= set(found.values())
        if gone := issue_ids - found.keys():  # deleted since: their delete event has the project
            deletions = select(Event.project_id).where(Event.kind == "issue.delete", Event.issue_id.in_(gone))
            project_ids |= {p for p in session.scalars(deletions) if p is not None}
    group_ids: set[int] = set()
    if project_ids:
        namespaces = session.scalars(
            select(Namespace)
            .join(Project, Project.namespace_id == Namespace.id)
            .where(Project.id.in_(project_ids))
        )
        group_ids = {g for namespace in namespaces for g in ancestor_ids(namespace)}
    scope = Webhook.project_id.is_(None) & Webhook.group_id.is_(None)
    if project_ids:
        scope = scope | Webhook.project_id.in_(sorted(project_ids))
    if group_ids:
        scope = scope | Webhook.group_id.in_(sorted(group_ids))
    return list(session.scalars(select(Webhook).where(scope).order_by(Webhook.id)))


def _hook_matches(hook: Webhook, project: Project, namespace: Namespace, event: Event) -> bool:
    if hook.created_at > event.created_at:
        return False
    if hook.project_id is not None:
        return hook.project_id == project.id
    if hook.group_id is not None:
        return str(hook.group_id) in namespace.traversal_ids.split("/")
    return hook.flavor == "native"  # instance-wide


def _gitlab_wants(hook: Webhook, trigger: str, confidential: bool) -> str | None:
    """The X-Gitlab-Event this hook is sent for the trigger, or None if it has not asked."""
    opts = hook.options or {}
    if trigger == "issue":
        if confidential:
            return "Confidential Issue Hook" if opts.get("confidential_issues_events") else None
        return "Issue Hook" if opts.get("issues_events") else None
    if confidential:
        return "Confidential Note Hook" if opts.get("confidential_note_events") else None
    return "Note Hook" if opts.get("note_events") else None


PayloadKey = tuple[int, int, str]  # event id, issue id (order_key), flavor


@dataclass
class FannedOut:
    """The deliveries of a batch and the bodies they send, each body once per issue and flavor
    (an event has at most one occurrence per issue, so that is all a body depends on)."""

    deliveries: list[dict[str, Any]] = field(default_factory=list)
    payloads: dict[PayloadKey, tuple[dict[str, Any], datetime]] = field(default_factory=dict)
    unsent: set[PayloadKey] = field(default_factory=set)  # built as None: nothing to send

    def body(self, key: PayloadKey, event: Event, build: Callable[[], dict[str, Any] | None]) -> bool:
        """Whether the body under `key` exists, built by `build()` the first time it is asked."""
        if key not in self.payloads and key not in self.unsent:
            built = build()
            if built is None:
                self.unsent.add(key)
            else:
                self.payloads[key] = (built, event.created_at)
        return key in self.payloads

    def payload_rows(self) -> list[dict[str, Any]]:
        return [
            {"event_id": e, "order_key": o, "flavor": f, "body": body, "created_at": at}
            for (e, o, f), (body, at) in self.payloads.items()
        ]


def _fan_out(events: Sequence[Event], hooks: list[Webhook], batch: Batch) -> FannedOut:
    base = batch.base
    out = FannedOut()
    for event in events:
        assert event.seq is not None
        actor = batch.users.get(event.actor_id or -1)
        native_seen: set[int] = set()
        for occ in _occurrences(event, batch):
            view = batch.views.get(occ.issue_id)
            if view is None:
                continue
            for hook in hooks:
                if not _hook_matches(hook, view.project, view.namespace, event):
                    continue
                if hook.flavor == "gitlab":
                    if occ.gitlab_trigger is None:
                        continue
                    header = _gitlab_wants(hook, occ.gitlab_trigger, view.issue.confidential)
                    if header is None:
                        continue
                    key = (event.id, occ.issue_id, "gitlab")
                    if out.body(key, event, partial(_gitlab_body, event, occ, view, actor, batch)):
                        out.deliveries.append(_row(hook, event, occ.issue_id, header))
                else:
                    if occ.native_type is None or hook.id in native_seen:
                        continue
                    if occ.native_type not in (hook.event_types or []):
                        continue
                    if event.silent and (hook.options or {}).get("skip_silent"):
                        continue
                    native_seen.add(hook.id)
                    key = (event.id, occ.issue_id, "native")
                    out.body(key, event, partial(_native_body, event, occ, view, actor, base))
                    out.deliveries.append(_row(hook, event, occ.issue_id, occ.native_type))
    return out


def _native_body(event: Event, occ: Occurrence, view: IssueView, actor: Any, base: str) -> dict[str, Any]:
    assert occ.native_type is not None
    data = {"issue": payloads.native_issue(view, base), **occ.native_data}
    if occ.changes:
        data["changes"] = occ.changes
    return payloads.native_envelope(occ.native_type, event.id, event.created_at, actor, event.silent, data)


def _gitlab_body(
    event: Event, occ: Occurrence, view: IssueView, actor: Any, batch: Batch
) -> dict[str, Any] | None:
    if occ.gitlab_trigger == "note":
        note_id = _payload(event).get("note_id")
        note = batch.notes.get(int(note_id)) if note_id else None
        if note is None:
            return None
        return payloads.gitlab_note(note, view, actor, batch.base, silent=event.silent)
    return payloads.gitlab_issue(view, actor, occ.gitlab_action, occ.changes, batch.base, silent=event.silent)


def _row(hook: Webhook, event: Event, order_key: int, trigger: str) -> dict[str, Any]:
    now: datetime = event.created_at
    return {
        "hook_id": hook.id,
        "event_id": event.id,
        "event_seq": event.seq,
        "order_key": order_key,
        "trigger": trigger,
        "uuid": str(uuid.uuid4()),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def pending_counts(session: Session) -> dict[str, int]:
    """Events not yet dispatched and deliveries not yet delivered (for health and tests)."""
    undispatched = session.scalar(select(func.count()).select_from(Event).where(Event.seq.is_(None))) or 0
    pending = (
        session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.state == "pending")
        )
        or 0
    )
    return {"events": int(undispatched), "deliveries": int(pending)}
