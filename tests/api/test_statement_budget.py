"""SQL statements per hot request, both faces, both databases: a change to a count is deliberate."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

# Statements per request as SQLAlchemy's before_cursor_execute sees them (on PostgreSQL asyncpg
# sends BEGIN and COMMIT itself: not counted), after one warm-up request of the same kind.
# PostgreSQL writes a link with its notes, updated_at and event in one statement; SQLite writes
# them one by one. A blocks link also reads the pair and the link counts and checks for a cycle;
# on PostgreSQL it locks its issues' components (a savepoint with the waits, then a check: see
# links.components) and joins the two components. A blocks link also counts the blocked issue's
# open blockers (one statement) and, when this is its first, writes the `issue.blocked` event
# (one more: the measured GitLab request is such a first blocker, the SourceCraft one is not).
# GitLab's single issue answers `subscribed` (one statement). A link whose target is named in
# the path issue's project reads both issues with the project in one statement.
BUDGET = {
    "sqlite": {
        "gitlab get issue": 5,
        "gitlab list links": 5,
        "gitlab create relates_to": 9,
        "gitlab create blocks": 13,
        "sourcecraft get issue": 4,
        "sourcecraft list links": 5,
        "sourcecraft create related_to": 8,
        "sourcecraft create blocks": 11,
    },
    "postgresql": {
        "gitlab get issue": 4,
        "gitlab list links": 4,
        "gitlab create relates_to": 5,
        "gitlab create blocks": 12,
        "sourcecraft get issue": 3,
        "sourcecraft list links": 4,
        "sourcecraft create related_to": 4,
        "sourcecraft create blocks": 10,
    },
}


@pytest.fixture
def counted(client: Any, query_recorder: Any) -> Callable[..., tuple[int, list[str]]]:
    def send(method: str, url: str, headers: dict[str, str], body: Any = None) -> tuple[int, list[str]]:
        with query_recorder() as statements:
            response = client.request(method, url, headers=headers, json=body)
        assert response.status_code < 300, response.text
        return len(statements), statements

    return send


def test_hot_requests_send_their_budget_of_statements(factory, counted, database_url):
    """Get an issue, list and create links (relates_to, blocks) on both faces: exact counts."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    project = factory.project("budget")
    issues = [factory.issue(project, f"i{n}") for n in range(12)]
    for a, b in itertools.pairwise(issues[:5]):  # a few links each, as in bench --shape side
        factory.link(a, b)
    admin = factory.admin
    gl = f"/api/v4/projects/{project['id']}/issues"
    sc = f"/repos/{project['path_with_namespace']}/issues"

    def gl_create(a: int, b: int, link_type: str) -> tuple[str, str, Any]:
        body = {"target_project_id": project["id"], "target_issue_iid": b, "link_type": link_type}
        return ("POST", f"{gl}/{a}/links", body)

    def sc_create(a: int, b: int, link_type: str) -> tuple[str, str, Any]:
        return ("POST", f"{sc}/{a}/issue_links", {"target_issue_slug": str(b), "link_type": link_type})

    # (name, headers, warm-up request, measured request)
    cases = [
        ("gitlab get issue", admin.headers, ("GET", f"{gl}/2", None), ("GET", f"{gl}/3", None)),
        ("gitlab list links", admin.headers, ("GET", f"{gl}/2/links", None), ("GET", f"{gl}/3/links", None)),
        (
            "gitlab create relates_to",
            admin.headers,
            gl_create(6, 7, "relates_to"),
            gl_create(6, 8, "relates_to"),
        ),
        ("gitlab create blocks", admin.headers, gl_create(7, 9, "blocks"), gl_create(8, 10, "blocks")),
        ("sourcecraft get issue", admin.bearer, ("GET", f"{sc}/2", None), ("GET", f"{sc}/3", None)),
        (
            "sourcecraft list links",
            admin.bearer,
            ("GET", f"{sc}/2/issue_links", None),
            ("GET", f"{sc}/3/issue_links", None),
        ),
        (
            "sourcecraft create related_to",
            admin.bearer,
            sc_create(9, 11, "related_to"),
            sc_create(10, 11, "related_to"),
        ),
        ("sourcecraft create blocks", admin.bearer, sc_create(9, 12, "blocks"), sc_create(11, 12, "blocks")),
    ]
    counts = {}
    for name, headers, warm, measured in cases:
        counted(warm[0], warm[1], headers, warm[2])
        counts[name], _ = counted(measured[0], measured[1], headers, measured[2])
    assert counts == BUDGET[kind]
