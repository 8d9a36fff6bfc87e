"""Shared steps of the webhook tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from issuegraph.db.engine import Database
from issuegraph.db.models import Webhook, WebhookDelivery, WebhookLog


def add_hook(factory: Any, project: dict[str, Any], url: str, **attrs: Any) -> dict[str, Any]:
    response = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks",
        headers=factory.admin.headers,
        json={"url": url, "issues_events": True, "note_events": True, **attrs},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def deliveries(database: Database, hook_id: int) -> list[WebhookDelivery]:
    with database.session() as session:
        return list(
            session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.hook_id == hook_id).order_by(WebhookDelivery.id)
            )
        )


def logs(database: Database, hook_id: int) -> list[WebhookLog]:
    with database.session() as session:
        return list(
            session.scalars(select(WebhookLog).where(WebhookLog.hook_id == hook_id).order_by(WebhookLog.id))
        )


def hook_row(database: Database, hook_id: int) -> Webhook:
    with database.session() as session:
        hook = session.get(Webhook, hook_id)
        assert hook is not None
        return hook
