"""Issue hooks reach a real receiver."""

from __future__ import annotations

from typing import Any

from tests.events.conftest import Deliverer
from tests.events.receiver import Receiver


def test_issue_create_reaches_project_hook(factory: Any, receiver: Receiver, deliverer: Deliverer) -> None:
    """A new issue is POSTed to a project hook that asked for issue events, with GitLab's headers."""
    project = factory.project("p1")
    hook = factory.client.post(
        f"/api/v4/projects/{project['id']}/hooks",
        headers=factory.admin.headers,
        json={"url": receiver.url, "issues_events": True, "token": "s3cret"},
    )
    assert hook.status_code == 201, hook.text
    factory.issue(project, "first")
    deliverer.until_idle()
    [req] = receiver.wait_for(1)
    assert req.header("X-Gitlab-Event") == "Issue Hook"
    assert req.header("X-Gitlab-Token") == "s3cret"
    assert req.json["object_attributes"]["action"] == "open"
