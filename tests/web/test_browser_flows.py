"""The web UI in headless Chromium against a real server, on SQLite and on PostgreSQL.

The tests of this module run in order on one server per database: first start, sign-in,
project and issues, a link through the picker, the cycle refusal, graphs, the close policy,
sign-out. Every page visited is checked with axe-core and photographed.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.web.conftest import WebServer, axe_violations, graph_elements, shot, sign_in, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("web_server", ["sqlite", "postgresql"], indirect=True, scope="module"),
]

STATE: dict[str, Any] = {}


def visit(browser: Any, url: str, name: str, kind: str) -> None:
    """Open a page, photograph it and check it has no serious accessibility violation."""
    browser.get(url)
    if browser.find_elements(By.ID, "graph"):
        wait_for(browser, lambda d: d.find_element(By.ID, "graph").get_attribute("data-ready") == "true")
    shot(browser, f"{kind}-{name}")
    assert axe_violations(browser) == []
    assert [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]] == []


def _project_id(server: WebServer) -> int:
    return int(STATE[server.url]["project_id"])


def test_first_start_writes_root_password_and_root_signs_in(browser: Any, web_server: WebServer) -> None:
    """The first start writes root's random password to a private file and the log; root signs in with it."""
    kind = "pg" if "postgresql" in web_server.database_url else "sqlite"
    path = web_server.workdir / "initial_root_password"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = web_server.root_password()
    assert len(password) >= 16
    assert password in web_server.log_path.read_text()
    browser.delete_all_cookies()
    visit(browser, f"{web_server.url}/-/sign_in", "sign-in", kind)
    sign_in(browser, web_server.url, "root", password)
    assert "Signed in as root" in browser.find_element(By.TAG_NAME, "header").text
    STATE[web_server.url] = {"kind": kind}


def test_create_project_and_issues(browser: Any, web_server: WebServer) -> None:
    """Root creates a project (close policy deny) and three issues through the forms."""
    kind = STATE[web_server.url]["kind"]
    browser.get(web_server.url + "/")
    browser.find_element(By.ID, "project-name").send_keys("Flow")
    Select(browser.find_element(By.ID, "project-close-policy")).select_by_value("deny")
    browser.find_element(By.ID, "new-project-submit").click()
    wait_for(browser, lambda d: "/issues" in d.current_url)
    project_id = int(browser.current_url.split("/projects/")[1].split("/")[0])
    STATE[web_server.url]["project_id"] = project_id
    for title in ("Design the schema", "Write the migrations", "Ship it"):
        browser.get(f"{web_server.url}/-/projects/{project_id}/issues")
        browser.find_element(By.ID, "new-title").send_keys(title)
        browser.find_element(By.ID, "new-description").send_keys(f"Details of *{title}*")
        browser.find_element(By.ID, "new-issue-submit").click()
        wait_for(browser, lambda d, t=title: d.find_element(By.ID, "issue-title").text == t)
    visit(browser, f"{web_server.url}/-/projects/{project_id}/issues", "issue-list", kind)
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.issue-row")
    assert len(rows) == 3
    with web_server.api as api:
        titles = sorted(i["title"] for i in api.get(f"/projects/{project_id}/issues").json())
    assert titles == ["Design the schema", "Ship it", "Write the migrations"]
    visit(browser, web_server.url + "/", "home", kind)


def _add_link(browser: Any, link_type: str, search: str, expect_ref: str, *, keyboard: bool = False) -> None:
    """Pick the target with the picker, by mouse or (keyboard=True) with Tab and Enter only."""
    Select(browser.find_element(By.ID, "link-type")).select_by_value(link_type)
    field = browser.find_element(By.ID, "link-target")
    field.clear()
    field.send_keys(search)
    pick = wait_for(
        browser,
        lambda d: [
            b
            for b in d.find_elements(By.CSS_SELECTOR, "button.pick")
            if b.get_attribute("data-ref") == expect_ref
        ],
    )
    if keyboard:
        assert pick[0] == browser.find_elements(By.CSS_SELECTOR, "button.pick")[0]
        field.send_keys(Keys.TAB)
        assert browser.switch_to.active_element == pick[0]
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        assert browser.find_element(By.ID, "link-target").get_attribute("value") == expect_ref
        assert browser.switch_to.active_element.get_attribute("id") == "link-submit"
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        return
    pick[0].click()
    assert browser.find_element(By.ID, "link-target").get_attribute("value") == expect_ref
    browser.find_element(By.ID, "link-submit").click()


def test_blocks_link_with_picker_cycle_refused_and_removed(browser: Any, web_server: WebServer) -> None:
    """#1 blocks #2 through the picker (read back via the GitLab API); #2 blocks #1 is refused as already
    linked; with #2 blocks #3, #3 blocks #1 is refused with the cycle's path; removing leaves no link."""
    kind, project_id = STATE[web_server.url]["kind"], _project_id(web_server)
    browser.get(f"{web_server.url}/-/projects/{project_id}/issues/1")
    _add_link(browser, "blocks", "migrations", "root/flow#2")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ul.links[data-type='blocks'] li.link-row"))
    assert "#2" in browser.find_element(By.CSS_SELECTOR, "ul.links[data-type='blocks']").text
    shot(browser, f"{kind}-issue-linked")
    with web_server.api as api:
        seen = api.get(f"/projects/{project_id}/issues/1/links").json()
    assert [(x["iid"], x["link_type"]) for x in seen] == [(2, "blocks")]

    visit(browser, f"{web_server.url}/-/projects/{project_id}/issues/2", "issue-blocked", kind)
    assert "#1" in browser.find_element(By.CSS_SELECTOR, "ul.links[data-type='blocked_by']").text
    _add_link(browser, "blocks", "#1", "root/flow#1", keyboard=True)
    refusal = wait_for(browser, lambda d: d.find_elements(By.ID, "link-refusal"))[0].text
    assert refusal == "Issue(s) already assigned"
    with web_server.api as api:
        _api_link(api, project_id, 2, 3, "blocks")
    browser.get(f"{web_server.url}/-/projects/{project_id}/issues/3")
    _add_link(browser, "blocks", "Design", "root/flow#1")
    refusal = wait_for(browser, lambda d: d.find_elements(By.ID, "link-refusal"))[0].text
    assert "cycle" in refusal
    assert "#3 blocks #1 blocks #2 blocks #3" in refusal
    shot(browser, f"{kind}-issue-cycle-refused")
    assert axe_violations(browser) == []

    browser.get(f"{web_server.url}/-/projects/{project_id}/issues/2")
    for remaining in (1, 0):
        browser.find_element(By.CSS_SELECTOR, "button.remove-link").click()
        wait_for(browser, lambda d, n=remaining: len(d.find_elements(By.CSS_SELECTOR, "li.link-row")) == n)
    with web_server.api as api:
        assert api.get(f"/projects/{project_id}/issues/2/links").json() == []


def _api_link(api: httpx.Client, project_id: int, source: int, target: int, link_type: str) -> None:
    response = api.post(
        f"/projects/{project_id}/issues/{source}/links",
        json={"target_project_id": project_id, "target_issue_iid": target, "link_type": link_type},
    )
    assert response.status_code == 201, response.text


def test_issue_graph_and_project_graph_show_exactly_the_links(browser: Any, web_server: WebServer) -> None:
    """Issue graph of #2: its blockers #1, #4 and what it blocks, #3; the project graph adds the hierarchy,
    marks the critical path #1 -> #2 -> #3 and the ready issues #1, #4, #5."""
    kind, project_id = STATE[web_server.url]["kind"], _project_id(web_server)
    with web_server.api as api:
        for title in ("Review", "Epic"):
            assert api.post(f"/projects/{project_id}/issues", json={"title": title}).status_code == 201
        _api_link(api, project_id, 1, 2, "blocks")
        _api_link(api, project_id, 2, 3, "blocks")
        _api_link(api, project_id, 4, 2, "blocks")
        _api_link(api, project_id, 5, 1, "parent_of")
    ref = "root/flow#"
    visit(browser, f"{web_server.url}/-/projects/{project_id}/issues/2/graph", "issue-graph", kind)
    nodes, edges = graph_elements(browser)
    assert nodes == {ref + "1", ref + "2", ref + "3", ref + "4"}
    assert edges == {(ref + "1", ref + "2"), (ref + "4", ref + "2"), (ref + "2", ref + "3")}
    self_label = browser.execute_script("return window.igGraph.nodes('[kind = \"self\"]').data('label')")
    assert self_label == ref + "2"
    _hover_then_click(browser, "Design the schema", f"/-/projects/{project_id}/issues/1")

    visit(browser, f"{web_server.url}/-/projects/{project_id}/graph", "project-graph", kind)
    nodes, edges = graph_elements(browser)
    assert nodes == {"#1", "#2", "#3", "#4", "#5"}
    assert edges == {("#1", "#2"), ("#2", "#3"), ("#4", "#2"), ("#5", "#1")}
    marked = browser.execute_script(
        "var cy = window.igGraph; function labels(s) {"
        "  return cy.nodes(s).map(function (n) { return n.data('label'); }).sort(); }"
        "return {critical: labels('.critical'), ready: labels('.ready')};"
    )
    assert marked == {"critical": ["#1", "#2", "#3"], "ready": ["#1", "#4", "#5"]}
    for fmt, needle in (("json", '"edges"'), ("dot", "digraph"), ("mermaid", "flowchart")):
        href = browser.find_element(By.ID, f"download-{fmt}").get_attribute("href")
        cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
        body = httpx.get(href, cookies=cookies, timeout=30)
        assert body.status_code == 200 and needle in body.text
        assert "attachment" in body.headers["content-disposition"]


def _hover_then_click(browser: Any, title: str, url: str) -> None:
    """Hovering the node titled `title` shows its title; clicking it opens `url` (real mouse events)."""
    x, y = browser.execute_script(
        "var cy = window.igGraph, title = arguments[0];"
        "var box = document.getElementById('graph').getBoundingClientRect();"
        "var node = cy.nodes().filter(function (n) { return n.data('title') === title; })[0];"
        "var p = node.renderedPosition(); return [box.left + p.x, box.top + p.y];",
        title,
    )
    for kind in ("mouseMoved", "mouseMoved"):
        browser.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": kind, "x": x + 1, "y": y + 1})
    tip = wait_for(browser, lambda d: d.find_element(By.ID, "graph-tip").is_displayed())
    assert tip and title in browser.find_element(By.ID, "graph-tip").text
    for kind in ("mousePressed", "mouseReleased"):
        browser.execute_cdp_cmd(
            "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
        )
    wait_for(browser, lambda d: d.current_url.endswith(url))


def test_close_refused_under_deny_policy(browser: Any, web_server: WebServer) -> None:
    """Closing #2 (open blocker #1) is refused in words naming #1; closing #3's blocker-free sibling works."""
    kind, project_id = STATE[web_server.url]["kind"], _project_id(web_server)
    browser.get(f"{web_server.url}/-/projects/{project_id}/issues/2")
    browser.find_element(By.ID, "close-issue").click()
    refusal = wait_for(browser, lambda d: d.find_elements(By.ID, "state-refusal"))[0].text
    assert "cannot be closed" in refusal
    assert "open blocker #1: Design the schema" in refusal
    assert browser.find_element(By.ID, "issue-state").text == "opened"
    shot(browser, f"{kind}-close-denied")
    assert axe_violations(browser) == []
    with web_server.api as api:
        assert api.get(f"/projects/{project_id}/issues/2").json()["state"] == "opened"
    browser.get(f"{web_server.url}/-/projects/{project_id}/issues/4")
    browser.find_element(By.ID, "close-issue").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "issue-state").text == "closed")


def test_hidden_issue_is_a_placeholder_and_sign_out_ends_the_session(
    browser: Any, web_server: WebServer
) -> None:
    """Bob sees an issue he cannot read as the opaque placeholder; after sign-out his cookie is worthless."""
    kind = STATE[web_server.url]["kind"]
    with web_server.api as api:
        bob = api.post(
            "/users",
            json={"username": "bob", "name": "Bob", "email": "bob@example.test", "password": "bob-secret-1"},
        ).json()
        public = api.post("/projects", json={"name": "Open", "visibility": "public"}).json()
        secret = api.post("/projects", json={"name": "Secret", "visibility": "private"}).json()
        api.post(f"/projects/{public['id']}/members", json={"user_id": bob["id"], "access_level": 30})
        a = api.post(f"/projects/{public['id']}/issues", json={"title": "Visible start"}).json()
        h = api.post(f"/projects/{secret['id']}/issues", json={"title": "Secret middle"}).json()
        b = api.post(f"/projects/{public['id']}/issues", json={"title": "Visible end"}).json()
        for src, tgt in ((a, h), (h, b)):
            response = api.post(
                f"/projects/{src['project_id']}/issues/{src['iid']}/links",
                json={
                    "target_project_id": tgt["project_id"],
                    "target_issue_iid": tgt["iid"],
                    "link_type": "blocks",
                },
            )
            assert response.status_code == 201
    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "sign-in-link"))
    sign_in(browser, web_server.url, "bob", "bob-secret-1")
    visit(
        browser, f"{web_server.url}/-/projects/{public['id']}/issues/{b['iid']}/graph", "graph-hidden", kind
    )
    nodes, edges = graph_elements(browser)
    assert nodes == {"root/open#1", "root/open#2", "hidden"}
    assert len(edges) == 2
    assert "Secret middle" not in browser.page_source
    visit(browser, f"{web_server.url}/-/projects/{secret['id']}/issues", "not-found", kind)
    assert browser.find_element(By.ID, "error-message").text == "404 Project Not Found"

    old = browser.get_cookie("issuegraph_session")["value"]
    page = f"{web_server.url}/-/projects/{public['id']}/issues"
    assert "Signed in as" in httpx.get(page, cookies={"issuegraph_session": old}).text
    browser.get(page)
    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "sign-in-link"))
    after = httpx.get(page, cookies={"issuegraph_session": old})
    assert after.status_code == 200 and "Signed in as" not in after.text
