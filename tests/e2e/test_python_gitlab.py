"""python-gitlab, unmodified, against `issuegraph serve` running as a real process (SQLite and PostgreSQL).

Covers issue 2's end-to-end requirement: users, tokens, a group, two projects, members, issues;
links of all three types across the two projects; lists from both sides; get; delete; paging
through 250 issues with get_all, iterator and keyset pagination.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gitlab
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, Server, fresh_database, running_server

pytestmark = pytest.mark.slow

PAGED_ISSUES = 250


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with fresh_database(request.param, tmp) as database_url, running_server(database_url, tmp) as running:
        yield running


def connect(server: Server, token: str) -> gitlab.Gitlab:
    gl = gitlab.Gitlab(server.url, private_token=token, timeout=30)
    gl.auth()
    return gl


@pytest.fixture(scope="module")
def admin(server: Server) -> gitlab.Gitlab:
    return connect(server, ADMIN_TOKEN)


def test_admin_token_from_environment(admin):
    """ISSUEGRAPH_ADMIN_TOKEN authenticates as the administrator root."""
    assert admin.user is not None
    assert (admin.user.username, admin.user.is_admin) == ("root", True)


def _user_with_token(admin: gitlab.Gitlab, server: Server, username: str) -> tuple[Any, gitlab.Gitlab]:
    user = admin.users.create(
        {"username": username, "name": username.title(), "email": f"{username}@example.test"}
    )
    token = user.personal_access_tokens.create({"name": "e2e", "scopes": ["api"]})
    return user, connect(server, token.token)


def test_links_across_two_projects(admin, server):
    """Users, tokens, a group, two projects, members, issues and links of all three types."""
    alice, as_alice = _user_with_token(admin, server, "alice")
    _, as_bob = _user_with_token(admin, server, "bob")
    assert as_alice.user.username == "alice"

    group = admin.groups.create({"name": "Team", "path": "team"})
    group.members.create({"user_id": alice.id, "access_level": gitlab.const.AccessLevel.GUEST})
    alpha = admin.projects.create({"name": "alpha", "namespace_id": group.id})
    assert alpha.path_with_namespace == "team/alpha"
    beta = admin.projects.create({"name": "beta", "visibility": "public"})
    beta.members.create({"user_id": alice.id, "access_level": gitlab.const.AccessLevel.REPORTER})
    assert {m.username for m in beta.members.list(get_all=True)} == {"alice"}

    a_alpha = as_alice.projects.get("team/alpha")
    a_beta = as_alice.projects.get(beta.id)
    issue = a_alpha.issues.create({"title": "URL issue"})
    related, blocked, blocker = (
        a_beta.issues.create({"title": title}) for title in ("related", "blocked", "blocker")
    )

    created = {}
    for other, link_type in ((related, "relates_to"), (blocked, "blocks"), (blocker, "is_blocked_by")):
        source, target = issue.links.create(
            {"target_project_id": beta.id, "target_issue_iid": other.iid, "link_type": link_type}
        )
        expected = (blocker, issue) if link_type == "is_blocked_by" else (issue, other)
        assert (source.id, target.id) == (expected[0].id, expected[1].id)
        created[link_type] = other

    from_issue = issue.links.list()
    assert [(link.id, link.link_type) for link in from_issue] == [
        (related.id, "relates_to"),
        (blocked.id, "blocks"),
        (blocker.id, "is_blocked_by"),
    ]
    seen_from_other = {other.iid: other.links.list() for other in (related, blocked, blocker)}
    assert [(x.id, x.link_type) for x in seen_from_other[related.iid]] == [(issue.id, "relates_to")]
    assert [(x.id, x.link_type) for x in seen_from_other[blocked.iid]] == [(issue.id, "is_blocked_by")]
    assert [(x.id, x.link_type) for x in seen_from_other[blocker.iid]] == [(issue.id, "blocks")]
    assert from_issue[1].issue_link_id == seen_from_other[blocked.iid][0].issue_link_id

    link_id = from_issue[2].issue_link_id
    one = as_alice.http_get(f"/projects/{beta.id}/issues/{blocker.iid}/links/{link_id}")
    assert (one["id"], one["link_type"]) == (link_id, "blocks")
    assert (one["source_issue"]["id"], one["target_issue"]["id"]) == (blocker.id, issue.id)
    assert [n.body for n in issue.notes.list(get_all=True, sort="asc") if n.system] == [
        "marked this issue as related to root/beta#1",
        "marked this issue as blocking root/beta#2",
        "marked this issue as blocked by root/beta#3",
    ]
    assert [n.body for n in blocker.notes.list(get_all=True) if n.system] == [
        "marked this issue as blocking team/alpha#1"
    ]

    with pytest.raises(gitlab.GitlabCreateError) as conflict:
        blocked.links.create({"target_project_id": "team/alpha", "target_issue_iid": issue.iid})
    assert conflict.value.response_code == 409

    # bob is no member of alpha: the project is private to him, so the link's other side is hidden.
    b_beta = as_bob.projects.get(beta.id)
    assert b_beta.issues.get(blocked.iid).links.list() == []
    with pytest.raises(gitlab.GitlabHttpError) as hidden:
        as_bob.http_get(f"/projects/{beta.id}/issues/{blocked.iid}/links/{from_issue[1].issue_link_id}")
    assert hidden.value.response_code == 404

    issue.links.delete(link_id)
    assert [link.link_type for link in issue.links.list()] == ["relates_to", "blocks"]
    newest = blocker.notes.list(get_all=True, sort="desc")[0]
    assert (newest.body, newest.system) == ("removed the relation with team/alpha#1", True)
    assert blocker.links.list() == []
    with pytest.raises(gitlab.GitlabDeleteError) as gone:
        issue.links.delete(link_id)
    assert gone.value.response_code == 404

    closed = a_alpha.issues.get(issue.iid)
    closed.state_event = "close"
    closed.save()
    assert a_alpha.issues.get(issue.iid).state == "closed"


@pytest.fixture(scope="module")
def paged_project(admin: gitlab.Gitlab) -> Any:
    project = admin.projects.create({"name": "paging"})
    for n in range(1, PAGED_ISSUES + 1):
        project.issues.create({"title": f"paged {n}"})
    return project


def test_list_get_all_walks_every_page(paged_project):
    """list(get_all=True) returns all 250 issues exactly once."""
    issues = paged_project.issues.list(get_all=True, per_page=100)
    assert sorted(i.iid for i in issues) == list(range(1, PAGED_ISSUES + 1))
    default_pages = paged_project.issues.list(get_all=True)  # per_page 20: 13 pages
    assert [i.iid for i in default_pages] == list(range(PAGED_ISSUES, 0, -1))


def test_list_iterator_walks_every_page(paged_project):
    """list(iterator=True) yields all 250 issues and reports GitLab's totals."""
    pages = paged_project.issues.list(iterator=True, per_page=30, order_by="id", sort="asc")
    assert (pages.total, pages.total_pages, pages.per_page) == (PAGED_ISSUES, 9, 30)
    assert [i.iid for i in pages] == list(range(1, PAGED_ISSUES + 1))


@pytest.mark.parametrize(("order_by", "sort"), [("id", "asc"), ("created_at", "desc"), ("updated_at", "asc")])
def test_list_keyset_walks_every_page(paged_project, order_by, sort):
    """Keyset pagination (pagination=keyset) yields all 250 issues once, in order."""
    pages = paged_project.issues.list(
        iterator=True, pagination="keyset", order_by=order_by, sort=sort, per_page=40
    )
    iids = [i.iid for i in pages]
    expected = list(range(1, PAGED_ISSUES + 1))
    assert iids == (expected if sort == "asc" else expected[::-1])


def test_global_issue_list_pages(admin, paged_project):
    """GET /issues with scope=all walks every issue the admin can read."""
    everything = admin.issues.list(scope="all", get_all=True, per_page=100)
    assert len([i for i in everything if i.project_id == paged_project.id]) == PAGED_ISSUES


def test_server_log_has_no_errors(server):
    """The server logged no unhandled error while the module ran."""
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log
