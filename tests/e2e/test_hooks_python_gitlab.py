"""python-gitlab's project.hooks and group.hooks against `issuegraph serve`, which delivers in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from issuegraph.testing.serverproc import running_server
from tests.e2e.conftest import fresh_pg_database
from tests.events.receiver import Receiver, running_receiver

pytestmark = pytest.mark.slow
TOKEN = "e2e-hooks-token-0123456789"
# The harness passes no ISSUEGRAPH_ variable of ours through: the receiver is on loopback.
HOOK_SETTINGS = {"ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL": "true", "ISSUEGRAPH_WEBHOOKS_POLL_SECONDS": "0.2"}


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        with running_server(f"sqlite:///{tmp_path / 'hooks.db'}", TOKEN, env=HOOK_SETTINGS) as proc:
            yield proc.url
    else:
        with fresh_pg_database() as url, running_server(url, TOKEN, env=HOOK_SETTINGS) as proc:
            yield proc.url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_project_hooks_with_python_gitlab(server: str, receiver: Receiver) -> None:
    """Create, list, get, save, test and delete a project hook; the server delivers issue events."""
    gl = gitlab.Gitlab(server, private_token=TOKEN)
    project = gl.projects.create({"name": "api", "path": "api"})
    hook = project.hooks.create(
        {"url": receiver.url, "issues_events": True, "token": "sekret", "enable_ssl_verification": False}
    )
    assert hook.issues_events is True and hook.push_events is True
    assert not hasattr(hook, "token")
    assert [h.id for h in project.hooks.list()] == [hook.id]
    hook.push_events = False
    hook.save()
    assert project.hooks.get(hook.id).push_events is False
    first = project.issues.create({"title": "first"})
    second = project.issues.create({"title": "second"})
    second.links.create(
        {"target_project_id": project.id, "target_issue_iid": first.iid, "link_type": "is_blocked_by"}
    )
    received = receiver.wait_for(4, timeout=20)
    assert [r.header("X-Gitlab-Token") for r in received] == ["sekret"] * 4
    actions = sorted(r.json["object_attributes"]["action"] for r in received)
    assert actions == ["open", "open", "update", "update"]
    hook.test("issues_events")
    assert receiver.wait_for(5)[-1].header("X-Gitlab-Event") == "Issue Hook"
    receiver.status = 500
    with pytest.raises(gitlab.exceptions.GitlabHookTestError):
        hook.test("issues_events")
    hook.delete()
    assert project.hooks.list() == []


def test_group_hooks_with_python_gitlab(server: str, receiver: Receiver) -> None:
    """group.hooks: create with subgroup_events, list, get, save, delete."""
    gl = gitlab.Gitlab(server, private_token=TOKEN)
    group = gl.groups.create({"name": "Acme", "path": "acme"})
    hook = group.hooks.create({"url": receiver.url, "issues_events": True, "subgroup_events": True})
    assert hook.group_id == group.id and hook.subgroup_events is True
    hook.note_events = True
    hook.save()
    assert group.hooks.get(hook.id).note_events is True
    project = gl.projects.create({"name": "web", "path": "web", "namespace_id": group.id})
    project.issues.create({"title": "via group"})
    [req] = receiver.wait_for(1, timeout=20)
    assert req.json["object_attributes"]["title"] == "via group"
    hook.delete()
    assert group.hooks.list() == []
