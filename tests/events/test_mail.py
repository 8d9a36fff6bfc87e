"""Notifications by e-mail to an issue's followers, over a real SMTP server on loopback (aiosmtpd),
and who follows (subscriptions; their API is tested in tests/api/gitlab/test_subscriptions.py)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from issuegraph.config import Settings
from issuegraph.db.engine import Database
from issuegraph.testing.serverproc import free_port
from tests.events.conftest import Deliverer
from tests.events.helpers import add_hook
from tests.events.receiver import Receiver


class Sink:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"

    def subjects(self) -> list[tuple[str, str]]:
        return sorted((to[0], str(message_from_string(text)["Subject"])) for to, text in self.mails)


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mailer(database: Database, settings: Settings, smtp: tuple[Sink, int]) -> Deliverer:
    return Deliverer(database, settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp[1]}"}))


def test_followers_are_mailed(factory: Any, smtp: tuple[Sink, int], mailer: Deliverer) -> None:
    """Author, commenter and assignee hear of comments, state and link changes; the actor never."""
    sink, _ = smtp
    project = factory.project("p1")
    author, commenter, assignee = factory.user("ann"), factory.user("bob"), factory.user("cat")
    for user in (author, commenter, assignee):
        factory.member(project, user, 30)
    issue = factory.issue(project, "t", by=author, assignee_ids=[assignee.id])
    other = factory.issue(project, "o")
    notes = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}/notes"
    assert factory.client.post(notes, headers=commenter.headers, json={"body": "hi"}).status_code == 201
    mailer.until_idle()
    ref = f"{project['path_with_namespace']}#{issue['iid']}"
    assert sink.subjects() == [
        ("ann@example.test", f"Re: {ref} t"),
        ("cat@example.test", f"Re: {ref} t"),
    ]
    sink.mails.clear()
    url = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}"
    factory.client.put(url, headers=factory.admin.headers, json={"title": "renamed"})  # an edit: no mail
    assert (
        factory.client.put(url, headers=factory.admin.headers, json={"state_event": "close"}).status_code
        == 200
    )
    factory.link(issue, other, "relates_to")
    mailer.until_idle()
    got = sink.subjects()
    for who in ("ann", "bob", "cat"):
        assert (f"{who}@example.test", f"{ref} was closed: renamed") in got
        assert (
            f"{who}@example.test",
            f"{ref} linked to {project['path_with_namespace']}#{other['iid']}",
        ) in got
    assert len(got) == 6 and all(not to.startswith("root") for to, _ in got)


def test_silent_changes_send_no_mail_but_reach_webhooks(
    factory: Any, smtp: tuple[Sink, int], mailer: Deliverer, receiver: Receiver
) -> None:
    """A SourceCraft comment with silent=true mails nobody; the webhook gets it, "silent": true."""
    sink, _ = smtp
    group = factory.group("org")
    project = factory.project("repo", group=group)
    author = factory.user("ann")
    factory.member(project, author, 30)
    issue = factory.issue(project, "t", by=author)
    add_hook(factory, project, receiver.url, issues_events=False)
    path = f"/repos/org/repo/issues/{issue['iid']}/comments"
    assert (
        factory.client.post(
            path, headers=factory.admin.bearer, json={"body": "shh"}, params={"silent": "true"}
        ).status_code
        == 201
    )
    assert factory.client.post(path, headers=factory.admin.bearer, json={"body": "hey"}).status_code == 201
    mailer.until_idle()
    bodies = [r.json for r in receiver.wait_for(2)]
    assert [b.get("silent", False) for b in bodies] == [True, False]
    assert len(sink.mails) == 1  # only the comment that was not silent


def test_no_mail_about_an_issue_the_person_cannot_read(
    factory: Any, smtp: tuple[Sink, int], mailer: Deliverer
) -> None:
    """A follower who lost access to a private project is not told about its issue."""
    sink, _ = smtp
    project = factory.project("p1")
    author, leaver = factory.user("ann"), factory.user("lee")
    factory.member(project, author, 30)
    factory.member(project, leaver, 30)
    issue = factory.issue(project, "t", by=author)
    notes = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}/notes"
    factory.client.post(notes, headers=leaver.headers, json={"body": "following"})
    mailer.until_idle()
    response = factory.client.delete(
        f"/api/v4/projects/{project['id']}/members/{leaver.id}", headers=factory.admin.headers
    )
    assert response.status_code == 204, response.text
    factory.client.post(notes, headers=factory.admin.headers, json={"body": "news"})
    mailer.until_idle()
    assert [to for to, _ in sink.subjects()] == ["ann@example.test", "ann@example.test"]


def test_no_link_mail_names_an_issue_the_person_cannot_read(
    factory: Any, smtp: tuple[Sink, int], mailer: Deliverer
) -> None:
    """A link to a private issue mails the public issue's follower only if they can read both."""
    sink, _ = smtp
    public = factory.project("pub", visibility="public")
    private = factory.project("priv")
    outsider, insider = factory.user("out"), factory.user("ins")
    factory.member(private, insider, 30)
    issue = factory.issue(public, "open to all")
    hidden = factory.issue(private, "secret")
    notes = f"/api/v4/projects/{public['id']}/issues/{issue['iid']}/notes"
    for user in (outsider, insider):
        assert factory.client.post(notes, headers=user.headers, json={"body": "follow"}).status_code == 201
    mailer.until_idle()
    sink.mails.clear()
    factory.link(issue, hidden, "blocks")
    mailer.until_idle()
    got = sink.subjects()
    assert [to for to, _ in got] == ["ins@example.test"]
    assert all("priv" not in text for to, text in sink.mails if "out@" in to[0])


def test_unsubscribed_followers_get_no_mail(factory: Any, smtp: tuple[Sink, int], mailer: Deliverer) -> None:
    """A member who subscribes hears of the issue; its author, once unsubscribed, does not. (The
    subscribe/unsubscribe API itself: tests/api/gitlab/test_subscriptions.py.)"""
    sink, _ = smtp
    project = factory.project("p1")
    author, watcher = factory.user("ann"), factory.user("wes")
    factory.member(project, author, 30)
    factory.member(project, watcher, 30)
    issue = factory.issue(project, "t", by=author)
    base = f"/api/v4/projects/{project['id']}/issues/{issue['iid']}"
    assert factory.client.post(f"{base}/subscribe", headers=watcher.headers).status_code == 201
    assert factory.client.post(f"{base}/unsubscribe", headers=author.headers).status_code == 201
    factory.client.put(base, headers=factory.admin.headers, json={"state_event": "close"})
    mailer.until_idle()
    assert [to for to, _ in sink.subjects()] == ["wes@example.test"]
