"""Each body is stored once per event, issue and flavor, and every hook of that flavor is sent it;
bodies are pruned with the last delivery that needs them; the migration moves them both ways."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import create_engine, delete, select, text, update

from issuegraph.config import get_settings
from issuegraph.db import migrate
from issuegraph.db.engine import Database
from issuegraph.db.models import WebhookDelivery, WebhookPayload, utcnow
from issuegraph.events import delivery
from issuegraph.testing.serverproc import free_port
from tests.events.conftest import Deliverer
from tests.events.helpers import add_hook, deliveries
from tests.events.receiver import Receiver

BEFORE_PAYLOADS = "9c4d2e7f1a86"


def _subscribe(factory: Any, project: dict[str, Any], url: str, types: list[str]) -> dict[str, Any]:
    response = factory.client.post(
        f"/api/graph/v1/projects/{project['id']}/webhooks",
        headers=factory.admin.headers,
        json={"url": url, "event_types": types},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _payloads(database: Database) -> list[WebhookPayload]:
    with database.session() as session:
        return list(session.scalars(select(WebhookPayload)))


def _two_issues_and_a_link(factory: Any, receiver: Receiver, gitlab: int, native: int) -> dict[str, Any]:
    project = factory.project("p1")
    for n in range(gitlab):
        add_hook(factory, project, f"{receiver.url}?gitlab={n}")
    for n in range(native):
        _subscribe(factory, project, f"{receiver.url}?native={n}", ["issue.created", "issue_link.created"])
    a = factory.issue(project, "a")
    b = factory.issue(project, "b")
    factory.link(a, b)
    return project


def test_one_body_per_issue_and_flavor_sent_to_every_hook(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """Three GitLab hooks and two native subscriptions hear of two issues and a link: 18
    deliveries but 7 stored bodies (GitLab: each issue's creation and both issues' update for the
    link; native: each creation and the link once), and each hook gets the stored bytes."""
    _two_issues_and_a_link(factory, receiver, gitlab=3, native=2)
    deliverer.until_idle()
    stored = _payloads(database)
    assert Counter(p.flavor for p in stored) == {"gitlab": 4, "native": 3}
    with database.session() as session:
        assert session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.state != "delivered")) is None
        assert len(list(session.scalars(select(WebhookDelivery.id)))) == 18
    requests = receiver.wait_for(18)
    by_flavor: dict[str, Counter[str]] = {"gitlab": Counter(), "native": Counter()}
    for req in requests:
        flavor = "gitlab" if req.header("X-Gitlab-Event") else "native"
        by_flavor[flavor][req.body.decode()] += 1
    for flavor, hooks in (("gitlab", 3), ("native", 2)):
        bodies = [json.loads(body) for body in by_flavor[flavor]]
        assert sorted(map(json.dumps, bodies)) == sorted(
            json.dumps(p.body) for p in stored if p.flavor == flavor
        )
        assert set(by_flavor[flavor].values()) == {hooks}  # every hook of the flavor got each body


def test_a_body_is_pruned_with_the_last_delivery_that_needs_it(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """Past the retention age, a delivered delivery goes; its body stays while another hook's
    delivery of the same event is still pending, and goes with it."""
    project = factory.project("p1")
    add_hook(factory, project, receiver.url)
    down = add_hook(factory, project, f"http://127.0.0.1:{free_port()}/down")
    factory.issue(project, "old")
    deliverer.round()
    assert sorted(d.state for d in deliveries(database, down["id"])) == ["pending"]
    old = utcnow() - timedelta(days=30)
    with database.session() as session:
        session.execute(update(WebhookPayload).values(created_at=old))
        session.execute(
            update(WebhookDelivery).where(WebhookDelivery.delivered_at.is_not(None)).values(delivered_at=old)
        )
        delivery.prune(session, utcnow(), get_settings())
    with database.session() as session:
        assert [d.hook_id for d in session.scalars(select(WebhookDelivery))] == [down["id"]]
    [kept] = _payloads(database)
    assert kept.body["object_attributes"]["title"] == "old"
    with database.session() as session:
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.hook_id == down["id"]))
        delivery.prune(session, utcnow(), get_settings())
    assert _payloads(database) == []


def test_migration_moves_the_bodies_and_back(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database, database_url: str
) -> None:
    """Downgrading gives every delivery its own copy of its body again; upgrading stores each
    body once per event, issue and flavor, the same bodies as before."""
    _two_issues_and_a_link(factory, receiver, gitlab=2, native=1)
    deliverer.worker.dispatch_all()
    join = (
        "SELECT d.id, p.body FROM webhook_deliveries d JOIN webhooks w ON w.id = d.hook_id"
        " JOIN webhook_payloads p ON p.event_id = d.event_id AND p.order_key = d.order_key"
        " AND p.flavor = w.flavor ORDER BY d.id"
    )
    engine = create_engine(database_url)
    database.dispose()
    try:
        with engine.connect() as conn:
            before = [(i, _json(body)) for i, body in conn.execute(text(join))]
            keys = conn.execute(text("SELECT event_id, order_key, flavor FROM webhook_payloads")).all()
        engine.dispose()
        command.downgrade(migrate.alembic_config(database_url), BEFORE_PAYLOADS)
        with engine.connect() as conn:
            copies = [
                (i, _json(body))
                for i, body in conn.execute(text("SELECT id, payload FROM webhook_deliveries ORDER BY id"))
            ]
        engine.dispose()
        assert copies == before and len(before) == 11
    finally:
        migrate.upgrade(database_url)  # the session's PostgreSQL database stays at head
    with engine.connect() as conn:
        after = [(i, _json(body)) for i, body in conn.execute(text(join))]
        keys_after = conn.execute(text("SELECT event_id, order_key, flavor FROM webhook_payloads")).all()
    engine.dispose()
    assert after == before and sorted(keys_after) == sorted(keys) and len(keys) == 7


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
