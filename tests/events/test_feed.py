"""The change feed: cursor pages and Server-Sent Events, only what the caller can read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.conftest import recorded_queries
from tests.events.conftest import Deliverer

G = "/api/graph/v1"


def _all(factory: Any, who: Any, query: str) -> list[dict[str, Any]]:
    items, cursor = [], ""
    for _ in range(50):
        response = factory.client.get(f"{G}/events?{query}&per_page=2{cursor}", headers=who.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            return items
        items += page["items"]
        cursor = f"&cursor={page['next_cursor']}"
    raise AssertionError("feed did not end")


def test_pages_in_commit_order_and_cursor_is_durable(factory: Any, deliverer: Deliverer) -> None:
    """Pages follow seq; a saved cursor later yields exactly the newer events."""
    project = factory.project("p1")
    a = factory.issue(project, "a")
    factory.issue(project, "b")
    factory.link(a, factory.issue(project, "c"), "blocks")
    deliverer.round()
    items = _all(factory, factory.admin, f"project={project['id']}")
    assert [i["type"] for i in items] == ["issue.created"] * 3 + ["issue_link.created", "issue.blocked"]
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)
    saved = items[-1]["cursor"]
    factory.issue(project, "d")
    deliverer.round()
    newer = factory.client.get(
        f"{G}/events?project={project['id']}&cursor={saved}", headers=factory.admin.headers
    )
    assert [i["type"] for i in newer.json()["items"]] == ["issue.created"]


def test_only_readable_events(factory: Any, deliverer: Deliverer) -> None:
    """A guest does not see a confidential issue's events; a stranger gets 404; bad input 400."""
    project = factory.project("p1")
    guest, planner, stranger = factory.user(), factory.user(), factory.user()
    factory.member(project, guest, 10)
    factory.member(project, planner, 15)
    factory.issue(project, "open")
    factory.issue(project, "secret", confidential=True)
    deliverer.round()
    assert len(_all(factory, guest, f"project={project['id']}")) == 1
    assert len(_all(factory, planner, f"project={project['id']}")) == 2
    assert (
        factory.client.get(f"{G}/events?project={project['id']}", headers=stranger.headers).status_code == 404
    )
    assert factory.client.get(f"{G}/events", headers=guest.headers).status_code == 400
    bad = factory.client.get(f"{G}/events?project={project['id']}&cursor=%%%", headers=guest.headers)
    assert bad.status_code == 400


def test_link_events_naming_an_unreadable_issue_are_left_out(factory: Any, deliverer: Deliverer) -> None:
    """A private issue blocks a public one: the public issue's `issue.blocked` names its blocker, so
    a reader of the public project who cannot read the blocker does not see it; a member does."""
    public = factory.project("pub", visibility="public")
    private = factory.project("priv")
    reader, insider = factory.user(), factory.user()
    factory.member(private, insider, 30)
    factory.member(public, insider, 30)
    issue = factory.issue(public, "open to all")
    factory.link(factory.issue(private, "secret"), issue, "blocks")
    deliverer.round()
    assert [i["type"] for i in _all(factory, reader, f"project={public['id']}")] == ["issue.created"]
    seen = [i["type"] for i in _all(factory, insider, f"project={public['id']}")]
    assert seen == ["issue.created", "issue.blocked"]  # the link event is in the private project's feed


def test_children_done_naming_an_unreadable_child_is_left_out(factory: Any, deliverer: Deliverer) -> None:
    """A public parent's last open sub-issue is confidential: its closing makes the parent's
    `issue.children_done`, whose data names the child; a Guest, who cannot read the child, does
    not see that event (nor the child's id), a Planner does."""
    project = factory.project("pub", visibility="public")
    guest, planner = factory.user(), factory.user()
    factory.member(project, guest, 10)
    factory.member(project, planner, 15)
    parent = factory.issue(project, "parent")
    child = factory.issue(project, "secret child", confidential=True)
    factory.link(parent, child, "parent_of")
    closed = factory.client.put(
        f"/api/v4/projects/{project['id']}/issues/{child['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )
    assert closed.status_code == 200, closed.text
    deliverer.round()
    seen = _all(factory, guest, f"project={project['id']}")
    assert [i["type"] for i in seen] == ["issue.created"]
    assert str(child["id"]) not in str([i["data"] for i in seen])
    types = [i["type"] for i in _all(factory, planner, f"project={project['id']}")]
    assert "issue.children_done" in types


def test_group_scope(factory: Any, deliverer: Deliverer) -> None:
    """A group feed shows its projects' events, not other groups'."""
    group, other = factory.group("g"), factory.group("o")
    factory.issue(factory.project("in", group=group), "in")
    factory.issue(factory.project("out", group=other), "out")
    deliverer.round()
    items = _all(factory, factory.admin, f"group={group['id']}")
    assert [i["type"] for i in items] == ["issue.created"]


def test_stream_resumes_with_last_event_id(factory: Any, deliverer: Deliverer) -> None:
    """text/event-stream with one event per change; Last-Event-ID resumes after that event."""
    project = factory.project("p1")
    for title in ("a", "b", "c"):
        factory.issue(project, title)
    deliverer.round()

    def first_events(headers: dict[str, str], count: int) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        with factory.client.stream(
            "GET", f"{G}/events/stream?project={project['id']}", headers=headers
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            current: dict[str, str] = {}
            for line in response.iter_lines():
                if line.startswith(("id:", "event:")):
                    key, _, value = line.partition(":")
                    current[key] = value.strip()
                elif line == "" and current:
                    found.append((current["id"], current["event"]))
                    current = {}
                    if len(found) >= count:
                        break
        return found

    events = first_events(factory.admin.headers, 3)
    assert [e for _, e in events] == ["issue.created"] * 3
    resumed = first_events({**factory.admin.headers, "Last-Event-ID": events[0][0]}, 2)
    assert resumed == events[1:]


def _next_event_or_end(lines: Iterator[str]) -> str | None:
    """The type of the next event the stream sends, or None when the server ends it."""
    for line in lines:
        if line.startswith("event:"):
            return line.partition(":")[2].strip()
        if line.startswith(": keep-alive"):
            return "keep-alive"
    return None


def test_stream_stops_when_the_reader_loses_access(factory: Any, deliverer: Deliverer) -> None:
    """A member removed from a private project while their stream is open gets none of the
    project's later events: the stream ends at the next change instead of sending it."""
    project = factory.project("p1")
    member = factory.user()
    factory.member(project, member, 30)
    factory.issue(project, "before")
    deliverer.round()
    url = f"{G}/events/stream?project={project['id']}"
    with factory.client.stream("GET", url, headers=member.headers) as response:
        lines = response.iter_lines()
        assert _next_event_or_end(lines) == "issue.created"
        factory.issue(project, "while a member")  # sent: the check before sending lets it through
        deliverer.round()
        assert _next_event_or_end(lines) == "issue.created"
        removed = factory.client.delete(
            f"/api/v4/projects/{project['id']}/members/{member.id}", headers=factory.admin.headers
        )
        assert removed.status_code == 204, removed.text
        factory.issue(project, "after the removal")
        deliverer.round()
        assert _next_event_or_end(lines) is None


def test_stream_stops_when_the_token_is_revoked(factory: Any, deliverer: Deliverer) -> None:
    """A stream opened with a token that is revoked afterwards sends nothing more."""
    project = factory.project("pub", visibility="public")
    reader = factory.user()
    factory.issue(project, "before")
    deliverer.round()
    url = f"{G}/events/stream?project={project['id']}"
    with factory.client.stream("GET", url, headers=reader.headers) as response:
        lines = response.iter_lines()
        assert _next_event_or_end(lines) == "issue.created"
        factory.issue(project, "while the token is valid")
        deliverer.round()
        assert _next_event_or_end(lines) == "issue.created"
        token_id = factory.client.get("/api/v4/personal_access_tokens/self", headers=reader.headers).json()[
            "id"
        ]
        revoked = factory.client.delete(
            f"/api/v4/personal_access_tokens/{token_id}", headers=factory.admin.headers
        )
        assert revoked.status_code == 204, revoked.text
        factory.issue(project, "after the revocation")
        deliverer.round()
        assert _next_event_or_end(lines) is None


def test_dispatch_numbers_in_id_order_and_costs_three_statements_without_hooks(
    factory: Any, database: Any
) -> None:
    """With no hook and no mail, a dispatch round numbers its events in one statement (no event
    is loaded, nobody is woken): its cost does not follow the batch. Seqs continue the last one."""
    from sqlalchemy import select

    from issuegraph.db.models import Event
    from issuegraph.events import dispatch

    project = factory.project("p1")
    for n in range(3):
        factory.issue(project, f"i{n}")
    with database.session() as session:
        assert dispatch.dispatch_once(session, "http://x", limit=2) == 2
        session.commit()
    for n in range(3, 30):
        factory.issue(project, f"i{n}")
    with recorded_queries(database.engine) as sent, database.session() as session:
        assert dispatch.dispatch_once(session, "http://x") == 30 - 2  # all but the two numbered
        session.commit()
    with database.session() as session:
        rows = session.execute(select(Event.id, Event.seq).order_by(Event.id)).all()
    assert [seq for _, seq in rows] == list(range(1, len(rows) + 1))
    statements = [s.split()[0] for s in sent if not s.startswith(("BEGIN", "COMMIT"))]
    postgres = database.settings.is_sqlite is False
    assert statements == (["SELECT"] if postgres else []) + ["UPDATE", "SELECT"], sent
    assert not any("pg_notify" in s for s in sent)
