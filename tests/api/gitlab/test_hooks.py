"""GitLab hooks API (`/projects/:id/hooks`, `/groups/:id/hooks`): the ladder, attributes, errors."""

from __future__ import annotations

from typing import Any

import pytest

from issuegraph.config import get_settings
from tests.conftest import FrozenClock
from tests.events.conftest import frozen_rate_clock, settings  # noqa: F401 - loopback receiver allowed
from tests.events.receiver import Receiver, running_receiver

PUBLIC_URL = "http://93.184.216.34/hook"  # a global address: valid, never called here
TOO_MANY = {"message": {"error": "This endpoint has been requested too many times. Try again later."}}


@pytest.fixture
def receiver() -> Any:
    with running_receiver() as r:
        yield r


def _hooks(project: dict[str, Any]) -> str:
    return f"/api/v4/projects/{project['id']}/hooks"


def test_anonymous_gets_401(factory: Any) -> None:
    """No token: 401."""
    project = factory.project("p1", visibility="public")
    assert factory.client.get(_hooks(project)).status_code == 401
    assert factory.client.post(_hooks(project), json={"url": PUBLIC_URL}).status_code == 401


def test_developer_gets_403_and_stranger_404(factory: Any) -> None:
    """Below Maintainer: 403; a private project the caller cannot see: 404."""
    project = factory.project("p1")
    dev, stranger = factory.user(), factory.user()
    factory.member(project, dev, 30)
    assert factory.client.get(_hooks(project), headers=dev.headers).status_code == 403
    assert (
        factory.client.post(_hooks(project), headers=dev.headers, json={"url": PUBLIC_URL}).status_code == 403
    )
    response = factory.client.get(_hooks(project), headers=stranger.headers)
    assert (response.status_code, response.json()) == (404, {"message": "404 Project Not Found"})


def test_maintainer_may_manage_hooks(factory: Any) -> None:
    """Maintainer is enough for a project's hooks."""
    project = factory.project("p1")
    maintainer = factory.user()
    factory.member(project, maintainer, 40)
    response = factory.client.post(_hooks(project), headers=maintainer.headers, json={"url": PUBLIC_URL})
    assert response.status_code == 201


def test_unknown_hook_404(factory: Any) -> None:
    """A hook id of another project, or none: 404 Not found."""
    project, other = factory.project("p1"), factory.project("p2")
    hook = factory.client.post(_hooks(other), headers=factory.admin.headers, json={"url": PUBLIC_URL}).json()
    for hook_id in (hook["id"], 999):
        response = factory.client.get(f"{_hooks(project)}/{hook_id}", headers=factory.admin.headers)
        assert (response.status_code, response.json()) == (404, {"message": "404 Not found"})


def test_create_defaults_and_write_only_secrets(factory: Any) -> None:
    """Created with only a URL: push_events and SSL verification on, the rest off; tokens never shown."""
    project = factory.project("p1")
    response = factory.client.post(
        _hooks(project),
        headers=factory.admin.headers,
        json={
            "url": PUBLIC_URL,
            "token": "t0k",
            "signing_token": "whsec_" + "A" * 43 + "=",
            "url_variables": [{"key": "a", "value": "1"}],
            "custom_headers": [{"key": "X-Extra", "value": "v"}],
            "resource_deploy_token_events": True,  # sent by python-gitlab, accepted
        },
    )
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["push_events"] is True and hook["enable_ssl_verification"] is True
    assert hook["issues_events"] is False and hook["note_events"] is False
    assert hook["project_id"] == project["id"] and hook["alert_status"] == "executable"
    assert hook["disabled_until"] is None and hook["branch_filter_strategy"] == "wildcard"
    assert "token" not in hook and "signing_token" not in hook
    assert hook["token_present"] is True and hook["signing_token_present"] is True
    assert hook["url_variables"] == [{"key": "a"}] and hook["custom_headers"] == [{"key": "X-Extra"}]
    listed = factory.client.get(_hooks(project), headers=factory.admin.headers)
    assert listed.headers["X-Total"] == "1"
    assert "url_variables" not in listed.json()[0] and "custom_headers" not in listed.json()[0]


def test_invalid_input(factory: Any) -> None:
    """Missing url 400; bad URL 422 Invalid url given; bad enum 400; bad headers 422."""
    project = factory.project("p1")
    h = factory.admin.headers
    missing = factory.client.post(_hooks(project), headers=h, json={"issues_events": True})
    assert (missing.status_code, missing.json()) == (400, {"error": "url is missing"})
    bad = factory.client.post(_hooks(project), headers=h, json={"url": "not a url"})
    assert (bad.status_code, bad.json()) == (422, {"message": "Invalid url given"})
    unresolvable = factory.client.post(_hooks(project), headers=h, json={"url": "http://bad_host!/"})
    assert unresolvable.json() == {"message": "Invalid url given"}
    strategy = factory.client.post(
        _hooks(project), headers=h, json={"url": PUBLIC_URL, "branch_filter_strategy": "glob"}
    )
    assert strategy.status_code == 400
    headers = factory.client.post(
        _hooks(project),
        headers=h,
        json={"url": PUBLIC_URL, "custom_headers": [{"key": "bad key", "value": "v"}]},
    )
    assert (headers.status_code, headers.json()) == (
        422,
        {"message": "Custom headers must be a valid json schema"},
    )
    missing_var = factory.client.post(_hooks(project), headers=h, json={"url": "http://93.184.216.34/{nope}"})
    assert missing_var.json() == {"message": "Invalid url given"}
    assert factory.client.get(_hooks(project), headers=h).json() == []  # nothing half-written


def test_option_types(factory: Any) -> None:
    """Booleans as GitLab reads them (true/1/yes/t, false/0/no/f), anything else 400; a list where
    a text belongs 400; signing_token null or "" removes it; a project hook ignores group flags."""
    project = factory.project("p1")
    h = factory.admin.headers
    hook = factory.client.post(
        _hooks(project),
        headers=h,
        json={"url": PUBLIC_URL, "issues_events": "yes", "push_events": "0", "subgroup_events": "x"},
    )
    assert hook.status_code == 201, hook.text
    assert (hook.json()["issues_events"], hook.json()["push_events"]) == (True, False)
    assert "subgroup_events" not in hook.json()
    url = f"{_hooks(project)}/{hook.json()['id']}"
    bad = factory.client.put(url, headers=h, json={"note_events": "sometimes"})
    assert (bad.status_code, bad.json()) == (400, {"error": "note_events is invalid"})
    listed = factory.client.put(url, headers=h, json={"token": ["a", "b"]})
    assert (listed.status_code, listed.json()) == (400, {"error": "token is invalid"})
    secret = "whsec_" + "A" * 43 + "="
    for removal in (None, ""):
        assert factory.client.put(url, headers=h, json={"signing_token": secret}).json()[
            "signing_token_present"
        ]
        removed = factory.client.put(url, headers=h, json={"signing_token": removal})
        assert removed.json()["signing_token_present"] is False


def test_branch_filters_validated_as_gitlab(factory: Any) -> None:
    """push_events_branch_filter is checked by its strategy: 422 Invalid branch filter given for
    a bad regex or wildcard, on create and on edit, nothing written; a wildcard is squished,
    all_branches drops the filter; valid ones are echoed."""
    project = factory.project("p1")
    h = factory.admin.headers
    invalid = {"message": "Invalid branch filter given"}
    bad_regex = factory.client.post(
        _hooks(project),
        headers=h,
        json={"url": PUBLIC_URL, "branch_filter_strategy": "regex", "push_events_branch_filter": "("},
    )
    assert (bad_regex.status_code, bad_regex.json()) == (422, invalid)
    bad_wildcard = factory.client.post(
        _hooks(project), headers=h, json={"url": PUBLIC_URL, "push_events_branch_filter": "bad branch name"}
    )
    assert (bad_wildcard.status_code, bad_wildcard.json()) == (422, invalid)
    assert factory.client.get(_hooks(project), headers=h).json() == []
    created = factory.client.post(
        _hooks(project), headers=h, json={"url": PUBLIC_URL, "push_events_branch_filter": "  * "}
    )
    assert created.status_code == 201
    assert (created.json()["branch_filter_strategy"], created.json()["push_events_branch_filter"]) == (
        "wildcard",
        "*",
    )
    url = f"{_hooks(project)}/{created.json()['id']}"
    # "*" is a fine wildcard but no regular expression: the stored filter is checked again.
    to_regex = factory.client.put(url, headers=h, json={"branch_filter_strategy": "regex"})
    assert (to_regex.status_code, to_regex.json()) == (422, invalid)
    assert factory.client.get(url, headers=h).json()["branch_filter_strategy"] == "wildcard"
    regex = factory.client.put(
        url, headers=h, json={"branch_filter_strategy": "regex", "push_events_branch_filter": "^release/.+$"}
    )
    assert regex.json()["push_events_branch_filter"] == "^release/.+$"
    look_ahead = factory.client.put(url, headers=h, json={"push_events_branch_filter": "^(?!main)"})
    assert (look_ahead.status_code, look_ahead.json()) == (422, invalid)  # RE2 has no look-arounds
    everything = factory.client.put(url, headers=h, json={"branch_filter_strategy": "all_branches"})
    assert everything.json()["push_events_branch_filter"] is None


def test_hook_limit(factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the per-project limit: 422 Maximum number of project hooks (N) exceeded."""
    monkeypatch.setenv("ISSUEGRAPH_WEBHOOKS_MAX_PER_SCOPE", "2")
    get_settings.cache_clear()
    project = factory.project("p1")
    for _ in range(2):
        assert (
            factory.client.post(
                _hooks(project), headers=factory.admin.headers, json={"url": PUBLIC_URL}
            ).status_code
            == 201
        )
    third = factory.client.post(_hooks(project), headers=factory.admin.headers, json={"url": PUBLIC_URL})
    assert (third.status_code, third.json()) == (
        422,
        {"message": "Maximum number of project hooks (2) exceeded"},
    )


def test_edit_merges_maps_and_url_change_drops_token(factory: Any) -> None:
    """PUT merges url_variables; a new URL without a token clears the token; empty PUT 400."""
    project = factory.project("p1")
    h = factory.admin.headers
    hook = factory.client.post(
        _hooks(project),
        headers=h,
        json={"url": PUBLIC_URL, "token": "t", "url_variables": [{"key": "a", "value": "1"}]},
    ).json()
    url = f"{_hooks(project)}/{hook['id']}"
    edited = factory.client.put(
        url, headers=h, json={"url_variables": [{"key": "b", "value": "2"}], "issues_events": True}
    )
    assert edited.status_code == 200
    assert edited.json()["url_variables"] == [{"key": "a"}, {"key": "b"}] and edited.json()["issues_events"]
    assert edited.json()["token_present"] is True
    moved = factory.client.put(url, headers=h, json={"url": "http://93.184.216.35/other"})
    assert moved.json()["url"] == "http://93.184.216.35/other" and moved.json()["token_present"] is False
    empty = factory.client.put(url, headers=h, json={})
    assert (empty.status_code, empty.json()) == (400, {"message": "No parameters provided"})
    bad = factory.client.put(url, headers=h, json={"url": "http://0.0.0.0/"})
    assert bad.status_code == 422


def test_delete(factory: Any) -> None:
    """DELETE answers 204 and the hook is gone."""
    project = factory.project("p1")
    hook = factory.client.post(
        _hooks(project), headers=factory.admin.headers, json={"url": PUBLIC_URL}
    ).json()
    url = f"{_hooks(project)}/{hook['id']}"
    assert factory.client.delete(url, headers=factory.admin.headers).status_code == 204
    assert factory.client.get(url, headers=factory.admin.headers).status_code == 404


def test_url_variables_and_custom_headers_routes(factory: Any) -> None:
    """PUT/DELETE of one variable or header: 204; bad key 422; absent key 404."""
    project = factory.project("p1")
    h = factory.admin.headers
    hook = factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL}).json()
    base = f"{_hooks(project)}/{hook['id']}"
    assert (
        factory.client.put(f"{base}/url_variables/token", headers=h, json={"value": "x"}).status_code == 204
    )
    bad = factory.client.put(f"{base}/url_variables/1bad", headers=h, json={"value": "x"})
    assert (bad.status_code, bad.json()) == (422, {"message": "Illegal key or value"})
    assert (
        factory.client.put(f"{base}/custom_headers/X-Api", headers=h, json={"value": "k"}).status_code == 204
    )
    got = factory.client.get(base, headers=h).json()
    assert got["url_variables"] == [{"key": "token"}] and got["custom_headers"] == [{"key": "X-Api"}]
    assert factory.client.delete(f"{base}/url_variables/token", headers=h).status_code == 204
    assert factory.client.delete(f"{base}/url_variables/token", headers=h).status_code == 404
    assert factory.client.delete(f"{base}/custom_headers/X-Api", headers=h).status_code == 204
    assert factory.client.delete(f"{base}/custom_headers/X-Api", headers=h).status_code == 404


def test_custom_headers_sent_but_cannot_override(factory: Any, receiver: Receiver) -> None:
    """Custom headers reach the receiver; one named like a delivery header does not replace it."""
    project = factory.project("p1")
    factory.issue(project, "sample")
    h = factory.admin.headers
    hook = factory.client.post(
        _hooks(project),
        headers=h,
        json={
            "url": receiver.url.replace("/hook", "/{path}"),
            "url_variables": [{"key": "path", "value": "filled"}],
            "custom_headers": [
                {"key": "X-Extra", "value": "yes"},
                {"key": "X-Gitlab-Event", "value": "fake"},
            ],
        },
    ).json()
    response = factory.client.post(f"{_hooks(project)}/{hook['id']}/test/issues_events", headers=h)
    assert response.status_code == 201, response.text
    [req] = receiver.wait_for(1)
    assert req.path == "/filled"
    assert req.header("X-Extra") == "yes" and req.header("X-Gitlab-Event") == "Issue Hook"
    [log] = factory.client.get(f"{_hooks(project)}/{hook['id']}/events", headers=h).json()
    assert log["request_headers"]["X-Extra"] == "[REDACTED]"


def test_test_trigger(factory: Any, receiver: Receiver) -> None:
    """test/:trigger: 201 "201 Created" on any 2xx, else 422 with the receiver's body; no issues:
    422; the 6th a minute: 429."""
    project = factory.project("p1")
    h = factory.admin.headers
    hook = factory.client.post(_hooks(project), headers=h, json={"url": receiver.url}).json()
    base = f"{_hooks(project)}/{hook['id']}/test"
    no_issues = factory.client.post(f"{base}/issues_events", headers=h)
    assert (no_issues.status_code, no_issues.json()) == (422, {"message": "Ensure the project has issues."})
    factory.issue(project, "sample")
    receiver.status = 202  # any 2xx: GitLab says "201 Created" whatever the receiver answered
    passed = factory.client.post(f"{base}/issues_events", headers=h)
    assert (passed.status_code, passed.json()) == (201, {"message": "201 Created"})
    receiver.status, receiver.body = 500, b"receiver broke"
    failed = factory.client.post(f"{base}/issues_events", headers=h)
    assert (failed.status_code, failed.json()) == (422, {"message": "receiver broke"})
    assert factory.client.post(f"{base}/push_events", headers=h).json() == {
        "message": "Testing not available for this hook"
    }
    assert factory.client.post(f"{base}/bogus", headers=h).status_code == 400
    assert factory.client.post(f"{base}/issues_events", headers=h).status_code == 422  # the 5th
    limited = factory.client.post(f"{base}/issues_events", headers=h)  # the 6th in a minute
    assert (limited.status_code, limited.json()) == (429, TOO_MANY)
    assert limited.headers["Retry-After"] == "60"


def test_group_hooks_need_owner(factory: Any) -> None:
    """Group hooks: Owner may, Maintainer gets 403; entity has group_id and subgroup_events."""
    group = factory.group("g1")
    maintainer, owner = factory.user(), factory.user()
    factory.group_member(group, maintainer, 40)
    factory.group_member(group, owner, 50)
    url = f"/api/v4/groups/{group['id']}/hooks"
    assert factory.client.post(url, headers=maintainer.headers, json={"url": PUBLIC_URL}).status_code == 403
    created = factory.client.post(
        url, headers=owner.headers, json={"url": PUBLIC_URL, "subgroup_events": True}
    )
    assert created.status_code == 201
    assert created.json()["group_id"] == group["id"] and created.json()["subgroup_events"] is True
    assert [h["id"] for h in factory.client.get(url, headers=owner.headers).json()] == [created.json()["id"]]


def test_resend_limit(factory: Any, receiver: Receiver, rate_clock: FrozenClock) -> None:
    """events/:id/resend: 5 a minute per user and project, the 6th 429 with Retry-After; a
    minute later it may resend again."""
    project = factory.project("p1")
    factory.issue(project, "sample")
    h = factory.admin.headers
    hook = factory.client.post(_hooks(project), headers=h, json={"url": receiver.url}).json()
    base = f"{_hooks(project)}/{hook['id']}"
    assert factory.client.post(f"{base}/test/issues_events", headers=h).status_code == 201
    [log] = factory.client.get(f"{base}/events", headers=h).json()
    resend = f"{base}/events/{log['id']}/resend"
    assert [factory.client.post(resend, headers=h).status_code for _ in range(5)] == [201] * 5
    limited = factory.client.post(resend, headers=h)
    assert (limited.status_code, limited.json()) == (429, TOO_MANY)
    assert limited.headers["Retry-After"] == "60"
    assert len(receiver.requests) == 6  # the refused resend sent nothing
    rate_clock.advance(60)
    assert factory.client.post(resend, headers=h).status_code == 201


def test_create_limit(factory: Any, rate_clock: FrozenClock) -> None:
    """POST hooks: 5 attempts a minute per user and project (a refused one counts too, as on
    GitLab); the 6th 429 with Retry-After and nothing written. Another user, another project
    and the next minute have budgets of their own."""
    project, other = factory.project("p1"), factory.project("p2")
    h = factory.admin.headers
    maintainer = factory.user()
    factory.member(project, maintainer, 40)
    statuses = [factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL}).status_code]
    statuses.append(factory.client.post(_hooks(project), headers=h, json={"url": "not a url"}).status_code)
    statuses += [
        factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL}).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 422, 201, 201, 201]
    limited = factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL})
    assert (limited.status_code, limited.json()) == (429, TOO_MANY)
    assert limited.headers["Retry-After"] == "60"
    assert len(factory.client.get(_hooks(project), headers=h).json()) == 4
    missing = factory.client.post(_hooks(project), headers=h, json={})  # bad input first: 400
    assert (missing.status_code, missing.json()) == (400, {"error": "url is missing"})
    assert factory.client.post(_hooks(other), headers=h, json={"url": PUBLIC_URL}).status_code == 201
    by_maintainer = factory.client.post(_hooks(project), headers=maintainer.headers, json={"url": PUBLIC_URL})
    assert by_maintainer.status_code == 201
    rate_clock.advance(59)
    assert (
        factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL}).headers["Retry-After"]
        == "1"
    )
    rate_clock.advance(1)
    assert factory.client.post(_hooks(project), headers=h, json={"url": PUBLIC_URL}).status_code == 201


def test_group_hook_create_limit(factory: Any) -> None:
    """Group hooks: 5 a minute per user and group, then 429 in GitLab's shape."""
    group = factory.group("g1")
    url = f"/api/v4/groups/{group['id']}/hooks"
    h = factory.admin.headers
    statuses = [factory.client.post(url, headers=h, json={"url": PUBLIC_URL}).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]
    other = factory.group("g2")
    answer = factory.client.post(f"/api/v4/groups/{other['id']}/hooks", headers=h, json={"url": PUBLIC_URL})
    assert answer.status_code == 201


def test_zero_disables_the_limits(factory: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """ISSUEGRAPH_WEBHOOKS_CREATE_LIMIT=0 and ISSUEGRAPH_WEBHOOKS_TEST_LIMIT=0: no 429 however many."""
    monkeypatch.setenv("ISSUEGRAPH_WEBHOOKS_CREATE_LIMIT", "0")
    monkeypatch.setenv("ISSUEGRAPH_WEBHOOKS_TEST_LIMIT", "0")
    get_settings.cache_clear()
    project = factory.project("p1")
    factory.issue(project, "sample")
    h = factory.admin.headers
    created = [factory.client.post(_hooks(project), headers=h, json={"url": receiver.url}) for _ in range(8)]
    assert [r.status_code for r in created] == [201] * 8
    test = f"{_hooks(project)}/{created[0].json()['id']}/test/issues_events"
    assert [factory.client.post(test, headers=h).status_code for _ in range(8)] == [201] * 8
