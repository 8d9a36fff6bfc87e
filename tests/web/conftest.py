"""Browser fixtures: a real `issuegraph serve` per module and Debian's headless Chromium.

Chromium and chromedriver come from `make browser` (a prerequisite of `make setup` and
`make test`). Locally a missing browser skips these tests; under CI=true it fails them.
Screenshots of every page go to tmp/artifacts/ (not committed).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuegraph.testing.serverproc import ServerError, running_server
from tests.conftest import IN_CI
from tests.e2e.conftest import fresh_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tmp" / "artifacts"
AXE = ROOT / "src" / "issuegraph" / "web" / "static" / "vendor" / "axe.min.js"
ADMIN_TOKEN = "web-root-token-0123456789"
WAIT = 15.0


@dataclass
class WebServer:
    url: str
    workdir: Path
    log_path: Path
    database_url: str

    @property
    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v4", headers={"PRIVATE-TOKEN": ADMIN_TOKEN}, timeout=30)

    def root_password(self) -> str:
        text = (self.workdir / "initial_root_password").read_text()
        return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Password: "))


@pytest.fixture(scope="module")
def web_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    """A fresh server on an empty database (SQLite unless the module parametrises `db_kind`), run
    in `workdir`, where its first start writes initial_root_password."""
    kind = getattr(request, "param", "sqlite")
    workdir = tmp_path_factory.mktemp(f"web-{kind}")
    with fresh_database(kind, workdir) as url:
        try:
            with running_server(url, ADMIN_TOKEN, log_dir=workdir) as server:
                yield WebServer(server.url, workdir, server.log_path, url)
        except ServerError as exc:  # the server did not start: its log says why
            pytest.fail(str(exc))


def _require_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if IN_CI:
        pytest.fail("chromium and chromedriver are required under CI=true (make browser installs them)")
    pytest.skip("chromium/chromedriver not installed (run `make browser`)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, flags that keep it off the network, a fresh profile."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ig-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------- helpers


def shot(driver: Any, name: str) -> Path:
    """Screenshot of the whole page into tmp/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
    driver.set_window_size(1280, max(900, int(height)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """Serious or critical axe-core violations of the current page (axe injected by the driver)."""
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(function (r) {"
        "  done(r.violations.map(function (v) { return {id: v.id, impact: v.impact, help: v.help,"
        "    nodes: v.nodes.map(function (n) { return n.html; }).slice(0, 3)}; }));"
        "}, function (e) { done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]); });"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def wait_for(driver: Any, condition: Any, timeout: float = WAIT) -> Any:
    """Poll `condition` until truthy; an element of the page being replaced (a navigation or an
    htmx swap in flight) is retried, not a failure."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(condition)


def sign_in(driver: Any, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/-/sign_in")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in-submit").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "sign-out"))


def graph_elements(driver: Any) -> tuple[set[str], set[tuple[str, str]]]:
    """(node labels, (source label, target label) edges) of the drawn cytoscape graph."""
    wait_for(
        driver, lambda d: d.execute_script("return document.getElementById('graph').dataset.ready === 'true'")
    )
    data = driver.execute_script(
        "var cy = window.igGraph;"
        "return {nodes: cy.nodes().map(function (n) { return n.data('label'); }),"
        " edges: cy.edges().map(function (e) {"
        "   return [e.source().data('label'), e.target().data('label')]; })};"
    )
    return set(data["nodes"]), {(s, t) for s, t in data["edges"]}
