"""GitLab issue links API: every case of the spec's §12 (gitlab-issue-links.md), on both databases.

Cases 1-24 mirror GitLab's `spec/requests/api/issue_links_spec.rb`, 25-26 its Premium spec, and
A1-A20 the cases issuegraph adds. Case 27 ("403 Blocked issues not available for current license")
does not apply: issuegraph always behaves as GitLab Premium with the licence on and has no
Free-edition emulation mode, so `blocks` is accepted as in case 25 (see §3 and §6.2 step 7).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from issuegraph.db.models import IssueLink, Note
from tests.api.gitlab.conftest import (
    ALREADY_ASSIGNED,
    FORBIDDEN_LINK,
    NO_LINK,
    NOT_FOUND,
    PROJECT_NOT_FOUND,
    UNAUTHORIZED,
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ISSUE_BASIC_KEYS = {
    "id", "iid", "project_id", "title", "description", "state", "created_at", "updated_at",
    "closed_at", "closed_by", "labels", "milestone", "assignees", "author", "type", "assignee",
    "user_notes_count", "merge_requests_count", "upvotes", "downvotes", "due_date", "confidential",
    "discussion_locked", "issue_type", "web_url", "time_stats", "task_completion_status",
    "weight", "blocking_issues_count",
}  # fmt: skip
ISSUE_KEYS = ISSUE_BASIC_KEYS | {
    "has_tasks", "_links", "references", "severity", "moved_to_id", "imported", "imported_from",
    "service_desk_reply_to",
}  # fmt: skip
LINK_FIELDS = {"issue_link_id", "link_type", "link_created_at", "link_updated_at"}
ISSUE_ONLY_KEYS = ISSUE_KEYS - ISSUE_BASIC_KEYS | {"subscribed", "task_status"}


def assert_related_issue(item: dict[str, Any]) -> None:
    """A list item: the full Issue entity (no `subscribed`) plus the four link fields."""
    assert item.keys() >= ISSUE_KEYS | LINK_FIELDS
    assert "subscribed" not in item
    assert item["link_type"] in {"relates_to", "blocks", "is_blocked_by"}
    assert isinstance(item["issue_link_id"], int)
    assert ISO_MS.match(item["link_created_at"]) and item["link_updated_at"] == item["link_created_at"]
    assert item["type"] == "ISSUE" and item["issue_type"] == "issue"
    for user in [item["author"], *item["assignees"]]:
        assert {"id", "username", "name", "state", "avatar_url", "web_url"} <= user.keys()


def assert_issue_link(
    body: dict[str, Any], source: dict[str, Any], target: dict[str, Any], link_type: str
) -> None:
    """An IssueLink object: `id` first, IssueBasic ends in persisted orientation, persisted type."""
    assert next(iter(body)) == "id" and isinstance(body["id"], int)
    assert {"source_issue", "target_issue", "link_type"} <= body.keys()
    assert body["link_type"] == link_type
    assert body["source_issue"]["id"] == source["id"]
    assert body["target_issue"]["id"] == target["id"]
    for end in (body["source_issue"], body["target_issue"]):
        assert end.keys() >= ISSUE_BASIC_KEYS
        assert not (ISSUE_ONLY_KEYS & end.keys()), ISSUE_ONLY_KEYS & end.keys()


def link_rows(database: Any) -> list[tuple[int, int, str]]:
    with database.session(write=False) as session:
        rows = session.execute(select(IssueLink.source_id, IssueLink.target_id, IssueLink.link_type))
        return [tuple(row) for row in rows]


def note_count(database: Any) -> int:
    with database.session(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Note)) or 0)


def system_notes(client: Any, factory: Any, issue: dict[str, Any]) -> list[str]:
    response = client.get(
        f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/notes",
        params={"sort": "asc"},
        headers=factory.admin.headers,
    )
    assert response.status_code == 200
    return [n["body"] for n in response.json() if n["system"]]


# ---------------------------------------------------------------- 12.1 GET list


def test_case_01_anonymous_list_gets_401(client, world):
    """GET list without a token is 401, although the project is public."""
    response = client.get(world.links_url())
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_case_02_list_returns_related_issues(client, factory, world):
    """GET list returns both related issues, each a full Issue plus the four link fields."""
    first = factory.link(world.issue, world.target_issue)
    second = factory.link(world.issue, world.other_issue, "blocks")
    response = client.get(world.links_url(), headers=world.guest_user.headers)
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 2
    for item in items:
        assert_related_issue(item)
    assert [i["issue_link_id"] for i in items] == [first["id"], second["id"]]
    assert [i["id"] for i in items] == [world.target_issue["id"], world.other_issue["id"]]
    assert [i["link_type"] for i in items] == ["relates_to", "blocks"]


def test_case_03_list_query_count_does_not_grow_with_links(client, factory, world, query_recorder):
    """Adding a link (even to another project's issue) does not add SQL statements to GET list."""
    elsewhere = factory.project("elsewhere", visibility="public")
    factory.link(world.issue, world.target_issue)
    factory.link(world.issue, factory.issue(elsewhere, "near"))

    def count() -> int:
        with query_recorder() as statements:
            response = client.get(world.links_url(), headers=world.guest_user.headers)
        assert response.status_code == 200
        return len(statements)

    count()  # a token's first use also writes its last_used_at (then not for ten minutes)
    baseline = count()
    factory.link(world.issue, world.other_issue, "blocks")
    factory.link(
        world.issue, factory.issue(elsewhere, "far", assignee_ids=[world.guest_user.id], labels="a,b")
    )
    assert len(client.get(world.links_url(), headers=world.guest_user.headers).json()) == 4
    assert count() == baseline


# ---------------------------------------------------------------- 12.1 POST


def test_case_04_anonymous_create_gets_401(client, world):
    """POST without a token is 401."""
    response = client.post(world.links_url(), json=world.target(world.target_issue))
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_case_05_unknown_target_project_gets_404(client, world):
    """POST with target_project_id=-1 is 404 Project Not Found."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json={"target_project_id": -1, "target_issue_iid": world.target_issue["iid"]},
    )
    assert response.status_code == 404
    assert response.json() == PROJECT_NOT_FOUND


def test_case_06_unknown_target_issue_gets_404(client, world):
    """POST with an unknown target_issue_iid is 404 Not found."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json={"target_project_id": world.project["id"], "target_issue_iid": 999},
    )
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_case_07_non_member_public_project_gets_403(client, world, database):
    """A non-member of the public project can read both issues but may not link them: 403."""
    response = client.post(
        world.links_url(), headers=world.non_member.headers, json=world.target(world.target_issue)
    )
    assert response.status_code == 403
    assert response.json() == FORBIDDEN_LINK
    assert link_rows(database) == []


def test_case_08_confidential_target_gets_404(client, factory, world):
    """A confidential target a Guest cannot read is 404 Not found."""
    secret = factory.issue(world.project, "secret", confidential=True)
    response = client.post(world.links_url(), headers=world.guest_user.headers, json=world.target(secret))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_case_09_non_member_private_project_gets_404(client, factory, world):
    """A non-member linking inside a private project gets 404 Project Not Found."""
    source = factory.issue(world.private_project, "private source")
    target = factory.issue(world.private_project, "private target")
    response = client.post(
        world.links_url(source), headers=world.non_member.headers, json=world.target(target)
    )
    assert response.status_code == 404
    assert response.json() == PROJECT_NOT_FOUND


def test_case_10_create_relates_to(client, world, database):
    """POST link_type=relates_to is 201 with an IssueLink object in the order of the request."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json=world.target(world.target_issue, link_type="relates_to"),
    )
    assert response.status_code == 201, response.text
    assert_issue_link(response.json(), world.issue, world.target_issue, "relates_to")
    assert link_rows(database) == [(world.issue["id"], world.target_issue["id"], "related_to")]


def test_case_11_target_project_as_full_path(client, world):
    """target_project_id may be the project's full path; no link_type means relates_to."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json={
            "target_project_id": world.project["path_with_namespace"],
            "target_issue_iid": world.target_issue["iid"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["link_type"] == "relates_to"
    assert response.json()["target_issue"]["id"] == world.target_issue["id"]


# ---------------------------------------------------------------- 12.1 GET one


def test_case_12_anonymous_get_one_private_project_gets_401(client, factory, world):
    """GET one without a token on a private project is 401."""
    source = factory.issue(world.private_project, "a")
    link = factory.link(source, factory.issue(world.private_project, "b"))
    response = client.get(f"{world.links_url(source)}/{link['id']}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_case_13_anonymous_get_one_public_project_gets_401(client, factory, world):
    """GET one without a token on a public project is 401 as well."""
    link = factory.link(world.issue, world.target_issue)
    response = client.get(f"{world.links_url()}/{link['id']}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_case_14_get_unknown_link_gets_404(client, world):
    """GET one with an unknown link id is 404 Not found."""
    response = client.get(f"{world.links_url()}/999999", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_case_15_get_link_not_involving_url_issue_gets_404(client, factory, world):
    """GET one of a link between two other issues is 404 Not found."""
    link = factory.link(world.other_issue, world.target_issue)
    response = client.get(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_case_16_get_one(client, factory, world):
    """GET one of the URL issue's link is 200 with the IssueLink object."""
    link = factory.link(world.issue, world.target_issue)
    response = client.get(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 200
    assert_issue_link(response.json(), world.issue, world.target_issue, "relates_to")
    assert response.json() == link


def test_case_17_get_link_to_unreadable_private_project_gets_404(client, factory, world):
    """GET one of a link to an issue of an unreadable private project: 404 Not found, the answer
    for a link that does not exist (naming the project would tell the two apart)."""
    hidden = factory.project("hidden", visibility="private")
    link = factory.link(world.issue, factory.issue(hidden, "hidden"))
    response = client.get(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    missing = client.get(f"{world.links_url()}/{link['id'] + 1000}", headers=world.guest_user.headers)
    assert response.json() == missing.json() == NOT_FOUND


def test_case_18_get_link_to_confidential_issue_gets_404(client, factory, world):
    """GET one of a link whose other issue is confidential and unreadable: 404 Not found."""
    link = factory.link(world.issue, factory.issue(world.project, "secret", confidential=True))
    response = client.get(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# ---------------------------------------------------------------- 12.1 DELETE


def test_case_19_anonymous_delete_gets_401(client, factory, world, database):
    """DELETE without a token is 401 and leaves the link."""
    link = factory.link(world.issue, world.target_issue)
    response = client.delete(f"{world.links_url()}/{link['id']}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert len(link_rows(database)) == 1


def test_case_20_delete_without_permission_on_other_project_gets_404(client, factory, world, database):
    """DELETE of a link to a public project's issue, user not a member there: 404 No Issue Link found."""
    other_project = factory.project("other-public", visibility="public")
    link = factory.link(world.issue, factory.issue(other_project, "there"))
    response = client.delete(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NO_LINK
    assert len(link_rows(database)) == 1


def test_case_21_delete_unknown_link_gets_404(client, world):
    """DELETE with an unknown link id is 404 Not found."""
    response = client.delete(f"{world.links_url()}/999999", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_case_22_non_member_delete_in_private_project_gets_404(client, factory, world, database):
    """A non-member deleting in a private project gets 404 Project Not Found."""
    source = factory.issue(world.private_project, "a")
    link = factory.link(source, factory.issue(world.private_project, "b"))
    response = client.delete(f"{world.links_url(source)}/{link['id']}", headers=world.non_member.headers)
    assert response.status_code == 404
    assert response.json() == PROJECT_NOT_FOUND
    assert len(link_rows(database)) == 1


def test_case_23_delete(client, factory, world, database):
    """DELETE is 200 (not 204) with the deleted IssueLink object, and the row is gone."""
    link = factory.link(world.issue, world.target_issue)
    response = client.delete(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 200
    body = response.json()
    assert_issue_link(body, world.issue, world.target_issue, "relates_to")
    assert body["id"] == link["id"]
    assert body["link_created_at"] == link["link_created_at"]
    assert link_rows(database) == []


def test_case_24_delete_link_not_involving_url_issue_gets_404(client, factory, world, database):
    """DELETE of a link between two other issues is 404 Not found."""
    link = factory.link(world.other_issue, world.target_issue)
    response = client.delete(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert len(link_rows(database)) == 1


# ---------------------------------------------------------------- 12.2 Premium


@pytest.fixture
def reporter(factory, world):
    user = factory.user("reporter")
    factory.member(world.project, user, 20)
    return user


def test_case_25_blocks(client, world, reporter, database):
    """POST link_type=blocks is 201 with source = URL issue, target = target, type blocks."""
    response = client.post(
        world.links_url(), headers=reporter.headers, json=world.target(world.target_issue, link_type="blocks")
    )
    assert response.status_code == 201, response.text
    assert_issue_link(response.json(), world.issue, world.target_issue, "blocks")
    assert link_rows(database) == [(world.issue["id"], world.target_issue["id"], "blocks")]


def test_case_26_is_blocked_by_is_stored_as_swapped_blocks(client, world, reporter, database):
    """POST link_type=is_blocked_by is 201 with type blocks, source = target and target = URL issue."""
    response = client.post(
        world.links_url(),
        headers=reporter.headers,
        json=world.target(world.target_issue, link_type="is_blocked_by"),
    )
    assert response.status_code == 201, response.text
    assert_issue_link(response.json(), world.target_issue, world.issue, "blocks")
    assert link_rows(database) == [(world.target_issue["id"], world.issue["id"], "blocks")]


# ---------------------------------------------------------------- 12.4 issuegraph's cases


def test_case_a01_both_targets_missing_gets_400(client, world):
    """POST with neither target parameter lists both as missing, in GitLab's error shape."""
    response = client.post(world.links_url(), headers=world.guest_user.headers, json={})
    assert response.status_code == 400
    assert response.json() == {"error": "target_project_id is missing, target_issue_iid is missing"}


@pytest.mark.parametrize("link_type", ["follows", "related_to", "blocked_by", "BLOCKS"])
def test_case_a02_unknown_link_type_gets_400(client, world, link_type, database):
    """A link_type outside the seven of §5.5 is 400 link_type does not have a valid value."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json=world.target(world.target_issue, link_type=link_type),
    )
    assert response.status_code == 400
    assert response.json() == {"error": "link_type does not have a valid value"}
    assert link_rows(database) == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_case_a03_non_integer_issue_iid_gets_400(client, world, method):
    """A non-integer :issue_iid is 400 issue_iid is invalid."""
    url = f"/api/v4/projects/{world.project['id']}/issues/abc/links"
    response = client.request(
        method, url, headers=world.guest_user.headers, json=world.target(world.target_issue)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "issue_iid is invalid"}


def test_case_a04_self_link_gets_422(client, world, database):
    """Linking an issue to itself is 422 and writes neither a row nor a note."""
    notes = note_count(database)
    response = client.post(
        world.links_url(), headers=world.guest_user.headers, json=world.target(world.issue)
    )
    assert response.status_code == 422
    assert response.json() == {
        "message": f"#{world.issue['iid']} cannot be added: cannot be related to itself"
    }
    assert link_rows(database) == []
    assert note_count(database) == notes


def test_case_a05_opposite_pair_gets_409(client, factory, world, database):
    """POST A->B when B->A exists, whatever either type, is 409 and writes no note."""
    combos = [
        (existing, requested)
        for existing in ("relates_to", "blocks", "is_blocked_by", "parent_of", "duplicates")
        for requested in ("relates_to", "blocks", "is_blocked_by")
    ]
    for n, (existing, requested) in enumerate(combos):
        a, b = factory.issue(world.project, f"a{n}"), factory.issue(world.project, f"b{n}")
        factory.link(b, a, existing)
        notes = note_count(database)
        response = client.post(
            world.links_url(a), headers=world.guest_user.headers, json=world.target(b, link_type=requested)
        )
        assert (response.status_code, response.json()) == (409, ALREADY_ASSIGNED), (existing, requested)
        assert note_count(database) == notes
    assert len(link_rows(database)) == len(combos)


def test_case_a06_same_pair_other_type_gets_409(client, factory, world, database):
    """POST A->B relates_to when A->B blocks exists is 409: the type is not changed."""
    factory.link(world.issue, world.target_issue, "blocks")
    response = client.post(
        world.links_url(), headers=world.guest_user.headers, json=world.target(world.target_issue)
    )
    assert response.status_code == 409
    assert response.json() == ALREADY_ASSIGNED
    assert link_rows(database) == [(world.issue["id"], world.target_issue["id"], "blocks")]


def _fill_links(database: Any, project_id: int, hub_id: int, count: int, **issue_fields: Any) -> None:
    """Give issue `hub_id` `count` related_to links to fresh issues of `project_id` (bulk, for speed)."""
    from issuegraph.db.models import Issue, Project, utcnow

    with database.session() as session:
        project = session.get(Project, project_id)
        now = utcnow()
        issues = []
        for _ in range(count):
            project.last_issue_iid += 1
            issues.append(
                Issue(
                    project_id=project_id,
                    iid=project.last_issue_iid,
                    title="filler",
                    author_id=1,
                    created_at=now,
                    updated_at=now,
                    **issue_fields,
                )
            )
        session.add_all(issues)
        session.flush()
        session.add_all(
            IssueLink(
                source_id=hub_id, target_id=i.id, link_type="related_to", pair_lo=min(hub_id, i.id),
                pair_hi=max(hub_id, i.id), created_at=now, updated_at=now,
            )
            for i in issues
        )  # fmt: skip


LIMIT_MESSAGE = "cannot be added: This issue would exceed the maximum number of linked issues (100)."


@pytest.mark.parametrize("full_side", ["url issue", "target"])
def test_case_a07_hundred_links_limit_gets_422(client, world, database, full_side):
    """The 101st link of either issue is 422 naming the target; 99 links still allow one more."""
    full = world.issue if full_side == "url issue" else world.target_issue
    _fill_links(database, world.project["id"], full["id"], 99)
    response = client.post(
        world.links_url(), headers=world.guest_user.headers, json=world.target(world.other_issue)
    )
    if full is world.issue:
        assert response.status_code == 201, response.text  # the 100th link is allowed
    else:
        _fill_links(database, world.project["id"], full["id"], 1)
    link_type = "relates_to" if full is world.issue else "is_blocked_by"  # the message names the API target
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json=world.target(world.target_issue, link_type=link_type),
    )
    assert response.status_code == 422
    assert response.json() == {"message": f"#{world.target_issue['iid']} {LIMIT_MESSAGE}"}


def test_case_a08_limit_counts_links_the_user_cannot_see(client, factory, world, database):
    """Links to confidential issues and to an unreadable private project count towards the 100."""
    hidden = factory.project("hidden", visibility="private")
    _fill_links(database, world.project["id"], world.issue["id"], 50, confidential=True)
    _fill_links(database, hidden["id"], world.issue["id"], 50)
    assert client.get(world.links_url(), headers=world.guest_user.headers).json() == []
    response = client.post(
        world.links_url(), headers=world.guest_user.headers, json=world.target(world.target_issue)
    )
    assert response.status_code == 422
    assert response.json() == {"message": f"#{world.target_issue['iid']} {LIMIT_MESSAGE}"}


def test_case_a09_blocks_seen_from_both_sides(client, factory, world):
    """Row #1 blocks #2: #1 lists blocks, #2 lists is_blocked_by; GET one is the row from either side."""
    one, two = world.issue, world.target_issue
    link = factory.link(one, two, "blocks")
    from_one = client.get(world.links_url(one), headers=world.guest_user.headers).json()
    from_two = client.get(world.links_url(two), headers=world.guest_user.headers).json()
    assert [(i["id"], i["link_type"]) for i in from_one] == [(two["id"], "blocks")]
    assert [(i["id"], i["link_type"]) for i in from_two] == [(one["id"], "is_blocked_by")]
    for url_issue in (one, two):
        response = client.get(f"{world.links_url(url_issue)}/{link['id']}", headers=world.guest_user.headers)
        assert response.status_code == 200
        assert_issue_link(response.json(), one, two, "blocks")


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("hidden_by", ["confidential", "private project"])
def test_case_a10_url_issue_is_target_and_source_unreadable_gets_404(
    client, factory, world, database, method, hidden_by
):
    """GET one / DELETE from the link's target never reveal an unreadable source (GitLab: 200): the
    answer is that of a link that does not exist, whatever hides the source."""
    if hidden_by == "confidential":
        source = factory.issue(world.project, "secret", confidential=True)
    else:
        source = factory.issue(factory.project("hidden", visibility="private"), "hidden")
    expected = NOT_FOUND
    link = factory.link(source, world.issue, "blocks")
    response = client.request(method, f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == expected
    assert len(link_rows(database)) == 1


def test_case_a11_list_omits_unreadable_related_issues(client, factory, world):
    """The list leaves out a confidential issue and one of an unreadable project, keeps the rest."""
    hidden = factory.project("hidden", visibility="private")
    factory.link(world.issue, factory.issue(world.project, "secret", confidential=True))
    factory.link(factory.issue(hidden, "hidden"), world.issue, "blocks")
    visible = factory.link(world.issue, world.target_issue)
    private_visible = factory.link(world.issue, factory.issue(world.private_project, "private but mine"))
    response = client.get(world.links_url(), headers=world.guest_user.headers)
    assert response.status_code == 200
    assert [i["issue_link_id"] for i in response.json()] == [visible["id"], private_visible["id"]]
    everything = client.get(world.links_url(), headers=factory.admin.headers).json()
    assert len(everything) == 4


def test_case_a12_delete_as_target_without_permission_on_source_gets_404(client, factory, world, database):
    """DELETE from the link's target when the user can only read the source: 404 No Issue Link found."""
    other_project = factory.project("other-public", visibility="public")
    link = factory.link(factory.issue(other_project, "there"), world.issue)
    response = client.delete(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    assert response.status_code == 404
    assert response.json() == NO_LINK
    assert len(link_rows(database)) == 1


def test_case_a13_system_notes(client, factory):
    """Create and delete write GitLab's notes on both issues, references relative to each project."""
    group = factory.group("grp")
    other_group = factory.group("far")
    alpha = factory.project("alpha", group=group)
    beta = factory.project("beta", group=group)
    gamma = factory.project("gamma", group=other_group)
    a1, a2 = factory.issue(alpha, "a1"), factory.issue(alpha, "a2")
    b1, c1 = factory.issue(beta, "b1"), factory.issue(gamma, "c1")
    a3 = factory.issue(alpha, "a3")

    factory.link(a1, a2, "relates_to")  # same project
    link = factory.link(a1, b1, "blocks")  # same namespace
    factory.link(a1, c1, "is_blocked_by")  # another namespace: stored as c1 blocks a1
    factory.link(a3, a1, "parent_of")
    response = client.delete(
        f"/api/v4/projects/{a1['project_id']}/issues/{a1['iid']}/links/{link['id']}",
        headers=factory.admin.headers,
    )
    assert response.status_code == 200

    assert system_notes(client, factory, a1) == [
        "marked this issue as related to #2",
        "marked this issue as blocking beta#1",
        "marked this issue as blocked by far/gamma#1",
        "marked this issue as a sub-issue of #3",
        "removed the relation with beta#1",
    ]
    assert system_notes(client, factory, a2) == ["marked this issue as related to #1"]
    assert system_notes(client, factory, b1) == [
        "marked this issue as blocked by alpha#1",
        "removed the relation with alpha#1",
    ]
    assert system_notes(client, factory, c1) == ["marked this issue as blocking grp/alpha#1"]
    assert system_notes(client, factory, a3) == ["marked this issue as parent of #1"]


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    drop = {"id", "updated_at", "link_created_at", "link_updated_at"}
    return {
        k: ({kk: vv for kk, vv in v.items() if kk != "updated_at"} if isinstance(v, dict) else v)
        for k, v in body.items()
        if k not in drop
    }


def test_case_a14_query_form_and_json_transport_agree(client, factory, world):
    """The same POST as a query string, a form and a JSON body gives the same result."""
    bodies = []
    for transport in ("params", "data", "json"):
        source = factory.issue(world.project, f"via {transport}")
        payload = world.target(world.target_issue, link_type="blocks")
        response = client.post(
            world.links_url(source), headers=world.guest_user.headers, **{transport: payload}
        )
        assert response.status_code == 201, (transport, response.text)
        body = response.json()
        assert body["source_issue"]["id"] == source["id"]
        body.pop("source_issue")
        bodies.append(_normalised(body))
    assert bodies[0] == bodies[1] == bodies[2]


def test_case_a15_url_encoded_project_path_and_plain_target_path(client, factory, world):
    """:id as group%2Fproject and target_project_id as a plain full path create the link."""
    group = factory.group("team")
    factory.group_member(group, world.guest_user, 10)
    project = factory.project("app", group=group)
    source, target = factory.issue(project, "s"), factory.issue(project, "t")
    response = client.post(
        f"/api/v4/projects/team%2Fapp/issues/{source['iid']}/links",
        headers=world.guest_user.headers,
        json={"target_project_id": "team/app", "target_issue_iid": target["iid"]},
    )
    assert response.status_code == 201, response.text
    assert_issue_link(response.json(), source, target, "relates_to")
    listed = client.get(
        f"/api/v4/projects/team%2Fapp/issues/{target['iid']}/links", headers=world.guest_user.headers
    )
    assert [i["id"] for i in listed.json()] == [source["id"]]


def test_case_a16_guest_in_target_only_gets_403(client, factory, world, database):
    """Cross-project POST by a target-project Guest, not a member of the public source project: 403."""
    target_project = factory.project("target-project", visibility="private")
    factory.member(target_project, world.non_member, 10)
    target = factory.issue(target_project, "t")
    response = client.post(world.links_url(), headers=world.non_member.headers, json=world.target(target))
    assert response.status_code == 403
    assert response.json() == FORBIDDEN_LINK
    assert link_rows(database) == []


def test_case_a17_delete_twice(client, factory, world):
    """The first DELETE is 200 with the body incl. id, the second 404 Not found."""
    link = factory.link(world.issue, world.target_issue)
    url = f"{world.links_url()}/{link['id']}"
    first = client.delete(url, headers=world.guest_user.headers)
    assert first.status_code == 200
    assert first.json()["id"] == link["id"]
    second = client.delete(url, headers=world.guest_user.headers)
    assert second.status_code == 404
    assert second.json() == NOT_FOUND


def test_case_a18_create_id_equals_listed_issue_link_id(client, world):
    """The id of the POST response is the issue_link_id of the list, from both sides."""
    created = client.post(
        world.links_url(), headers=world.guest_user.headers, json=world.target(world.target_issue)
    )
    assert created.status_code == 201
    for url_issue in (world.issue, world.target_issue):
        listed = client.get(world.links_url(url_issue), headers=world.guest_user.headers).json()
        assert [i["issue_link_id"] for i in listed] == [created.json()["id"]]


def test_case_a19_python_gitlab_round_trip(python_gitlab, world):
    """python-gitlab: links.create returns (source, target), list has issue_link_id, delete works."""
    gl = python_gitlab(world.guest_user)
    issue = gl.projects.get(world.project["id"], lazy=True).issues.get(world.issue["iid"])
    source, target = issue.links.create(
        {
            "target_project_id": world.project["id"],
            "target_issue_iid": world.target_issue["iid"],
            "link_type": "blocks",
        }
    )
    assert (source.iid, target.iid) == (world.issue["iid"], world.target_issue["iid"])
    listed = issue.links.list()
    assert [(link.iid, link.link_type) for link in listed] == [(world.target_issue["iid"], "blocks")]
    assert listed[0].get_id() == listed[0].issue_link_id
    issue.links.delete(listed[0].issue_link_id)
    assert issue.links.list() == []


@pytest.fixture(params=["gitlab", "sourcecraft"])
def parent_of_link(request, client, factory, world) -> int:
    """issue parent_of target_issue, created through either face; returns the link id."""
    if request.param == "gitlab":
        return int(factory.link(world.issue, world.target_issue, "parent_of")["id"])
    pytest.importorskip("issuegraph.api.sourcecraft.routes", reason="the SourceCraft face is not there yet")
    response = client.post(
        f"/repos/{world.project['path_with_namespace']}/issues/{world.issue['iid']}/issue_links",
        headers=world.guest_user.bearer,
        json={"target_issue_slug": str(world.target_issue["iid"]), "link_type": "parent_of"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _assert_parent_of_seen_here(client, world, link_id: int) -> None:
    from_parent = client.get(world.links_url(world.issue), headers=world.guest_user.headers).json()
    from_child = client.get(world.links_url(world.target_issue), headers=world.guest_user.headers).json()
    assert [(i["issue_link_id"], i["link_type"]) for i in from_parent] == [(link_id, "parent_of")]
    assert [(i["issue_link_id"], i["link_type"]) for i in from_child] == [(link_id, "subissue_of")]
    one = client.get(f"{world.links_url(world.target_issue)}/{link_id}", headers=world.guest_user.headers)
    assert_issue_link(one.json(), world.issue, world.target_issue, "parent_of")
    for url_issue, other in ((world.issue, world.target_issue), (world.target_issue, world.issue)):
        response = client.post(
            world.links_url(url_issue), headers=world.guest_user.headers, json=world.target(other)
        )
        assert response.status_code == 409
        assert response.json() == ALREADY_ASSIGNED


def test_case_a20_parent_of_seen_on_gitlab_face(client, world, parent_of_link):
    """parent_of from the parent, subissue_of from the child; a GitLab POST on the pair is 409."""
    _assert_parent_of_seen_here(client, world, parent_of_link)


# ---------------------------------------------------------------- further rules of §2, §3 and §6


def test_list_is_not_paginated(client, factory, world):
    """page/per_page are ignored and no pagination headers are sent; items are ordered by link id."""
    others = [factory.issue(world.project, f"o{n}") for n in range(3)]
    ids = [factory.link(o, world.issue)["id"] for o in reversed(others)]
    response = client.get(
        world.links_url(), headers=world.guest_user.headers, params={"page": 2, "per_page": 1}
    )
    assert [i["issue_link_id"] for i in response.json()] == sorted(ids)
    assert not {"x-total", "x-page", "link"} & set(response.headers)


def test_bearer_token_and_url_encoded_project(client, factory, world):
    """The links routes accept Authorization: Bearer and a URL-encoded project path."""
    factory.link(world.issue, world.target_issue)
    path = world.project["path_with_namespace"].replace("/", "%2F")
    response = client.get(
        f"/api/v4/projects/{path}/issues/{world.issue['iid']}/links", headers=world.guest_user.bearer
    )
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_bad_token_gets_401(client, world):
    """An invalid token is 401 like no token."""
    response = client.get(world.links_url(), headers={"PRIVATE-TOKEN": "glpat-nope"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_list_unreadable_project_and_missing_issue(client, factory, world):
    """GET list: an unreadable project is 404 Project Not Found, a missing issue 404 Not found."""
    source = factory.issue(world.private_project, "p")
    response = client.get(world.links_url(source), headers=world.non_member.headers)
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)
    response = client.get(
        f"/api/v4/projects/{world.project['id']}/issues/999/links", headers=world.guest_user.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_list_of_confidential_url_issue_gets_404(client, factory, world):
    """GET list on a confidential issue the user cannot read is 404 Not found."""
    secret = factory.issue(world.project, "secret", confidential=True)
    response = client.get(world.links_url(secret), headers=world.guest_user.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_one_missing_parameter_gets_400(client, world):
    """POST without target_issue_iid names just that parameter."""
    response = client.post(
        world.links_url(), headers=world.guest_user.headers, json={"target_project_id": world.project["id"]}
    )
    assert (response.status_code, response.json()) == (400, {"error": "target_issue_iid is missing"})


def test_validation_comes_before_project_lookup(client, world):
    """A 400 for parameters wins over a 404 for the project (check order, §6.2)."""
    response = client.post(
        "/api/v4/projects/999999/issues/1/links", headers=world.guest_user.headers, json={}
    )
    assert response.status_code == 400


def test_non_numeric_target_iid_gets_404(client, world):
    """A non-numeric target_issue_iid can never match: 404 Not found, not 400."""
    response = client.post(
        world.links_url(),
        headers=world.guest_user.headers,
        json={"target_project_id": world.project["id"], "target_issue_iid": "abc"},
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("method", ["get", "delete"])
def test_non_numeric_link_id_gets_404(client, world, method):
    """A non-numeric issue_link_id is 404 Not found on GET one and DELETE."""
    response = client.request(method, f"{world.links_url()}/abc", headers=world.guest_user.headers)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_target_in_unreadable_private_project_gets_404(client, factory, world):
    """A target in a private project the user cannot read is 404 Project Not Found."""
    hidden = factory.project("hidden", visibility="private")
    target = factory.issue(hidden, "t")
    response = client.post(world.links_url(), headers=world.guest_user.headers, json=world.target(target))
    assert (response.status_code, response.json()) == (404, PROJECT_NOT_FOUND)


def test_conflict_comes_before_permission(client, factory, world):
    """A user who may not link the pair still gets 409 when it is already linked (409 before 403)."""
    factory.link(world.issue, world.target_issue)
    response = client.post(
        world.links_url(), headers=world.non_member.headers, json=world.target(world.target_issue)
    )
    assert (response.status_code, response.json()) == (409, ALREADY_ASSIGNED)


def test_read_api_token_cannot_link(client, factory, world):
    """A read_api token may list links but not create one (403)."""
    reader = factory.user("reader", scopes="read_api")
    factory.member(world.project, reader, 30)
    assert client.get(world.links_url(), headers=reader.headers).status_code == 200
    response = client.post(world.links_url(), headers=reader.headers, json=world.target(world.target_issue))
    assert response.status_code == 403


def test_delete_ignores_link_type(client, factory, world):
    """DELETE accepts and ignores a link_type parameter (a documentation artefact)."""
    link = factory.link(world.issue, world.target_issue, "blocks")
    response = client.delete(
        f"{world.links_url()}/{link['id']}",
        headers=world.guest_user.headers,
        params={"link_type": "relates_to"},
    )
    assert response.status_code == 200
    assert response.json()["link_type"] == "blocks"


def test_delete_from_target_side(client, factory, world, database):
    """DELETE through the link's target issue works and returns the persisted orientation."""
    link = factory.link(world.issue, world.target_issue, "is_blocked_by")
    response = client.delete(
        f"{world.links_url(world.target_issue)}/{link['id']}", headers=world.guest_user.headers
    )
    assert response.status_code == 200
    assert_issue_link(response.json(), world.target_issue, world.issue, "blocks")
    assert link_rows(database) == []


def test_relink_after_delete_with_another_type(client, factory, world):
    """To change a type a client deletes the link and creates it again."""
    link = factory.link(world.issue, world.target_issue)
    client.delete(f"{world.links_url()}/{link['id']}", headers=world.guest_user.headers)
    factory.link(world.target_issue, world.issue, "blocks", by=world.guest_user)
    listed = client.get(world.links_url(), headers=world.guest_user.headers).json()
    assert [i["link_type"] for i in listed] == ["is_blocked_by"]


def test_deleting_an_issue_deletes_its_links(client, factory, world, database):
    """Deleting an issue removes its links; the other issue's list is then empty."""
    factory.link(world.issue, world.target_issue)
    response = client.delete(
        f"/api/v4/projects/{world.project['id']}/issues/{world.target_issue['iid']}",
        headers=factory.admin.headers,
    )
    assert response.status_code == 204
    assert link_rows(database) == []
    assert client.get(world.links_url(), headers=world.guest_user.headers).json() == []


def test_blocking_cycle_is_refused_in_422_shape(client, factory, world):
    """A blocking cycle, which the domain refuses, is reported as 422 '#<iid> cannot be added: ...'."""
    factory.link(world.issue, world.target_issue, "blocks")
    factory.link(world.target_issue, world.other_issue, "blocks")
    response = client.post(
        world.links_url(world.other_issue),
        headers=world.guest_user.headers,
        json=world.target(world.issue, link_type="blocks"),
    )
    assert response.status_code == 422
    assert response.json()["message"].startswith(f"#{world.issue['iid']} cannot be added: ")


def test_links_touch_both_issues(client, factory, world):
    """Creating a link updates both issues' updated_at."""
    before = [world.issue["updated_at"], world.target_issue["updated_at"]]
    factory.link(world.issue, world.target_issue)
    after = [
        client.get(
            f"/api/v4/projects/{i['project_id']}/issues/{i['iid']}", headers=factory.admin.headers
        ).json()["updated_at"]
        for i in (world.issue, world.target_issue)
    ]
    assert after[0] > before[0] and after[1] > before[1]


def test_blocking_issues_count(client, factory, world):
    """blocking_issues_count is the number of issues the issue blocks."""
    factory.link(world.issue, world.target_issue, "blocks")
    factory.link(world.other_issue, world.issue, "is_blocked_by")
    body = client.get(
        f"/api/v4/projects/{world.project['id']}/issues/{world.issue['iid']}", headers=factory.admin.headers
    ).json()
    assert body["blocking_issues_count"] == 2


def test_anonymous_wins_over_invalid_parameters(client, world):
    """401 comes before parameter validation (§6.2 step 1)."""
    response = client.post(f"/api/v4/projects/{world.project['id']}/issues/abc/links", json={})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_list_validation_comes_before_project_lookup(client, world):
    """GET list with a non-integer iid is 400 even for an unknown project (§6.1 step 2)."""
    response = client.get("/api/v4/projects/999999/issues/abc/links", headers=world.guest_user.headers)
    assert (response.status_code, response.json()) == (400, {"error": "issue_iid is invalid"})


def test_internal_project_target_is_readable_but_not_linkable(client, factory, world):
    """A target in an internal project the user is no member of can be read but not linked: 403."""
    internal = factory.project("internal", visibility="internal")
    target = factory.issue(internal, "t")
    response = client.post(world.links_url(), headers=world.guest_user.headers, json=world.target(target))
    assert (response.status_code, response.json()) == (403, FORBIDDEN_LINK)


def test_group_guest_links_across_the_group_projects(client, factory, world):
    """Guest membership of a group lets a user link issues of two private projects of that group."""
    group = factory.group("team")
    linker = factory.user("linker")
    factory.group_member(group, linker, 10)
    one, two = factory.project("one", group=group), factory.project("two", group=group)
    source, target = factory.issue(one, "s"), factory.issue(two, "t")
    response = client.post(
        world.links_url(source), headers=linker.headers, json=world.target(target, link_type="blocks")
    )
    assert response.status_code == 201, response.text
    listed = client.get(world.links_url(target), headers=linker.headers).json()
    assert [(i["id"], i["link_type"], i["references"]["full"]) for i in listed] == [
        (source["id"], "is_blocked_by", "team/one#1")
    ]
