"""Text with a NUL character is a clear 400 on the GitLab face, never a 500."""

from __future__ import annotations


def test_nul_in_title_is_refused(client, factory):
    """A title containing NUL answers 400 {"error": "title is invalid"} on both databases."""
    project = factory.project("nul")
    response = client.post(
        f"/api/v4/projects/{project['id']}/issues", headers=factory.admin.headers, json={"title": "a\x00b"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "title is invalid"}


def test_nul_in_query_string_is_refused(client, factory):
    """A NUL in a query parameter is refused the same way."""
    project = factory.project("nulq")
    response = client.get(
        f"/api/v4/projects/{project['id']}/issues", headers=factory.admin.headers, params={"search": "a\x00"}
    )
    assert response.status_code == 400
