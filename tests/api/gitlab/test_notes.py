"""GitLab issue notes: comments and system notes (system: true), sorted and paginated."""

from __future__ import annotations

import pytest

from tests.api.gitlab.conftest import NOT_FOUND, PROJECT_NOT_FOUND, UNAUTHORIZED


@pytest.fixture
def project(factory):
    return factory.project("app", visibility="public")


def notes_url(project, iid=1):
    return f"/api/v4/projects/{project['id']}/issues/{iid}/notes"


def test_list_notes_anonymous_on_public_project(client, factory, project):
    """Anonymous callers read a public project's notes (GitLab); private projects are 404."""
    factory.issue(project, "t")
    assert client.get(notes_url(project)).status_code == 200
    private = factory.project("secret")
    factory.issue(private, "t")
    response = client.get(notes_url(private))
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_create_note_anonymous_gets_401(client, factory, project):
    """POST a note without a token is 401."""
    factory.issue(project, "t")
    response = client.post(notes_url(project), json={"body": "hi"})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_notes_of_confidential_issue_hidden_from_guest(client, factory, project):
    """A Guest cannot read the notes of a confidential issue: 404 Not found."""
    guest = factory.user("guest")
    factory.member(project, guest, 10)
    factory.issue(project, "secret", confidential=True)
    response = client.get(notes_url(project), headers=guest.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_notes_not_found_and_invalid(client, factory, project):
    """Unknown issue 404, non-integer iid 400, unknown sort 400, missing body 400."""
    factory.issue(project, "t")
    headers = factory.admin.headers
    assert (client.get(notes_url(project, 7), headers=headers).json()) == NOT_FOUND
    assert client.get(f"/api/v4/projects/{project['id']}/issues/x/notes", headers=headers).json() == {
        "error": "issue_iid is invalid"
    }
    response = client.get(notes_url(project), headers=headers, params={"sort": "up"})
    assert (response.status_code, response.json()) == (400, {"error": "sort does not have a valid value"})
    response = client.post(notes_url(project), headers=headers, json={})
    assert (response.status_code, response.json()) == (400, {"error": "body is missing"})


def test_notes_include_system_notes(client, factory, project):
    """Comments and system notes (links, closing) are listed; system notes say system: true."""
    first, second = factory.issue(project, "a"), factory.issue(project, "b")
    commenter = factory.user("commenter")
    created = client.post(notes_url(project), headers=commenter.headers, json={"body": "First!"})
    assert created.status_code == 201
    assert (created.json()["body"], created.json()["system"], created.json()["author"]["username"]) == (
        "First!",
        False,
        "commenter",
    )
    factory.link(first, second, "blocks")
    client.put(
        f"/api/v4/projects/{project['id']}/issues/1",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )
    notes = client.get(notes_url(project), headers=factory.admin.headers, params={"sort": "asc"}).json()
    assert [(n["body"], n["system"]) for n in notes] == [
        ("First!", False),
        ("marked this issue as blocking #2", True),
        ("closed", True),
    ]
    for note in notes:
        assert (note["noteable_type"], note["noteable_iid"], note["project_id"]) == (
            "Issue",
            1,
            project["id"],
        )
        assert note["author"]["username"] in ("commenter", "root")
    default_order = client.get(notes_url(project), headers=factory.admin.headers).json()
    assert [n["id"] for n in default_order] == [n["id"] for n in reversed(notes)]
    issue = client.get(f"/api/v4/projects/{project['id']}/issues/1", headers=factory.admin.headers).json()
    assert issue["user_notes_count"] == 1


def test_notes_pagination(client, factory, project):
    """The notes list is paginated with GitLab's headers."""
    factory.issue(project, "t")
    for n in range(3):
        client.post(notes_url(project), headers=factory.admin.headers, json={"body": f"n{n}"})
    response = client.get(
        notes_url(project), headers=factory.admin.headers, params={"per_page": 2, "sort": "asc"}
    )
    assert [n["body"] for n in response.json()] == ["n0", "n1"]
    assert (
        response.headers["X-Total"],
        response.headers["X-Total-Pages"],
        response.headers["X-Next-Page"],
    ) == (
        "3",
        "2",
        "2",
    )


def test_discussion_locked_blocks_guest_comments(client, factory, project):
    """On a locked discussion a Guest cannot comment (403); a Reporter still can."""
    guest, reporter = factory.user("guest"), factory.user("reporter")
    factory.member(project, guest, 10)
    factory.member(project, reporter, 20)
    factory.issue(project, "t", discussion_locked=True)
    assert client.post(notes_url(project), headers=guest.headers, json={"body": "x"}).status_code == 403
    assert client.post(notes_url(project), headers=reporter.headers, json={"body": "x"}).status_code == 201


def test_notes_total_is_one_count(client, factory, project, query_recorder):
    """X-Total of the notes list comes from one COUNT; no statement reads every note."""
    issue = factory.issue(project, "t")
    for n in range(5):
        created = client.post(
            notes_url(project, issue["iid"]), headers=factory.admin.headers, json={"body": f"n{n}"}
        )
        assert created.status_code == 201
    everything = client.get(notes_url(project, issue["iid"]), params={"per_page": 100}).json()
    with query_recorder() as statements:
        response = client.get(notes_url(project, issue["iid"]), params={"per_page": 2, "page": 2})
    assert response.status_code == 200
    assert response.headers["X-Total"] == str(len(everything)) and len(everything) >= 5
    assert [n["id"] for n in response.json()] == [n["id"] for n in everything[2:4]]
    on_notes = [s.lower() for s in statements if "notes" in s.lower()]
    assert sum("count(" in s for s in on_notes) == 1
    assert all("count(" in s or "limit" in s for s in on_notes), on_notes
