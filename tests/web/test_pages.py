"""Pages through the in-process client: lists and filters, the issue page's forms and refusals, the picker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuegraph.config import get_settings
from issuegraph.links.service import FORBIDDEN_MESSAGE
from tests.conftest import Factory
from tests.web.webclient import csrf_of, set_password, signed_in

PASSWORD = "web password 1"


def _root(client: TestClient, factory: Factory) -> None:
    set_password(client, factory.admin.headers, factory.admin.id, PASSWORD)
    signed_in(client, "root", PASSWORD)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr class="issue-row">\s*<td><a href="[^"]+">([^<]+)</a>', html)


def _post(client: TestClient, page: str, action: str, **data: Any) -> Any:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def test_issue_list_filters_and_counts(client: TestClient, factory: Factory) -> None:
    """State, ready/blocked, label, assignee and text filters; the counts and per-row blocker figures."""
    _root(client, factory)
    project = factory.project("list")
    dev = factory.user("dev")
    factory.member(project, dev, 30)
    one = factory.issue(project, "Alpha database", labels="backend")
    two = factory.issue(project, "Beta screen", assignee_ids=[dev.id])
    factory.issue(project, "Gamma closed", state_event="close")
    factory.link(one, two, "blocks")
    base = f"/-/projects/{project['id']}/issues"
    page = client.get(base).text
    assert _rows(page) == ["#2", "#1"]
    assert "2 open</span>" in page and "1 ready</span>" in page and "1 blocked</span>" in page
    assert re.search(
        r'#2</a> Beta screen.*?<td class="num blocked">1</td>\s*<td class="num">0</td>', page, re.S
    )
    assert re.search(r'#1</a> Alpha database.*?<td class="num">0</td>\s*<td class="num">1</td>', page, re.S)
    assert _rows(client.get(base, params={"work": "ready"}).text) == ["#1"]
    assert _rows(client.get(base, params={"work": "blocked"}).text) == ["#2"]
    assert _rows(client.get(base, params={"label": "backend"}).text) == ["#1"]
    assert _rows(client.get(base, params={"assignee": "dev"}).text) == ["#2"]
    assert _rows(client.get(base, params={"search": "database"}).text) == ["#1"]
    assert _rows(client.get(base, params={"state": "closed"}).text) == ["#3"]
    assert _rows(client.get(base, params={"state": "all"}).text) == ["#3", "#2", "#1"]
    assert client.get(base, params={"state": "bogus", "page": "-4"}).status_code == 200


def test_issue_list_pages(client: TestClient, factory: Factory) -> None:
    """Twenty issues a page, newest first; page 2 holds the rest."""
    project = factory.project("paged", visibility="public")
    for n in range(23):
        factory.issue(project, f"issue {n}")
    base = f"/-/projects/{project['id']}/issues"
    assert len(_rows(client.get(base).text)) == 20
    second = client.get(base, params={"page": 2}).text
    assert _rows(second) == ["#3", "#2", "#1"]
    assert "Page 2 of 2 (23 issues)" in second


def test_home_and_group_pages_show_counts(client: TestClient, factory: Factory) -> None:
    """The home page lists projects and groups with open/ready/blocked; the group page lists its issues."""
    _root(client, factory)
    group = factory.group("team")
    project = factory.project("app", group=group)
    first, second = factory.issue(project, "first"), factory.issue(project, "second")
    factory.link(first, second, "blocks")
    home = client.get("/").text
    row = re.search(r"team/app</a>.*?</tr>", home, re.S)
    assert row is not None
    assert re.findall(r"<td[^>]*>(\d+)</td>", row.group(0)) == ["2", "1", "1"]
    group_page = client.get(f"/-/groups/{group['id']}").text
    assert _rows(group_page) == ["team/app#2", "team/app#1"]
    assert "1 blocked</span>" in group_page


def test_link_refusals_are_shown_in_words(client: TestClient, factory: Factory) -> None:
    """Second parent, permission and unknown target are refused beside the form, never an error page."""
    _root(client, factory)
    project = factory.project("rules")
    parent_a, parent_b, child = (factory.issue(project, t) for t in ("Parent A", "Parent B", "Child"))
    factory.link(parent_a, child, "parent_of")
    page = f"/-/projects/{project['id']}/issues/{parent_b['iid']}"
    action = page + "/links"
    second_parent = _post(client, page, action, link_type="parent_of", target=f"#{child['iid']}")
    assert second_parent.status_code == 422
    assert 'id="link-refusal"' in second_parent.text and "parent" in second_parent.text.lower()
    missing = _post(client, page, action, link_type="blocks", target="#999")
    assert missing.status_code == 422 and "#999 was not found (or you cannot see it)." in missing.text
    nonsense = _post(client, page, action, link_type="blocks", target="not a reference")
    assert nonsense.status_code == 422 and "pick one from the list" in nonsense.text

    outsider = factory.user("outsider")
    set_password(client, factory.admin.headers, outsider.id, PASSWORD)
    mine = factory.project("mine", owner=outsider)
    public = factory.project("public", visibility="public")
    target = factory.issue(public, "Public issue")
    factory.issue(mine, "Mine")
    client.cookies.clear()
    signed_in(client, "outsider", PASSWORD)
    own_page = f"/-/projects/{mine['id']}/issues/1"
    refused = _post(
        client, own_page, own_page + "/links", link_type="blocks", target=f"root/public#{target['iid']}"
    )
    assert refused.status_code == 422
    assert FORBIDDEN_MESSAGE.replace("'", "&#39;") in refused.text
    assert client.get(f"/api/v4/projects/{mine['id']}/issues/1/links", headers=outsider.headers).json() == []


def test_remove_buttons_name_their_link_in_one_form_per_group(client: TestClient, factory: Factory) -> None:
    """Each group of linked items is one form; the Remove button pressed names the link. A link
    that is not this issue's is refused, and nothing is removed."""
    _root(client, factory)
    project = factory.project("removal")
    here, a, b, c = (factory.issue(project, t) for t in ("Here", "A", "B", "C"))
    factory.link(here, a, "blocks")
    factory.link(here, b, "blocks")
    factory.link(here, c, "relates_to")
    factory.link(a, b, "relates_to")
    page = f"/-/projects/{project['id']}/issues/{here['iid']}"
    html = client.get(page).text
    action = page + "/links/delete"
    assert html.count(f'action="{action}"') == 2  # "blocks" and "related", not one per row
    assert html.count('name="link_id"') == 3
    api = f"/api/v4/projects/{project['id']}/issues/{here['iid']}/links"
    link_of = {i["title"]: i["issue_link_id"] for i in client.get(api, headers=factory.admin.headers).json()}
    gone = _post(client, page, action, link_id=str(link_of["A"]))
    assert gone.status_code == 303, gone.text
    assert (
        sorted(client.get(api, headers=factory.admin.headers).json(), key=lambda i: i["title"])[0]["title"]
        == "B"
    )
    assert len(client.get(api, headers=factory.admin.headers).json()) == 2
    a_api = f"/api/v4/projects/{project['id']}/issues/{a['iid']}/links"
    [a_to_b] = client.get(a_api, headers=factory.admin.headers).json()
    refused = _post(client, page, action, link_id=str(a_to_b["issue_link_id"]))
    assert refused.status_code == 422 and 'id="link-refusal"' in refused.text, refused.text
    assert len(client.get(api, headers=factory.admin.headers).json()) == 2
    assert len(client.get(a_api, headers=factory.admin.headers).json()) == 1
    assert _post(client, page, action, link_id="x").status_code == 400


def test_comment_markdown_and_empty_comment(client: TestClient, factory: Factory) -> None:
    """A comment is rendered as Markdown in the timeline; an empty one is refused beside the form."""
    _root(client, factory)
    project = factory.project("talk")
    factory.issue(project, "Talk")
    page = f"/-/projects/{project['id']}/issues/1"
    ok = _post(client, page, page + "/notes", body="**bold** words")
    assert ok.status_code == 303
    assert "<strong>bold</strong> words" in client.get(page).text
    empty = _post(client, page, page + "/notes", body="   ")
    assert empty.status_code == 422 and "body is missing" in empty.text


def test_long_timeline_folds_its_earlier_activity(client: TestClient, factory: Factory) -> None:
    """The page shows the latest 30 entries, oldest first, behind a link to the rest; `?activity=all`
    shows every entry in order."""
    _root(client, factory)
    project = factory.project("chatty")
    factory.issue(project, "Long talk")
    notes = f"/api/v4/projects/{project['id']}/issues/1/notes"
    for n in range(1, 36):
        assert (
            client.post(notes, headers=factory.admin.headers, json={"body": f"entry-{n:02d}"}).status_code
            == 201
        )
    page = f"/-/projects/{project['id']}/issues/1"
    shown = re.findall(r"entry-(\d\d)", client.get(page).text)
    assert shown == [f"{n:02d}" for n in range(6, 36)]
    assert 'href="?activity=all#timeline"' in client.get(page).text
    everything = client.get(page, params={"activity": "all"}).text
    assert re.findall(r"entry-(\d\d)", everything) == [f"{n:02d}" for n in range(1, 36)]
    assert "Show earlier activity" not in everything


def test_timeline_hides_system_notes_naming_what_the_reader_cannot_see(
    client: TestClient, factory: Factory
) -> None:
    """A public issue's timeline shows "blocked by priv/...#1" only to those who can read that issue."""
    public = factory.project("pub", visibility="public")
    private = factory.project("priv")
    reader = factory.user("reader")
    issue = factory.issue(public, "Open to all")
    hidden = factory.issue(private, "Secret")
    factory.link(hidden, issue, "blocks")
    page = f"/-/projects/{public['id']}/issues/{issue['iid']}"
    set_password(client, factory.admin.headers, reader.id, PASSWORD)
    signed_in(client, "reader", PASSWORD)
    as_reader = client.get(page)
    assert as_reader.status_code == 200 and "Open to all" in as_reader.text
    assert "priv" not in as_reader.text
    _root(client, factory)
    assert f"marked this issue as blocked by {private['path']}#{hidden['iid']}" in client.get(page).text


def test_close_under_warn_policy_lists_what_is_open(client: TestClient, factory: Factory) -> None:
    """Under `warn` the issue closes and the page lists its open blocker."""
    _root(client, factory)
    project = factory.project("warned")
    client.put(
        f"/api/v4/projects/{project['id']}", headers=factory.admin.headers, json={"close_policy": "warn"}
    )
    blocker, blocked = factory.issue(project, "Blocker"), factory.issue(project, "Blocked")
    factory.link(blocker, blocked, "blocks")
    page = f"/-/projects/{project['id']}/issues/{blocked['iid']}"
    response = _post(client, page, page + "/state", state_event="close")
    assert response.status_code == 200
    assert 'id="close-warnings"' in response.text and "open blocker #1: Blocker" in response.text
    issue = client.get(f"/api/v4/projects/{project['id']}/issues/2", headers=factory.admin.headers).json()
    assert issue["state"] == "closed"


def test_sub_issues_progress_bar_comes_from_the_roll_up(client: TestClient, factory: Factory) -> None:
    """A parent with two sub-issues, one closed: the progress bar says 1 of 2 (50%)."""
    _root(client, factory)
    project = factory.project("tree")
    parent = factory.issue(project, "Parent")
    for title, closed in (("Done", True), ("Todo", False)):
        kid = factory.issue(project, title, **({"state_event": "close"} if closed else {}))
        factory.link(parent, kid, "parent_of")
    html = client.get(f"/-/projects/{project['id']}/issues/{parent['iid']}").text
    assert "Sub-issues done: 1 of 2 (50.0%)" in html
    assert '<progress id="subissue-bar" max="2" value="1">' in html


def test_picker_finds_readable_issues_by_number_reference_and_title(
    client: TestClient, factory: Factory
) -> None:
    """The picker searches every readable project by #iid, by reference and by title; never a hidden one."""
    _root(client, factory)
    here = factory.project("here")
    other = factory.project("other")
    factory.issue(here, "Source")
    factory.issue(here, "Local target")
    factory.issue(other, "Remote target")
    url = f"/-/projects/{here['id']}/issues/1/link_targets"
    assert 'data-ref="root/here#2"' in client.get(url, params={"target": "#2"}).text
    assert 'data-ref="root/other#1"' in client.get(url, params={"target": "root/other#1"}).text
    by_title = client.get(url, params={"target": "target"}).text
    assert by_title.index("root/here#2") < by_title.index("root/other#1")
    assert "root/here#1" not in by_title  # not the issue itself

    stranger = factory.user("stranger")
    set_password(client, factory.admin.headers, stranger.id, PASSWORD)
    own = factory.project("own", owner=stranger)
    factory.issue(own, "Own issue", by=stranger)
    client.cookies.clear()
    signed_in(client, "stranger", PASSWORD)
    found = client.get(f"/-/projects/{own['id']}/issues/1/link_targets", params={"target": "target"}).text
    assert "Remote target" not in found and "Local target" not in found
    assert "No issue you can read matches" in found


def test_anonymous_cannot_post_and_nothing_is_written(client: TestClient, factory: Factory) -> None:
    """An anonymous form post is refused with the sign-in page's words and creates nothing."""
    project = factory.project("anon", visibility="public")
    response = _post(client, "/-/sign_in", f"/-/projects/{project['id']}/issues", title="from nobody")
    assert response.status_code == 401 and "Sign in to do that" in response.text
    assert client.get(f"/api/v4/projects/{project['id']}/issues").json() == []


def test_limit_and_depth_refusals_are_shown_in_words(
    client: TestClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one link per issue and two levels of hierarchy, the next link and the third level are refused
    beside the form, in the service's words."""
    _root(client, factory)
    project = factory.project("limits")
    a, b, c = (factory.issue(project, t) for t in ("A", "B", "C"))
    factory.link(a, b, "parent_of")
    monkeypatch.setenv("ISSUEGRAPH_MAX_LINKS_PER_ISSUE", "1")
    monkeypatch.setenv("ISSUEGRAPH_MAX_DEPTH", "2")
    get_settings.cache_clear()
    page = f"/-/projects/{project['id']}/issues/{b['iid']}"
    deeper = _post(client, page, page + "/links", link_type="parent_of", target=f"#{c['iid']}")
    assert deeper.status_code == 422 and 'id="link-refusal"' in deeper.text
    assert re.search(r"depth|level", deeper.text, re.I)
    page = f"/-/projects/{project['id']}/issues/{a['iid']}"
    over = _post(client, page, page + "/links", link_type="related_to", target=f"#{c['iid']}")
    assert over.status_code == 422 and 'id="link-refusal"' in over.text
    assert re.search(r"limit|maximum", over.text, re.I)
    links = client.get(
        f"/api/v4/projects/{project['id']}/issues/{c['iid']}/links", headers=factory.admin.headers
    )
    assert links.json() == []


def test_issue_graph_depth_and_open_only(client: TestClient, factory: Factory) -> None:
    """The issue graph's data follows the depth and open-only controls, as the graph API does."""
    project = factory.project("chain", visibility="public")
    one, two, three, four = (factory.issue(project, t) for t in ("One", "Two", "Three", "Four"))
    factory.link(one, two, "blocks")
    factory.link(two, three, "blocks")
    factory.link(three, four, "blocks")
    url = f"/-/projects/{project['id']}/issues/{three['iid']}/graph.json"

    def labels(**params: Any) -> tuple[set[str], set[tuple[str, str]]]:
        data = client.get(url, params=params).json()
        names = {n["data"]["id"]: n["data"]["label"] for n in data["nodes"]}
        edges = {(names[e["data"]["source"]], names[e["data"]["target"]]) for e in data["edges"]}
        return set(names.values()), edges

    ref = "root/chain#"
    assert labels() == (
        {ref + "1", ref + "2", ref + "3", ref + "4"},
        {(ref + "1", ref + "2"), (ref + "2", ref + "3"), (ref + "3", ref + "4")},
    )
    assert labels(depth=1)[0] == {ref + "2", ref + "3", ref + "4"}
    client.put(
        f"/api/v4/projects/{project['id']}/issues/{one['iid']}",
        headers=factory.admin.headers,
        json={"state_event": "close"},
    )
    assert labels(open_only="true")[0] == {ref + "2", ref + "3", ref + "4"}
    assert client.get(url, params={"depth": 0}).status_code in (400, 422)


def _statements(client: TestClient, query_recorder: Any, path: str, **params: str) -> int:
    with query_recorder() as statements:
        assert client.get(path, params=params).status_code == 200
    return len(statements)


def test_pages_send_as_many_statements_for_more_rows(
    client: TestClient, factory: Factory, query_recorder: Any
) -> None:
    """STYLE §12 on the web face: home, the issue lists, the issue page (latest and all activity),
    the picker and the graph marks send as many statements for forty notes and ten issues as for
    two notes and three issues."""
    _root(client, factory)
    group = factory.group("web-budget")
    project = factory.project("budget", group=group)
    issues = [factory.issue(project, f"budget item {n}") for n in range(3)]
    factory.link(issues[0], issues[1], "blocks")
    base = f"/-/projects/{project['id']}"
    pages = [
        ("/", {}),
        (f"{base}/issues", {}),
        (f"/-/groups/{group['id']}", {}),
        (f"{base}/issues/1", {}),
        (f"{base}/issues/1", {"activity": "all"}),
        (f"{base}/issues/1/link_targets", {"target": "budget"}),
        (f"{base}/issues/1/link_targets", {"target": f"{project['path_with_namespace']}#2"}),
        (f"{base}/graph/marks.json", {}),
    ]
    for path, params in pages:  # warm-up: first requests of a kind load caches
        _statements(client, query_recorder, path, **params)
    few = [_statements(client, query_recorder, path, **params) for path, params in pages]
    more = [factory.issue(project, f"budget item {n}") for n in range(3, 10)]
    for other in more[:4]:
        factory.link(issues[0], other, "relates_to")  # system notes on #1
    for n in range(40):
        client.post(
            f"/api/v4/projects/{project['id']}/issues/1/notes",
            headers=factory.admin.headers,
            json={"body": f"note {n}"},
        )
    many = [_statements(client, query_recorder, path, **params) for path, params in pages]
    assert many == few


def test_gitlab_web_urls_lead_to_the_pages(client: TestClient, factory: Factory) -> None:
    """The `web_url`s the GitLab face hands out (an issue's, a project's issue list, a group's)
    redirect to their pages for a reader; anyone else, and anything else, gets this face's
    not-found page; under /api/v4 a GitLab 404 as before."""
    from urllib.parse import urlsplit

    top = factory.group("top")
    sub = factory.group("sub", parent=top)
    project = factory.project("deep", group=sub)
    issue = factory.issue(project, "far down")
    assert urlsplit(issue["web_url"]).path == f"/top/sub/deep/-/issues/{issue['iid']}"
    _root(client, factory)
    moved = client.get(urlsplit(issue["web_url"]).path, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (
        302,
        f"/-/projects/{project['id']}/issues/{issue['iid']}",
    )
    assert "far down" in client.get(urlsplit(issue["web_url"]).path).text
    listing = client.get("/top/sub/deep/-/issues", follow_redirects=False)
    assert listing.headers["location"] == f"/-/projects/{project['id']}/issues"
    group = client.get(urlsplit(sub["web_url"]).path, follow_redirects=False)
    assert (group.status_code, group.headers["location"]) == (302, f"/-/groups/{sub['id']}")
    for missing in ("/top/sub/nowhere/-/issues/1", "/top/sub/deep/-/issues/x", "/groups/top/none"):
        answer = client.get(missing, follow_redirects=False)
        assert answer.status_code == 404 and "text/html" in answer.headers["content-type"], missing
    client.cookies.clear()  # signed out: the private project is not found, its id not given away
    hidden = client.get(urlsplit(issue["web_url"]).path, follow_redirects=False)
    assert hidden.status_code == 404 and "location" not in hidden.headers
    api = client.get(f"/api/v4/projects/{project['id']}/-/issues/1", headers=factory.admin.headers)
    assert api.status_code == 404 and api.json() == {"message": "404 Not found"}
