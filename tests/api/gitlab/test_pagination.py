"""GitLab pagination on issue lists: offset headers (X-*, Link) and keyset (pagination=keyset)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture
def project(factory):
    project = factory.project("app", visibility="public")
    for n in range(1, 6):
        factory.issue(project, f"issue {n}")
    return project


def links(response: Any) -> dict[str, str]:
    """rel -> URL of a Link header."""
    parsed = httpx.Response(200, headers={"link": response.headers.get("link", "")}).links
    return {rel: value["url"] for rel, value in parsed.items()}


def relative(url: str) -> str:
    parsed = httpx.URL(url)
    return parsed.raw_path.decode()


def test_offset_headers_first_middle_last(client, factory, project):
    """X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page, X-Prev-Page and Link on each page."""
    url = f"/api/v4/projects/{project['id']}/issues"
    expected = {
        1: ("2", "", {"next", "first", "last"}, [5, 4]),
        2: ("3", "1", {"prev", "next", "first", "last"}, [3, 2]),
        3: ("", "2", {"prev", "first", "last"}, [1]),
    }
    for page, (next_page, prev_page, rels, iids) in expected.items():
        response = client.get(url, headers=factory.admin.headers, params={"per_page": 2, "page": page})
        assert response.status_code == 200
        headers = response.headers
        assert (headers["X-Page"], headers["X-Per-Page"], headers["X-Total"], headers["X-Total-Pages"]) == (
            str(page),
            "2",
            "5",
            "3",
        )
        assert (headers["X-Next-Page"], headers["X-Prev-Page"]) == (next_page, prev_page)
        found = links(response)
        assert set(found) == rels
        assert "page=1" in found["first"] and "page=3" in found["last"]
        if "next" in found:
            assert f"page={page + 1}" in found["next"] and "per_page=2" in found["next"]
        assert [i["iid"] for i in response.json()] == iids


def test_page_past_the_end(client, factory, project):
    """A page past the last is an empty list with no next and no previous page (Kaminari's out_of_range)."""
    for page in (4, 9):
        response = client.get(
            f"/api/v4/projects/{project['id']}/issues",
            headers=factory.admin.headers,
            params={"per_page": 2, "page": page},
        )
        assert response.json() == []
        assert (response.headers["X-Next-Page"], response.headers["X-Prev-Page"]) == ("", "")
        assert set(links(response)) == {"first", "last"}


def test_default_and_maximum_per_page(client, factory):
    """per_page defaults to 20 and is capped at 100."""
    project = factory.project("big")
    response = client.get(f"/api/v4/projects/{project['id']}/issues", headers=factory.admin.headers)
    assert (
        response.headers["X-Per-Page"],
        response.headers["X-Total"],
        response.headers["X-Total-Pages"],
    ) == (
        "20",
        "0",
        "1",
    )
    response = client.get(
        f"/api/v4/projects/{project['id']}/issues", headers=factory.admin.headers, params={"per_page": 500}
    )
    assert response.headers["X-Per-Page"] == "100"


def test_link_keeps_filters_and_hides_private_token(client, factory, project):
    """Link URLs keep the query's filters and never echo a private_token."""
    response = client.get(
        f"/api/v4/projects/{project['id']}/issues",
        params={"per_page": 1, "state": "opened", "private_token": factory.admin.token},
    )
    assert response.status_code == 200
    header = response.headers["link"]
    assert "state=opened" in header
    assert factory.admin.token not in header


def test_offset_walk_visits_every_issue_once(client, factory, project):
    """Following rel=next from page 1 visits each issue exactly once."""
    url: str | None = f"/api/v4/projects/{project['id']}/issues?per_page=2&order_by=id&sort=asc"
    seen = []
    while url:
        response = client.get(url, headers=factory.admin.headers)
        seen += [i["iid"] for i in response.json()]
        url = relative(links(response)["next"]) if "next" in links(response) else None
    assert seen == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------- keyset


def keyset_walk(client, url: str, headers: dict[str, str], params: dict[str, Any]) -> list[int]:
    response = client.get(url, headers=headers, params={"pagination": "keyset", **params})
    seen = []
    for _ in range(50):
        assert response.status_code == 200, response.text
        assert "X-Total" not in response.headers
        seen += [i["iid"] for i in response.json()]
        nxt = links(response).get("next")
        if nxt is None:
            return seen
        assert "page=" not in nxt.split("?", 1)[1].replace("per_page=", "")
        response = client.get(relative(nxt), headers=headers)
    raise AssertionError("keyset pagination did not end")


@pytest.mark.parametrize(
    ("order_by", "sort", "expected"),
    [
        ("id", "asc", [1, 2, 3, 4, 5]),
        ("id", "desc", [5, 4, 3, 2, 1]),
        ("created_at", "desc", [5, 4, 3, 2, 1]),
        ("updated_at", "asc", [1, 2, 3, 4, 5]),
    ],
)
def test_keyset_walk(client, factory, project, order_by, sort, expected):
    """pagination=keyset follows rel=next through every issue once, in order, without totals."""
    url = f"/api/v4/projects/{project['id']}/issues"
    params = {"per_page": 2, "order_by": order_by, "sort": sort}
    assert keyset_walk(client, url, factory.admin.headers, params) == expected


def test_keyset_with_equal_timestamps(client, factory):
    """Issues sharing created_at are neither skipped nor repeated (ties broken by id)."""
    project = factory.project("ties")
    for n in range(7):
        factory.issue(
            project, f"t{n}", created_at="2024-01-01T00:00:00Z" if n % 2 else f"2024-01-0{n + 2}T00:00:00Z"
        )
    url = f"/api/v4/projects/{project['id']}/issues"
    for sort in ("asc", "desc"):
        seen = keyset_walk(
            client, url, factory.admin.headers, {"per_page": 2, "order_by": "created_at", "sort": sort}
        )
        offset = [
            i["iid"]
            for i in client.get(
                url,
                headers=factory.admin.headers,
                params={"per_page": 100, "order_by": "created_at", "sort": sort},
            ).json()
        ]
        assert seen == offset
        assert sorted(seen) == list(range(1, 8))


def test_keyset_on_all_issues(client, factory, project):
    """GET /issues?scope=all supports keyset pagination too."""
    seen = keyset_walk(
        client,
        "/api/v4/issues",
        factory.admin.headers,
        {"per_page": 2, "scope": "all", "order_by": "id", "sort": "asc"},
    )
    assert seen == [1, 2, 3, 4, 5]


def test_keyset_invalid(client, factory, project):
    """An unsupported keyset order_by and a malformed cursor are 400."""
    url = f"/api/v4/projects/{project['id']}/issues"
    response = client.get(
        url, headers=factory.admin.headers, params={"pagination": "keyset", "order_by": "title"}
    )
    assert response.status_code == 400
    response = client.get(
        url, headers=factory.admin.headers, params={"pagination": "keyset", "cursor": "%%%"}
    )
    assert (response.status_code, response.json()) == (400, {"error": "cursor is invalid"})
