"""Delivery that loses nothing: retries, timeouts, order, auto-disabling, SSRF, resend, pruning."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, text, update

from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Webhook, WebhookDelivery, WebhookLog, utcnow
from issuegraph.events import delivery
from issuegraph.testing.serverproc import free_port
from tests.events.conftest import Deliverer
from tests.events.helpers import add_hook, deliveries, hook_row, logs
from tests.events.receiver import Receiver, running_receiver


def test_failed_deliveries_are_retried_with_back_off(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """Two 500s, then a 200: the same event, same Idempotency-Key, attempts 1..3, all logged."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    receiver.script = [500, 503]
    factory.issue(project, "x")
    assert deliverer.round() == 1
    [pending] = deliveries(database, hook["id"])
    assert pending.state == "pending" and pending.next_attempt_at > utcnow() - timedelta(seconds=1)
    deliverer.until_idle()
    requests = receiver.wait_for(3)
    assert [r.header("X-Issuegraph-Attempt") for r in requests] == ["1", "2", "3"]
    assert len({r.header("Idempotency-Key") for r in requests}) == 1
    assert len({r.header("X-Gitlab-Webhook-UUID") for r in requests}) == 3
    assert [log.response_status for log in logs(database, hook["id"])] == [500, 503, 200]
    [done] = deliveries(database, hook["id"])
    assert (done.state, done.attempts) == ("delivered", 3)
    assert hook_row(database, hook["id"]).recent_failures == 0


def test_receiver_down_then_up(factory: Any, deliverer: Deliverer, database: Database) -> None:
    """Nothing listening: the attempt fails and is kept; once the receiver is up it is delivered."""
    port = free_port()
    project = factory.project("p1")
    hook = add_hook(factory, project, f"http://127.0.0.1:{port}/hook")
    factory.issue(project, "x")
    assert deliverer.round() == 1
    [failed] = logs(database, hook["id"])
    assert failed.response_status is None and failed.internal_error
    with running_receiver(port) as receiver:
        deliverer.until_idle()
        [req] = receiver.wait_for(1)
        assert req.json["object_attributes"]["title"] == "x"
    assert deliveries(database, hook["id"])[0].state == "delivered"


def test_slow_receiver_times_out_and_is_retried(
    factory: Any, receiver: Receiver, database: Database, settings: Settings
) -> None:
    """A receiver slower than the timeout fails the attempt ("execution expired"); the retry lands."""
    quick = Deliverer(database, settings.model_copy(update={"webhooks_timeout": 0.3}))
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    receiver.delay = 1.0
    factory.issue(project, "x")
    assert quick.round() == 1
    [first] = logs(database, hook["id"])
    assert first.internal_error == "execution expired" and first.execution_duration < 1.0
    receiver.delay = 0
    quick.until_idle()
    assert deliveries(database, hook["id"])[0].state == "delivered"
    assert logs(database, hook["id"])[-1].response_status == 200


def test_one_issue_in_commit_order_even_across_failures(
    factory: Any, receiver: Receiver, deliverer: Deliverer
) -> None:
    """While an issue's earlier event is being retried, its later events wait behind it."""
    project = factory.project("p1")
    add_hook(factory, project, receiver.url)
    receiver.script = [500, 500]
    issue = factory.issue(project, "t0")
    url = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}"
    for n in range(1, 4):
        assert (
            factory.client.put(url, headers=factory.admin.headers, json={"title": f"t{n}"}).status_code == 200
        )
    deliverer.until_idle()
    requests = receiver.wait_for(6)
    # the first event failed twice, and nothing overtook it
    assert [r.json["object_attributes"]["action"] for r in requests[:3]] == ["open"] * 3
    steps = [r.json["changes"]["title"] for r in requests[3:]]
    assert steps == [{"previous": f"t{n}", "current": f"t{n + 1}"} for n in range(3)]
    ids = [r.header("Idempotency-Key") for r in requests]
    assert ids[0] == ids[1] == ids[2] and len(set(ids[2:])) == 4


def test_auto_disable_pauses_keeps_events_and_a_test_re_enables(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """From the 4th failure the hook pauses for 1 min (events kept); a passing test resets it."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    receiver.status = 500
    factory.issue(project, "x")
    deliverer.until(lambda: len(receiver.requests) >= 4)
    deliverer.until_idle()
    assert len(receiver.requests) == 4  # the 4th failure paused it: no 5th attempt
    got = factory.client.get(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}", headers=factory.admin.headers
    )
    assert got.json()["alert_status"] == "temporarily_disabled"
    row = hook_row(database, hook["id"])
    assert row.recent_failures == 4 and row.disabled_until is not None
    assert timedelta(seconds=55) < row.disabled_until - utcnow() <= timedelta(seconds=60)
    assert deliveries(database, hook["id"])[0].state == "pending"  # kept, not dropped
    receiver.status = 200
    tested = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}/test/issues_events",
        headers=factory.admin.headers,
    )
    assert tested.status_code == 201 and tested.json() == {"message": "201 Created"}
    got = factory.client.get(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}", headers=factory.admin.headers
    )
    assert got.json()["alert_status"] == "executable" and got.json()["disabled_until"] is None
    deliverer.until_idle()
    assert deliveries(database, hook["id"])[0].state == "delivered"


def test_disabled_for_good_at_the_40th_failure(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """The 40th consecutive failure disables the hook; its events wait until a test passes."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    with database.session() as session:
        session.execute(update(Webhook).where(Webhook.id == hook["id"]).values(recent_failures=39))
    receiver.status = 500
    factory.issue(project, "x")
    deliverer.round()
    assert hook_row(database, hook["id"]).disabled
    got = factory.client.get(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}", headers=factory.admin.headers
    )
    assert got.json()["alert_status"] == "disabled"
    with database.session() as session:  # even once the pause is over, a disabled hook waits
        session.execute(update(Webhook).where(Webhook.id == hook["id"]).values(disabled_until=None))
    assert deliverer.round() == 0
    receiver.status = 200
    tested = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}/test/issues_events",
        headers=factory.admin.headers,
    )
    assert tested.status_code == 201
    deliverer.until_idle()
    assert deliveries(database, hook["id"])[0].state == "delivered"


def test_pause_schedule_is_gitlabs() -> None:
    """1-3 failures: no pause; then 1 min doubling (2, 4 ... min) up to 24 h."""
    s = Settings()
    assert [delivery.pause_for(n, s) for n in (1, 2, 3)] == [None, None, None]
    assert delivery.pause_for(4, s) == timedelta(minutes=1)
    assert delivery.pause_for(5, s) == timedelta(minutes=2)
    assert delivery.pause_for(14, s) == timedelta(minutes=1024)
    assert delivery.pause_for(15, s) == timedelta(hours=24)
    assert delivery.pause_for(39, s) == timedelta(hours=24)


def test_retry_delay_grows_with_jitter() -> None:
    """Back-off doubles per attempt, capped, each delay between half and all of its ceiling."""
    s = Settings(webhooks_retry_base_seconds=10, webhooks_retry_max_seconds=3600)
    for attempt, ceiling in ((1, 10), (2, 20), (5, 160), (20, 3600)):
        delays = {delivery.retry_delay(attempt, s) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1


def test_local_addresses_refused_at_creation(factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ALLOW_LOCAL, loopback, private and metadata URLs get 422 Invalid url given."""
    monkeypatch.setenv("ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL", "false")
    monkeypatch.setenv("ISSUEGRAPH_WEBHOOKS_CREATE_LIMIT", "0")  # eight attempts in one minute
    get_settings.cache_clear()
    project = factory.project("p1")
    for url in (
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/",
        "javascript:alert(1)",
    ):
        response = factory.client.post(
            f"/api/v4/projects/{project['id']}/hooks", headers=factory.admin.headers, json={"url": url}
        )
        assert (response.status_code, response.json()) == (422, {"message": "Invalid url given"}), url


def test_metadata_refused_even_when_local_is_allowed(factory: Any) -> None:
    """The cloud metadata address stays refused with ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL=true."""
    project = factory.project("p1")
    response = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks",
        headers=factory.admin.headers,
        json={"url": "http://169.254.169.254/latest"},
    )
    assert response.status_code == 422


def test_local_address_refused_at_delivery(
    factory: Any, receiver: Receiver, database: Database, settings: Settings
) -> None:
    """A hook saved while local was allowed is refused at delivery once it is not: nothing is sent."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url.replace("127.0.0.1", "localhost"))
    strict = Deliverer(database, settings.model_copy(update={"webhooks_allow_local": False}))
    factory.issue(project, "x")
    assert strict.round() == 1
    [log] = logs(database, hook["id"])
    assert log.internal_error == "URL is blocked: Requests to the local network are not allowed"
    assert receiver.requests == []
    assert deliveries(database, hook["id"])[0].state == "pending"


def test_delivery_log_and_resend(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """The hook's events list shows each attempt; resend sends the same body and Idempotency-Key."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    receiver.script = [404]
    factory.issue(project, "x")
    deliverer.until_idle()
    base = f"/api/v4/projects/{project['id']}/hooks/{hook['id']}/events"
    events = factory.client.get(base, headers=factory.admin.headers).json()
    assert [e["response_status"] for e in events] == ["200", "404"]  # newest first
    assert events[0]["request_headers"]["X-Gitlab-Event"] == "Issue Hook"
    assert events[0]["request_data"]["object_attributes"]["title"] == "x"
    assert events[0]["response_body"] == "ok" and events[0]["execution_duration"] >= 0
    only_failed = factory.client.get(base + "?status=client_failure", headers=factory.admin.headers).json()
    assert [e["response_status"] for e in only_failed] == ["404"]
    assert factory.client.get(base + "?status=weird", headers=factory.admin.headers).status_code == 400
    resent = factory.client.post(f"{base}/{events[1]['id']}/resend", headers=factory.admin.headers)
    assert (resent.status_code, resent.json()) == (201, {"response_status": 200})
    requests = receiver.wait_for(3)
    assert requests[2].body == requests[1].body
    assert requests[2].header("Idempotency-Key") == requests[0].header("Idempotency-Key")


def test_old_logs_are_pruned(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database
) -> None:
    """Logs and delivered deliveries older than the retention age are deleted; newer ones stay."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    factory.issue(project, "old")
    factory.issue(project, "new")
    deliverer.until_idle()
    [old, new] = logs(database, hook["id"])
    with database.session() as session:
        session.execute(
            update(WebhookLog).where(WebhookLog.id == old.id).values(created_at=utcnow() - timedelta(days=8))
        )
        delivery.prune(session, utcnow(), get_settings())
    assert [log.id for log in logs(database, hook["id"])] == [new.id]


def test_hook_deleted_while_its_delivery_is_out(
    factory: Any, receiver: Receiver, deliverer: Deliverer, database: Database, settings: Settings
) -> None:
    """The hook is deleted between the claim and the outcome: the outcome is dropped (the
    deliveries went with the hook), no error, and the worker goes on. Writing the outcome used
    to lock the deliveries before the hook, the reverse of a delete's order: on PostgreSQL the
    two deadlocked (a 500 for the DELETE), and a log row for the deleted hook broke its key."""
    project = factory.project("p1")
    hook = add_hook(factory, project, receiver.url)
    kept = add_hook(factory, project, receiver.url)
    factory.issue(project, "x")
    deliverer.worker.dispatch_all()
    with database.session() as session:
        claimed = delivery.claim(session, utcnow(), settings)
    assert {c.hook.id for c in claimed} == {hook["id"], kept["id"]}
    response = factory.client.delete(
        f"/api/v4/projects/{project['id']}/hooks/{hook['id']}", headers=factory.admin.headers
    )
    assert response.status_code == 204, response.text
    results = [(c, delivery.Prepared(c.hook.url, {}, b"", {}), delivery.Outcome(status=200)) for c in claimed]
    with database.session() as session:
        delivery.record(session, results, utcnow(), settings)
    assert deliveries(database, hook["id"]) == [] and logs(database, hook["id"]) == []
    assert [d.state for d in deliveries(database, kept["id"])] == ["delivered"]
    assert [log.response_status for log in logs(database, kept["id"])] == [200]


def _queue(database: Database, hooks: list[int], issues: int, per_issue: int) -> None:
    """`per_issue` pending deliveries of each of `issues` issues to each hook, interleaved in
    commit order (issue 0, 1, ..., then issue 0 again): written directly, the claim's input."""
    rows = [
        {
            "hook_id": hook,
            "event_id": seq,
            "event_seq": seq,
            "order_key": seq % issues,
            "trigger": "issue",
            "uuid": f"00000000-0000-4000-8000-{seq:012d}",
            "next_attempt_at": utcnow() - timedelta(minutes=1),
            "head": seq <= issues,  # as the dispatcher marks them
        }
        for hook in hooks
        for seq in range(1, issues * per_issue + 1)
    ]
    with database.session() as session:
        session.execute(insert(WebhookDelivery), rows)
        session.commit()


def _heads(database: Database, settings: Settings) -> tuple[list[tuple[int, int]], int | None]:
    """Claim once (rolled back) and run its first statement again, the one that picks the heads
    of the queue: the (seq, hook) it picks and, on PostgreSQL, the buffers it touched."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.session() as session:
            delivery.claim(session, utcnow(), settings, limit=50)
            session.rollback()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    statement, parameters = next((s, p) for s, p in sent if s.startswith("SELECT"))  # not BEGIN
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(statement, parameters)
        ids = [row[0] for row in cursor.fetchall()]
        buffers = None
        if database.settings.is_sqlite is False:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0][0]["Plan"]
            buffers = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
        raw.rollback()
    finally:
        raw.close()
    with database.session() as session:
        picked = {
            row.id: (row.event_seq, row.hook_id)
            for row in session.execute(
                select(WebhookDelivery.id, WebhookDelivery.event_seq, WebhookDelivery.hook_id).where(
                    WebhookDelivery.id.in_(ids)
                )
            )
        }
    return [picked[i] for i in ids], buffers


def test_a_claim_costs_what_it_hands_out_not_the_queue(
    factory: Any, database: Database, settings: Settings
) -> None:
    """The claim picks the earliest pending delivery of each hook and issue, in commit order, and
    on PostgreSQL reads a few pages with a queue fifty times longer, with statistics and without
    (a queue that grew from empty before autoanalyze ran). It used to walk each hook's pending
    deliveries and ask of each whether an earlier one of its issue was pending: with fewer
    issues than its limit it read the whole queue, and without statistics the planner read it
    once per candidate (2.6 s a claim with 59,000 pending: a backlog drained at 180 a second)."""
    project = factory.project("p1")
    hooks = [add_hook(factory, project, f"http://127.0.0.1:{free_port()}/")["id"] for _ in range(2)]
    # Seqs 1-40 are the issues' first deliveries: the 50 earliest of both hooks' 80 heads.
    expected = sorted((seq, hook) for hook in hooks for seq in range(1, 41))[:50]
    _queue(database, hooks, issues=40, per_issue=5)
    picked, small = _heads(database, settings)
    assert picked == expected
    with database.session() as session:
        session.execute(delete(WebhookDelivery))
        session.commit()
    _queue(database, hooks, issues=40, per_issue=250)  # 20,000 rows: hundreds of pages
    picked, large = _heads(database, settings)
    assert picked == expected
    if small is None:  # SQLite: no buffers to count
        return
    with database.engine.connect() as conn:
        conn.execute(text("ANALYZE webhook_deliveries"))
        conn.commit()
    picked, analyzed = _heads(database, settings)
    assert picked == expected
    assert large is not None and analyzed is not None
    # A few pages either way (the heads of the longer queue lie further apart); reading the
    # queue cost tens of thousands.
    assert max(small, large, analyzed) < 50, (small, large, analyzed)


def test_one_head_per_hook_and_issue(factory: Any, database: Database) -> None:
    """The database refuses a second head for a hook and issue (a unique partial index): the
    dispatcher and a success, which move heads, can never let two of one issue go at once."""
    from sqlalchemy.exc import IntegrityError

    project = factory.project("p1")
    hook = add_hook(factory, project, f"http://127.0.0.1:{free_port()}/")["id"]
    _queue(database, [hook], issues=2, per_issue=2)  # seqs 1 and 2 are the heads
    with database.session() as session, pytest.raises(IntegrityError):
        session.execute(update(WebhookDelivery).where(WebhookDelivery.event_seq == 3).values(head=True))
        session.flush()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer at a time
def test_a_success_and_a_new_delivery_of_its_issue_never_leave_it_headless(
    factory: Any, database: Database, settings: Settings
) -> None:
    """PostgreSQL, two transactions at once: a deliverer records the success of an issue's only
    pending delivery while the dispatcher adds the issue's next one. Each could miss the other
    (the success finds no successor to hand the head to; the dispatcher sees a head still there
    and adds the new delivery without one), leaving a delivery that is never sent. The heads
    lock orders them: the dispatcher waits for the success to commit, then makes its delivery
    the head."""
    import threading

    from issuegraph.events import dispatch

    project = factory.project("p1")
    hook = add_hook(factory, project, f"http://127.0.0.1:{free_port()}/")
    issue = factory.issue(project, "x")
    with database.session() as session:
        dispatch.dispatch_once(session, settings.base_url())
        session.commit()
    with database.session() as session:
        [claimed] = delivery.claim(session, utcnow(), settings)
        session.commit()
    prepared = delivery.prepare(
        claimed.hook, claimed.trigger, claimed.uuid, claimed.payload, claimed.attempt, settings
    )
    url = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}"
    assert factory.client.put(url, headers=factory.admin.headers, json={"title": "y"}).status_code == 200

    done = threading.Event()

    def dispatcher() -> None:
        with database.session() as session:
            dispatch.dispatch_once(session, settings.base_url())
            session.commit()
        done.set()

    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        " AND datname = current_database()"
    )
    thread = threading.Thread(target=dispatcher)
    with database.session() as succeeding, database.engine.connect() as watch:
        delivery.lock_heads(succeeding, shared=True)  # the success's first statement: under way
        thread.start()
        for _ in range(500):  # the dispatcher reaches the lock and waits there (5 s at most)
            if watch.execute(waiting).scalar():
                break
            watch.rollback()
            threading.Event().wait(0.01)
        else:
            raise AssertionError("the dispatcher did not wait for the heads lock")
        assert not done.is_set()
        delivery.record(succeeding, [(claimed, prepared, delivery.Outcome(status=200))], utcnow(), settings)
        succeeding.commit()
    thread.join(10)
    assert done.is_set()
    rows = deliveries(database, hook["id"])
    assert [(r.state, r.head) for r in sorted(rows, key=lambda r: r.event_seq)] == [
        ("delivered", False),
        ("pending", True),
    ]
