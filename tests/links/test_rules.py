"""Graph rules of the one link model: one parent, no cycles, depth and child limits."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from issuegraph.db.models import IssueLink, Note


@pytest.fixture
def project(factory):
    return factory.project("rules", group=factory.group("team"))


def _post(client, factory, source, target, link_type):
    return client.post(
        f"/api/v4/projects/{source['project_id']}/issues/{source['iid']}/links",
        headers=factory.admin.headers,
        json={
            "target_project_id": target["project_id"],
            "target_issue_iid": target["iid"],
            "link_type": link_type,
        },
    )


def _rows(database):
    with database.session(write=False) as session:
        return session.scalar(select(func.count()).select_from(IssueLink)), session.scalar(
            select(func.count()).select_from(Note)
        )


def test_second_parent_refused(client, factory, project, database):
    """An issue with a parent cannot get a second one, whichever side asks."""
    parent_a, parent_b, child = (factory.issue(project, t) for t in ("A", "B", "child"))
    factory.link(parent_a, child, "parent_of")
    before = _rows(database)
    response = _post(client, factory, child, parent_b, "subissue_of")
    assert response.status_code == 422
    assert response.json() == {"message": f"#{parent_b['iid']} cannot be added: issue already has a parent"}
    assert _post(client, factory, parent_b, child, "parent_of").status_code == 422
    assert _rows(database) == before  # nothing half-written: no link, no note


def test_parent_cycle_refused(client, factory, project):
    """A hierarchy cannot loop back: a grandchild cannot become its grandparent's parent."""
    a, b, c = (factory.issue(project, t) for t in "abc")
    factory.link(a, b, "parent_of")
    factory.link(b, c, "parent_of")
    response = _post(client, factory, c, a, "parent_of")
    assert response.status_code == 422
    assert "would create a hierarchy cycle" in response.json()["message"]


def test_ninth_level_refused(client, factory, project):
    """Eight levels are allowed; a ninth is refused, from either end of the chain."""
    chain = [factory.issue(project, f"level {n}") for n in range(1, 10)]
    for parent, child in itertools.pairwise(chain[:8]):
        factory.link(parent, child, "parent_of")
    response = _post(client, factory, chain[7], chain[8], "parent_of")
    assert response.status_code == 422
    assert "maximum depth (8 levels)" in response.json()["message"]
    # Hanging an existing two-level subtree under level 7 would also make nine levels.
    extra_parent, extra_child = factory.issue(project, "x"), factory.issue(project, "y")
    factory.link(extra_parent, extra_child, "parent_of")
    assert _post(client, factory, chain[6], extra_parent, "parent_of").status_code == 422
    assert _post(client, factory, chain[5], extra_parent, "parent_of").status_code == 201


def test_hundred_and_first_child_refused(client, factory, project):
    """A parent takes 100 sub-issues; the 101st is refused with the child limit."""
    parent = factory.issue(project, "parent")
    for n in range(100):
        factory.link(parent, factory.issue(project, f"child {n}"), "parent_of")
    response = _post(client, factory, parent, factory.issue(project, "one too many"), "parent_of")
    assert response.status_code == 422
    assert "maximum number of sub-issues (100)" in response.json()["message"]


def test_three_link_blocking_cycle_refused_with_path(client, factory, project, database):
    """A blocks B, B blocks C: C blocks A is refused and the error names the cycle."""
    a, b, c = (factory.issue(project, t) for t in "abc")
    factory.link(a, b, "blocks")
    factory.link(b, c, "blocks")
    before = _rows(database)
    response = _post(client, factory, c, a, "blocks")
    assert response.status_code == 422
    iid = lambda i: f"#{i['iid']}"  # noqa: E731
    assert response.json() == {
        "message": f"{iid(a)} cannot be added: would create a blocking cycle: "
        f"{iid(c)} blocks {iid(a)} blocks {iid(b)} blocks {iid(c)}"
    }
    # The same cycle asked for from the other side (A is blocked by C) is refused too.
    assert _post(client, factory, a, c, "is_blocked_by").status_code == 422
    assert _rows(database) == before


def test_cycle_path_hides_unreadable_issues(client, factory, project):
    """A step of the cycle the caller cannot read is shown as '(hidden)'."""
    secret_project = factory.project("secret", visibility="private")
    user = factory.user()
    factory.member(project, user, 20)
    factory.member(secret_project, user, 10)  # guest: may link, cannot read confidential issues
    a, c = factory.issue(project, "a"), factory.issue(project, "c")
    hidden = factory.issue(secret_project, "hidden", confidential=True)
    factory.link(a, hidden, "blocks")
    factory.link(hidden, c, "blocks")
    response = client.post(
        f"/api/v4/projects/{c['project_id']}/issues/{c['iid']}/links",
        headers=user.headers,
        json={"target_project_id": a["project_id"], "target_issue_iid": a["iid"], "link_type": "blocks"},
    )
    assert response.status_code == 422
    message = response.json()["message"]
    assert "(hidden)" in message and "secret" not in message and "hidden#" not in message


def test_duplicate_chain_rules(client, factory, project):
    """An issue duplicates at most one other, and duplicates never loop."""
    a, b, c = (factory.issue(project, t) for t in "abc")
    factory.link(a, b, "duplicates")
    assert _post(client, factory, a, c, "duplicates").status_code == 422
    factory.link(b, c, "duplicates")
    assert _post(client, factory, c, a, "duplicates").status_code == 422
    assert _post(client, factory, c, a, "relates_to").status_code == 201


def test_related_links_never_cycle_checked(client, factory, project):
    """related_to is symmetric: a triangle of related issues is fine."""
    a, b, c = (factory.issue(project, t) for t in "abc")
    factory.link(a, b)
    factory.link(b, c)
    assert _post(client, factory, c, a, "relates_to").status_code == 201
