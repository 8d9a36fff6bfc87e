"""E-mail notifications to the people who follow an issue, sent by the same durable delivery.

Off unless `ISSUEGRAPH_SMTP_URL` is set (`smtp://[user:password@]host[:port]`, `smtps://` for TLS
from the start). Link changes, state changes and comments notify an issue's followers (author,
assignees, commenters, explicit subscribers; explicit unsubscribes win), never the person who
made the change, never someone who cannot read the issue, and never for a change made with
`silent=true`. Each mail is a `notifications` row: retried with back-off until the server takes it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.config import Settings
from issuegraph.db.models import Event, IssueAssignee, Notification, User
from issuegraph.events import subscriptions
from issuegraph.issues.repository import IssueView
from issuegraph.projects.service import access_for

BATCH = 100


def _subjects(event: Event, views: dict[int, IssueView]) -> list[tuple[int, str, str, int | None]]:
    """(issue id, subject, text, other issue id) for each issue whose followers hear of this event.
    The other issue is the one a link mail names: a follower must be able to read it too."""
    payload: dict[str, Any] = dict(event.payload or {})
    view = views.get(event.issue_id or -1)
    if event.kind == "issue_comment.create" and view is not None:
        return [
            (view.issue.id, f"Re: {_ref(view)} {view.issue.title}", f"New comment on {_ref(view)}.", None)
        ]
    if event.kind == "issue.update" and view is not None:
        changes: Any = payload.get("changes") or {}
        state = changes.get("state") if isinstance(changes, dict) else None
        if isinstance(state, dict):
            word = "closed" if state.get("current") == "closed" else "reopened"
            subject = f"{_ref(view)} was {word}: {view.issue.title}"
            return [(view.issue.id, subject, f"{_ref(view)} was {word}.", None)]
        return []
    if event.kind in ("issue_link.create", "issue_link.delete"):
        ends = [views.get(int(payload.get(k, -1))) for k in ("source_id", "target_id")]
        if None in ends:
            return []
        a, b = ends[0], ends[1]
        assert a is not None and b is not None
        verb = "linked to" if event.kind == "issue_link.create" else "unlinked from"
        kind = str(payload.get("link_type", "related_to")).replace("_", " ")
        return [
            (
                a.issue.id,
                f"{_ref(a)} {verb} {_ref(b)}",
                f"{_ref(a)} was {verb} {_ref(b)} ({kind}).",
                b.issue.id,
            ),
            (
                b.issue.id,
                f"{_ref(b)} {verb} {_ref(a)}",
                f"{_ref(b)} was {verb} {_ref(a)} ({kind}).",
                a.issue.id,
            ),
        ]
    return []


def _ref(view: IssueView) -> str:
    return f"{view.project.full_path}#{view.issue.iid}"


def notifications(
    session: Session, events: Sequence[Event], views: dict[int, IssueView], base: str
) -> list[dict[str, Any]]:
    """The mails a batch of dispatched events causes (rows for `notifications`)."""
    wanted = [(e, s) for e in events if not e.silent for s in _subjects(e, views)]
    if not wanted:
        return []
    follow = subscriptions.followers(session, sorted({subject[0] for _, subject in wanted}))
    named = {other for _, (_, _, _, other) in wanted if other is not None}
    user_ids = {u for users in follow.values() for u in users}
    users = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids), User.state == "active"))
    }
    assignees: dict[int, list[int]] = {}
    for issue_id, user_id in session.execute(
        select(IssueAssignee.issue_id, IssueAssignee.user_id).where(
            IssueAssignee.issue_id.in_(list(set(follow) | named))
        )
    ):
        assignees.setdefault(issue_id, []).append(user_id)
    rows: list[dict[str, Any]] = []

    def can_read(user: User, issue_id: int) -> bool:
        view = views[issue_id]
        access = access_for(session, Actor(user), [(view.project, view.namespace)])[view.project.id]
        return access.can_read_issue(view.issue, assignees.get(issue_id, []))

    for event, (issue_id, subject, text, other_id) in wanted:
        view = views[issue_id]
        for user_id in sorted(follow.get(issue_id, set())):
            user = users.get(user_id)
            if user is None or user_id == event.actor_id:
                continue
            if not can_read(user, issue_id):
                continue  # never mail about an issue the person cannot read
            if other_id is not None and not can_read(user, other_id):
                continue  # nor name one in a link mail (as a system note is hidden from them)
            url = f"{base}/{view.project.full_path}/-/issues/{view.issue.iid}"
            rows.append(
                {
                    "event_id": event.id,
                    "issue_id": issue_id,
                    "user_id": user_id,
                    "email": user.email,
                    "subject": subject,
                    "body": f"{text}\n\n{url}\n\nYou follow this issue; unsubscribe there.\n",
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": event.created_at,
                    "created_at": event.created_at,
                }
            )
    return rows


def add(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Notification), rows)


def claim(session: Session, now: datetime, lease_seconds: float) -> list[Notification]:
    query = (
        select(Notification)
        .where(
            Notification.state == "pending",
            Notification.next_attempt_at <= now,
            (Notification.leased_until.is_(None)) | (Notification.leased_until <= now),
        )
        .order_by(Notification.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.leased_until = now + timedelta(seconds=lease_seconds)
        row.attempts += 1
    session.flush()
    return rows


def send(settings: Settings, mails: list[tuple[int, str, str, str]]) -> dict[int, str | None]:
    """Send (id, to, subject, body) mails over one SMTP connection; error text per failed id."""
    url = urlsplit(settings.smtp_url or "")
    result: dict[int, str | None] = {}
    try:
        cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with cls(
            url.hostname or "localhost",
            url.port or (465 if url.scheme == "smtps" else 25),
            timeout=settings.webhooks_timeout,
        ) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            for mail_id, to, subject, body in mails:
                message = EmailMessage()
                message["From"] = settings.smtp_from
                message["To"] = to
                message["Subject"] = subject
                message.set_content(body)
                try:
                    smtp.send_message(message)
                    result[mail_id] = None
                except smtplib.SMTPException as exc:
                    result[mail_id] = str(exc)
    except (OSError, smtplib.SMTPException) as exc:
        for mail_id, *_ in mails:
            result.setdefault(mail_id, str(exc) or type(exc).__name__)
    return result


def record(session: Session, outcomes: dict[int, str | None], now: datetime, retry: Any) -> None:
    for mail_id, error in outcomes.items():
        row = session.get(Notification, mail_id)
        if row is None:
            continue
        if error is None:
            row.state, row.sent_at, row.leased_until = "sent", now, None
        else:
            row.next_attempt_at = now + timedelta(seconds=retry(row.attempts))
            row.leased_until = None
            row.last_error = error[:1000]
    session.flush()
