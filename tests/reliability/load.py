"""A small, bounded load on a running server: link creates and reads on all three faces.

Every answer is recorded with its time, so a test can say what happened before, during and
after a fault; every link the server acknowledged (201) is kept, to be looked for afterwards.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

HEADERS_TIMEOUT = 15.0


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer came
    face: str
    status: int  # 0: no HTTP answer (connection refused or reset)
    retry_after: str | None
    body: str


@dataclass
class World:
    """Two projects of issues made through the GitLab face, and the paths to reach them."""

    base: str
    token: str
    group_path: str
    project_ids: tuple[int, int]
    issues: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    _pairs: Iterator[tuple[dict[str, Any], dict[str, Any]]] | None = None

    def pairs(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """Pairs (left issue, right issue) never handed out before: each link is new."""
        if self._pairs is None:
            self._pairs = iter(itertools.product(*self.issues))
        return self._pairs

    @property
    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token}


def build_world(base: str, token: str, issues_per_project: int = 40) -> World:
    """A group with two projects and `issues_per_project` issues in each."""
    with httpx.Client(base_url=f"{base}/api/v4", headers={"PRIVATE-TOKEN": token}, timeout=30) as client:
        group = client.post("/groups", json={"name": "load", "path": "load"})
        assert group.status_code == 201, group.text
        projects = []
        for name in ("left", "right"):
            made = client.post("/projects", json={"name": name, "namespace_id": group.json()["id"]})
            assert made.status_code == 201, made.text
            projects.append(made.json())
        issues: list[list[dict[str, Any]]] = [[], []]
        for side, project in enumerate(projects):
            for n in range(issues_per_project):
                made = client.post(f"/projects/{project['id']}/issues", json={"title": f"{side}-{n}"})
                assert made.status_code == 201, made.text
                issues[side].append(made.json())
    return World(base, token, "load", (projects[0]["id"], projects[1]["id"]), (issues[0], issues[1]))


@dataclass
class Load:
    """`writers` threads create links between distinct pairs; `readers` threads read through
    the three faces in turn. Stop with stop(); answers and acknowledged links are kept."""

    world: World
    writers: int = 2
    readers: int = 2
    answers: list[Answer] = field(default_factory=list)
    acked: list[tuple[int, int]] = field(default_factory=list)  # (source issue id, target issue id)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for n in range(self.writers):
            self._threads.append(threading.Thread(target=self._write, name=f"writer-{n}", daemon=True))
        for n in range(self.readers):
            self._threads.append(
                threading.Thread(target=self._read, args=(n,), name=f"reader-{n}", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=HEADERS_TIMEOUT + 5)
        assert not any(t.is_alive() for t in self._threads), "a load thread did not stop"

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[int]:
        with self._lock:
            return Counter(a.status for a in self.answers if since <= a.at < until)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def _record(self, face: str, response: httpx.Response | None) -> None:
        if response is None:
            answer = Answer(time.monotonic(), face, 0, None, "")
        else:
            answer = Answer(
                time.monotonic(),
                face,
                response.status_code,
                response.headers.get("retry-after"),
                response.text,
            )
        with self._lock:
            self.answers.append(answer)

    def _next_pair(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self._lock:
            return next(self.world.pairs(), None)

    def _write(self) -> None:
        with httpx.Client(headers=self.world.headers, timeout=HEADERS_TIMEOUT) as client:
            while not self._stop.is_set():
                pair = self._next_pair()
                if pair is None:
                    return
                source, target = pair
                url = f"{self.world.base}/api/v4/projects/{source['project_id']}/issues/{source['iid']}/links"
                body = {
                    "target_project_id": target["project_id"],
                    "target_issue_iid": target["iid"],
                    "link_type": "relates_to",
                }
                try:
                    response = client.post(url, json=body)
                except httpx.HTTPError:
                    self._record("gitlab-write", None)
                    time.sleep(0.05)
                    continue
                self._record("gitlab-write", response)
                if response.status_code == 201:
                    with self._lock:
                        self.acked.append((source["id"], target["id"]))
                elif response.status_code >= 500:
                    time.sleep(0.05)

    def _read(self, n: int) -> None:
        world = self.world
        issue = world.issues[0][0]
        urls = {
            "gitlab": f"{world.base}/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/links",
            "sourcecraft": f"{world.base}/repos/{world.group_path}/left/issues/{issue['iid']}/issue_links",
            "native": f"{world.base}/api/graph/v1/projects/{issue['project_id']}/issues/{issue['iid']}"
            "/blockers",
        }
        faces = itertools.cycle(list(urls.items())[n % 3 :] + list(urls.items())[: n % 3])
        with httpx.Client(headers=world.headers, timeout=HEADERS_TIMEOUT) as client:
            while not self._stop.is_set():
                face, url = next(faces)
                try:
                    response = client.get(url)
                except httpx.HTTPError:
                    self._record(face, None)
                    time.sleep(0.05)
                    continue
                self._record(face, response)
                time.sleep(0.01 if response.status_code < 500 else 0.05)


def missing_links(database_url: str, acked: list[tuple[int, int]]) -> dict[str, Any]:
    """What the database lacks of the acknowledged links: the link itself, its one
    `issue_link.create` event, its two `relate` system notes (one on each issue)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            links = {
                (min(s, t), max(s, t)): link_id
                for link_id, s, t in conn.execute(text("SELECT id, source_id, target_id FROM issue_links"))
            }
            events = Counter(
                row[0]
                for row in conn.execute(text("SELECT link_id FROM events WHERE kind = 'issue_link.create'"))
            )
            notes = Counter(
                row[0]
                for row in conn.execute(
                    text("SELECT issue_id FROM notes WHERE system AND system_action = 'relate'")
                )
            )
    finally:
        engine.dispose()
    absent = [pair for pair in acked if (min(pair), max(pair)) not in links]
    without_one_event = [pair for pair, link_id in links.items() if events[link_id] != 1]
    degree: Counter[int] = Counter()
    for lo, hi in links:
        degree[lo] += 1
        degree[hi] += 1
    # Every link wrote one note on each of its issues, and nothing else writes `relate` notes.
    notes_off = {
        issue: (notes[issue], degree[issue]) for issue in degree | notes if notes[issue] != degree[issue]
    }
    return {"absent": absent, "events_off": without_one_event, "notes_off": notes_off, "links": len(links)}
