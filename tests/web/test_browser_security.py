"""Injection payloads in every field a page shows; none may run, every page keeps to its CSP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from tests.web.conftest import WebServer, axe_violations, graph_elements, shot, sign_in, wait_for

pytestmark = pytest.mark.slow

SCRIPT = "<script>window.__xss = 'script'; alert(1)</script>"
IMG = "<img src=x onerror=\"window.__xss='img'; alert(2)\">"
SVG = '"><svg onload="window.__xss=\'svg\'">'
MARKDOWN = (
    "# Heading\n\n"
    f"{SCRIPT}\n\n{IMG}\n\n"
    "[click me](javascript:window.__xss='md-link')\n\n"
    "![pic](javascript:window.__xss='md-img')\n\n"
    '<a href="javascript:window.__xss=\'raw-a\'">raw</a> <iframe src="javascript:alert(3)"></iframe>\n\n'
    "**bold** and `code`"
)


def _nothing_ran(browser: Any) -> None:
    assert browser.execute_script("return window.__xss === undefined")
    try:
        alert = browser.switch_to.alert
    except NoAlertPresentException:
        alert = None
    assert alert is None
    assert (
        browser.find_elements(
            By.CSS_SELECTOR, "a[href^='javascript'], iframe, main script, main img[onerror]"
        )
        == []
    )


def _csp_errors(browser: Any) -> list[str]:
    return [
        e["message"]
        for e in browser.get_log("browser")
        if "Content Security Policy" in e["message"] or "Refused to" in e["message"]
    ]


def test_payloads_in_every_field_never_run(browser: Any, web_server: WebServer) -> None:
    """Project name, issue titles, labels, Markdown descriptions and comments full of script stay text;
    no page breaks its own Content-Security-Policy and none has a serious axe violation."""
    browser.delete_all_cookies()
    sign_in(browser, web_server.url, "root", web_server.root_password())
    with web_server.api as api:
        project = api.post(
            "/projects", json={"name": SVG + IMG, "path": "xss", "visibility": "public"}
        ).json()
        pid = project["id"]
        first = api.post(
            f"/projects/{pid}/issues",
            json={"title": SCRIPT, "description": MARKDOWN, "labels": IMG},
        )
        assert first.status_code == 201, first.text
        second = api.post(f"/projects/{pid}/issues", json={"title": SVG + " second"}).json()
        assert api.post(f"/projects/{pid}/issues/1/notes", json={"body": MARKDOWN}).status_code == 201
        link = api.post(
            f"/projects/{pid}/issues/1/links",
            json={"target_project_id": pid, "target_issue_iid": second["iid"], "link_type": "blocks"},
        )
        assert link.status_code == 201
    browser.get_log("browser")  # forget what came before
    pages = {
        "xss-home": "/",
        "xss-issue-list": f"/-/projects/{pid}/issues",
        "xss-issue": f"/-/projects/{pid}/issues/1",
        "xss-issue-graph": f"/-/projects/{pid}/issues/1/graph",
        "xss-project-graph": f"/-/projects/{pid}/graph",
    }
    for name, path in pages.items():
        browser.get(web_server.url + path)
        if browser.find_elements(By.ID, "graph"):
            nodes, _ = graph_elements(browser)
            assert nodes
        shot(browser, name)
        _nothing_ran(browser)
        assert axe_violations(browser) == []
        assert _csp_errors(browser) == [], name
    browser.get(f"{web_server.url}/-/projects/{pid}/issues/1")
    assert browser.find_element(By.ID, "issue-title").text == SCRIPT
    description = browser.find_element(By.ID, "description")
    assert description.find_element(By.TAG_NAME, "h1").text == "Heading"
    assert description.find_element(By.TAG_NAME, "strong").text == "bold"
    assert IMG in browser.find_element(By.CSS_SELECTOR, ".meta .label").text
    field = browser.find_element(By.ID, "link-target")
    field.send_keys("second")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "button.pick"))
    shot(browser, "xss-picker")
    _nothing_ran(browser)
    assert _csp_errors(browser) == []


def test_pages_carry_the_security_headers(web_server: WebServer) -> None:
    """Every page has a CSP without inline script and frame-ancestors 'none'; the APIs are untouched."""
    for path in ("/", "/-/sign_in"):
        headers = httpx.get(web_server.url + path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in httpx.get(web_server.url + "/api/v4/projects").headers
