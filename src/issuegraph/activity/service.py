"""System notes and the event outbox, written inside the caller's transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from issuegraph.db.models import Event, Note, utcnow

# Core inserts on the tables, built once: these rows are written on every change, and the
# ORM's bulk-insert machinery costs more than the statement itself.
_INSERT_NOTE = insert(cast(Table, Note.__table__))
_INSERT_EVENT = insert(cast(Table, Event.__table__))


def add_system_note(session: Session, issue_id: int, author_id: int | None, body: str, action: str) -> None:
    now = utcnow()
    session.execute(
        insert(Note).values(
            issue_id=issue_id,
            author_id=author_id,
            body=body,
            system=True,
            system_action=action,
            created_at=now,
            updated_at=now,
        )
    )


def add_system_notes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Several system notes in one statement."""
    now = utcnow()
    session.connection().execute(
        _INSERT_NOTE,
        [{"system": True, "created_at": now, "updated_at": now, **row} for row in rows],
    )


def record_event(
    session: Session,
    kind: str,
    project_id: int | None,
    issue_id: int | None,
    link_id: int | None,
    actor_id: int | None,
    silent: bool,
    payload: dict[str, Any] | None = None,
) -> None:
    session.connection().execute(
        _INSERT_EVENT,
        {
            "kind": kind,
            "project_id": project_id,
            "issue_id": issue_id,
            "link_id": link_id,
            "actor_id": actor_id,
            "silent": silent,
            "payload": payload or {},
            "created_at": utcnow(),
        },
    )
