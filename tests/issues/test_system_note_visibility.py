"""A system note that names an issue is shown only to readers of that issue (GitLab hides it)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Factory


@pytest.fixture
def world(factory: Factory) -> dict[str, Any]:
    public = factory.project("pub", visibility="public")
    private = factory.project("priv", visibility="private")
    hid = factory.group("hid", visibility="private")
    deep = factory.project("deep", group=hid, visibility="private")
    issue = factory.issue(public, "open to all")
    secret = factory.issue(public, "secret", confidential=True)
    factory.link(issue, factory.issue(private, "private one"), "is_blocked_by")
    factory.link(issue, factory.issue(deep, "deep one"), "is_blocked_by")
    factory.link(issue, secret, "is_blocked_by")
    factory.link(issue, factory.issue(public, "visible"), "relates_to")
    guest, insider = factory.user("guest"), factory.user("insider")
    factory.member(public, guest, 10)
    for project in (public, private, deep):
        factory.member(project, insider, 20)
    return {"public": public, "issue": issue, "secret": secret, "guest": guest, "insider": insider}


def _notes(client: TestClient, world: dict[str, Any], who: Account | None) -> Any:
    url = f"/api/v4/projects/{world['public']['id']}/issues/{world['issue']['iid']}/notes?per_page=100"
    response = client.get(url, headers=who.headers if who else {})
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("who", ["anonymous", "guest"])
def test_link_notes_naming_hidden_issues_are_left_out(client, world, who):
    """Anonymous and a Guest see the note about the readable link only: no private path, no
    confidential iid, and the X-Total header counts what is shown."""
    response = _notes(client, world, world.get(who))
    bodies = [n["body"] for n in response.json()]
    assert bodies == ["marked this issue as related to #3"], bodies
    assert response.headers["X-Total"] == "1"


def test_reader_of_every_issue_sees_every_link_note(client, world):
    """A Reporter of all three projects (reads confidential issues) sees all four link notes."""
    text = " ".join(n["body"] for n in _notes(client, world, world["insider"]).json())
    assert "priv#1" in text and "hid/deep#1" in text and f"#{world['secret']['iid']}" in text
    assert text.count("marked this issue as") == 4


def test_notes_on_the_hidden_side_name_only_readable_issues(client, factory, world):
    """On the private issue, its own members see the note naming the public issue."""
    notes = client.get("/api/v4/projects/2/issues/1/notes", headers=world["insider"].headers).json()
    assert [n["body"] for n in notes] == [f"marked this issue as blocking pub#{world['issue']['iid']}"]


def test_unlink_note_is_hidden_too(client, factory, world):
    """The note a removed link leaves ("removed the relation with priv#1") stays hidden."""
    links = client.get(
        f"/api/v4/projects/{world['public']['id']}/issues/{world['issue']['iid']}/links",
        headers=factory.admin.headers,
    ).json()
    private_link = next(link for link in links if link["references"]["full"] == "root/priv#1")
    deleted = client.delete(
        f"/api/v4/projects/{world['public']['id']}/issues/{world['issue']['iid']}/links/"
        f"{private_link['issue_link_id']}",
        headers=factory.admin.headers,
    )
    assert deleted.status_code == 200, deleted.text
    text = " ".join(n["body"] for n in _notes(client, world, world["guest"]).json())
    assert "priv" not in text
    admin_text = " ".join(n["body"] for n in _notes(client, world, factory.admin).json())
    assert "removed the relation with priv#1" in admin_text
