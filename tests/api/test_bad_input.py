"""Bad input on every face, both databases: a clear 4xx in the face's own shape, never a 5xx.

Each row is (name, method, url, request keywords, expected status or None for "any 4xx").
`{p}`, `{g}`, `{i}` (project, group, issue ids) and `{l}` (a link id) are filled in from a
small world built once per test.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN, Factory

SURROGATE = '"x\\ud800"'  # a lone UTF-16 surrogate, as JSON text
NUL = '"x\\u0000y"'
DEEP = "[" * 1000 + "]" * 1000
GL = "/api/v4"
GR = "/api/graph/v1"
J = {"content-type": "application/json"}
ANY = 0  # any answer but a 5xx (a filter that matches nothing may well be a 200)


def _json(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": J}


def _raw(field: str, text: str, extra: str = "") -> dict[str, Any]:
    return _json("{" + f'"{field}": {text}' + extra + "}")


ODD_IDS = ["%C2%B2", "%E2%91%A0", "%D9%A1", "+1", "%201", "1_0", "99999999999999999999", "-1", "0x1", "1%00"]

CASES: list[tuple[str, str, str, dict[str, Any], int | None]] = []
for odd in ODD_IDS:
    CASES += [
        (f"gl project {odd}", "GET", f"{GL}/projects/{odd}", {}, None),
        (f"gl group {odd}", "GET", f"{GL}/groups/{odd}", {}, None),
        (f"gl issue iid {odd}", "GET", f"{GL}/projects/{{p}}/issues/{odd}", {}, None),
        (f"gl notes iid {odd}", "GET", f"{GL}/projects/{{p}}/issues/{odd}/notes", {}, None),
        (f"gl link id {odd}", "GET", f"{GL}/projects/{{p}}/issues/1/links/{odd}", {}, None),
        (f"gl token id {odd}", "GET", f"{GL}/personal_access_tokens/{odd}", {}, None),
        (f"gl user id {odd}", "GET", f"{GL}/users/{odd}", {}, None),
        (f"gl member id {odd}", "DELETE", f"{GL}/projects/{{p}}/members/{odd}", {}, None),
        (
            f"gl link target {odd}",
            "POST",
            f"{GL}/projects/{{p}}/issues/1/links",
            {"params": {"target_project_id": "{p}", "target_issue_iid": odd.replace("%", "%25")}},
            None,
        ),
        (f"gl list iids {odd}", "GET", f"{GL}/projects/{{p}}/issues?iids[]={odd}", {}, ANY),
        (f"gl per_page {odd}", "GET", f"{GL}/projects?per_page={odd}", {}, ANY),
        (f"gr project {odd}", "GET", f"{GR}/projects/{odd}/ready", {}, None),
        (f"gr iid {odd}", "GET", f"{GR}/projects/{{p}}/issues/{odd}/blockers", {}, None),
        (f"gr group {odd}", "GET", f"{GR}/groups/{odd}/ready", {}, None),
        (f"sc repo id {odd}", "GET", f"/repos/id:{odd}", {}, None),
        (f"sc issue id {odd}", "GET", f"/issues/id:{odd}", {}, None),
        (f"sc org id {odd}", "GET", f"/orgs/id:{odd}/repos", {}, None),
        (f"sc issue slug {odd}", "GET", f"/repos/g/p/issues/{odd}", {}, None),
        (f"sc link id {odd}", "DELETE", f"/issue_links/id:{odd}", {}, None),
    ]
CASES += [
    # Unicode digits must never name an id: the Arabic-Indic one is not project 1.
    ("gl arabic one is no project", "GET", f"{GL}/projects/%D9%A1", {}, 404),
    ("gr arabic one is no project", "GET", f"{GR}/projects/%D9%A1/ready", {}, 404),
    # Lone surrogates in text.
    ("gl title surrogate", "POST", f"{GL}/projects/{{p}}/issues", _raw("title", SURROGATE), 400),
    ("gl description surrogate", "PUT", f"{GL}/projects/{{p}}/issues/1", _raw("description", SURROGATE), 400),
    ("gl note surrogate", "POST", f"{GL}/projects/{{p}}/issues/1/notes", _raw("body", SURROGATE), 400),
    ("gl group name surrogate", "POST", f"{GL}/groups", _raw("name", SURROGATE, ', "path": "sg"'), 400),
    ("gl project name surrogate", "POST", f"{GL}/projects", _raw("name", SURROGATE), 400),
    ("gl labels surrogate", "PUT", f"{GL}/projects/{{p}}/issues/1", _raw("labels", f"[{SURROGATE}]"), 400),
    (
        "gl search surrogate json",
        "POST",
        f"{GL}/projects/{{p}}/issues",
        _raw("title", '"t"', f', "x": {SURROGATE}'),
        400,
    ),
    ("gl key surrogate", "POST", f"{GL}/projects/{{p}}/issues", _json('{"\\udc00": 1, "title": "t"}'), 400),
    ("gl search bad utf8", "GET", f"{GL}/projects/{{p}}/issues?search=%ED%A0%80", {}, 200),
    ("sc title surrogate", "POST", "/repos/g/p/issues", _raw("title", SURROGATE), 400),
    ("sc comment surrogate", "POST", "/repos/g/p/issues/1/comments", _raw("body", SURROGATE), 400),
    ("sc repo name surrogate", "POST", "/orgs/g/repos", _raw("name", SURROGATE, ', "slug": "r2"'), 400),
    (
        "gr bulk project surrogate",
        "POST",
        f"{GR}/links/bulk",
        _json(
            '{"operations": [{"action": "create", "link_type": "relates_to", "source": {"project": '
            + SURROGATE
            + ', "iid": 1}, "target": {"id": 1}}]}'
        ),
        400,
    ),
    # NUL in text and in path segments.
    ("gl title nul", "POST", f"{GL}/projects/{{p}}/issues", _raw("title", NUL), 400),
    ("gl note nul", "POST", f"{GL}/projects/{{p}}/issues/1/notes", _raw("body", NUL), 400),
    ("gl project path nul", "GET", f"{GL}/projects/g%2Fp%00", {}, 400),
    ("gl group path nul", "GET", f"{GL}/groups/g%00", {}, 400),
    ("gl search nul", "GET", f"{GL}/issues?search=a%00b", {}, 400),
    ("gr project path nul", "GET", f"{GR}/projects/g%2Fp%00/ready", {}, 400),
    ("sc org nul", "GET", "/orgs/g%00/repos", {}, 400),
    ("sc repo nul", "GET", "/repos/g/p%00", {}, 400),
    ("sc title nul", "POST", "/repos/g/p/issues", _raw("title", NUL), 400),
    ("sc filter nul", "GET", "/repos/g/p/issues?filter=a%00", {}, 400),
    # Deep JSON.
    ("gl deep json", "POST", f"{GL}/projects/{{p}}/issues", _raw("title", DEEP), 400),
    ("gl deep json body", "POST", f"{GL}/projects/{{p}}/issues", _json(DEEP), 400),
    ("sc deep json", "POST", "/repos/g/p/issues", _raw("title", DEEP), 400),
    ("gr deep json", "POST", f"{GR}/links/bulk", _raw("operations", DEEP), 400),
    # Ids and iids out of range in the bulk call.
    (
        "gr bulk id beyond int64",
        "POST",
        f"{GR}/links/bulk",
        {
            "json": {
                "operations": [
                    {
                        "action": "create",
                        "link_type": "relates_to",
                        "source": {"id": 2**63},
                        "target": {"id": 1},
                    }
                ]
            }
        },
        400,
    ),
    (
        "gr bulk iid beyond int32",
        "POST",
        f"{GR}/links/bulk",
        {
            "json": {
                "operations": [
                    {
                        "action": "create",
                        "link_type": "relates_to",
                        "source": {"project": "{p}", "iid": 2**31},
                        "target": {"id": 1},
                    }
                ]
            }
        },
        400,
    ),
    (
        "gr bulk project beyond int64",
        "POST",
        f"{GR}/links/bulk",
        {
            "json": {
                "operations": [
                    {
                        "action": "create",
                        "link_type": "relates_to",
                        "source": {"project": 2**64, "iid": 1},
                        "target": {"id": 1},
                    }
                ]
            }
        },
        400,
    ),
    (
        "gr bulk project superscript",
        "POST",
        f"{GR}/links/bulk",
        {
            "json": {
                "operations": [
                    {"action": "delete", "source": {"project": "²", "iid": 1}, "target": {"id": 1}}
                ]
            }
        },
        400,
    ),
    ("gr iid beyond int32", "GET", f"{GR}/projects/{{p}}/issues/2147483648/blockers", {}, 400),
    ("gl iid beyond int32", "GET", f"{GL}/projects/{{p}}/issues/2147483648", {}, 404),
    (
        "gl link target iid beyond int32",
        "POST",
        f"{GL}/projects/{{p}}/issues/1/links",
        {"json": {"target_project_id": "{p}", "target_issue_iid": 2**31}},
        404,
    ),
    # Long lists and long texts.
    (
        "gl labels a million",
        "PUT",
        f"{GL}/projects/{{p}}/issues/1",
        _json('{"labels": [' + ",".join(['"l"'] * 200_000) + "]}"),
        400,
    ),
    ("gl labels comma list", "GET", f"{GL}/projects/{{p}}/issues?labels=" + ",".join(["l"] * 5000), {}, 400),
    ("gl iids list", "GET", f"{GL}/projects/{{p}}/issues?" + "&".join(["iids[]=1"] * 5000), {}, 400),
    (
        "gl assignee ids list",
        "PUT",
        f"{GL}/projects/{{p}}/issues/1",
        {"json": {"assignee_ids": [1] * 5000}},
        400,
    ),
    ("sc label slugs list", "POST", "/repos/g/p/issues/1/labels", {"json": {"slugs": ["l"] * 5000}}, 400),
    (
        "gl note too long",
        "POST",
        f"{GL}/projects/{{p}}/issues/1/notes",
        {"json": {"body": "x" * 1_000_001}},
        400,
    ),
    ("sc comment too long", "POST", "/repos/g/p/issues/1/comments", {"json": {"body": "x" * 1_000_001}}, 400),
    ("gl title too long", "POST", f"{GL}/projects/{{p}}/issues", {"json": {"title": "x" * 2000}}, 400),
    ("gl group name too long", "POST", f"{GL}/groups", {"json": {"name": "x" * 300, "path": "long"}}, 400),
    (
        "gl project name too long",
        "POST",
        f"{GL}/projects",
        {"json": {"name": "x" * 300, "path": "long"}},
        400,
    ),
    (
        "gl user name too long",
        "POST",
        f"{GL}/users",
        {"json": {"username": "u9", "name": "x" * 300, "email": "u9@x.test"}},
        400,
    ),
    (
        "gl token name too long",
        "POST",
        f"{GL}/users/1/personal_access_tokens",
        {"json": {"name": "x" * 300, "scopes": ["api"]}},
        400,
    ),
    ("sc label name too long", "POST", "/repos/g/p/labels", {"json": {"name": "x" * 300}}, 400),
    ("sc milestone title too long", "POST", "/repos/g/p/milestones", {"json": {"title": "x" * 300}}, 400),
    (
        "gl description too long",
        "PUT",
        f"{GL}/projects/{{p}}/issues/1",
        {"json": {"description": "x" * 1_048_577}},
        400,
    ),
    # Body limit: a declared length and a chunked body are both refused (413), in the face's shape.
    (
        "gl body too large",
        "POST",
        f"{GL}/projects/{{p}}/issues",
        {"json": {"title": "t", "d": "x" * 5_000_000}},
        413,
    ),
    ("sc body too large", "POST", "/repos/g/p/issues", {"json": {"title": "t", "d": "x" * 5_000_000}}, 413),
    (
        "gr body too large",
        "POST",
        f"{GR}/links/bulk",
        {"content": b"[" + b" " * 5_000_000, "headers": J},
        413,
    ),
    (
        "gl chunked too large",
        "POST",
        f"{GL}/projects/{{p}}/issues",
        {"content": lambda: iter([b'{"title": "', b"x" * 3_000_000, b"x" * 3_000_000, b'"}']), "headers": J},
        413,
    ),
    # Odd bodies.
    ("gl body not an object", "POST", f"{GL}/projects/{{p}}/issues", _json("[1]"), 400),
    ("gl body invalid json", "POST", f"{GL}/projects/{{p}}/issues", _json("{"), 400),
    ("gl json number title", "POST", f"{GL}/projects/{{p}}/issues", _json('{"title": 1e999}'), None),
    ("gl json nan", "POST", f"{GL}/projects/{{p}}/issues", _json('{"title": "t", "weight": NaN}'), 400),
    ("sc body not json", "POST", "/repos/g/p/issues", _json("nope"), 400),
    ("gr body not json", "POST", f"{GR}/links/bulk", _json("nope"), 400),
    (
        "gl form surrogate bytes",
        "POST",
        f"{GL}/projects/{{p}}/issues",
        {"content": b"title=%ED%A0%80", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        None,
    ),
    ("gl cursor garbage", "GET", f"{GR}/projects/{{p}}/ready?cursor=%C2%B2", {}, 400),
    ("sc page token garbage", "GET", "/repos/g/p/issues?page_token=%C2%B2", {}, 400),
    ("gl page huge", "GET", f"{GL}/projects?page=99999999999999999999", {}, 400),
    ("gl weight superscript", "PUT", f"{GL}/projects/{{p}}/issues/1", {"json": {"weight": "²"}}, 400),
    (
        "gl member user superscript",
        "POST",
        f"{GL}/projects/{{p}}/members",
        {"json": {"user_id": "²", "access_level": 30}},
        400,
    ),
]


@pytest.fixture
def world(client: TestClient, factory: Factory) -> dict[str, Any]:
    group = factory.group("g", visibility="public")
    project = factory.project("p", group=group, visibility="public")
    first = factory.issue(project, "first")
    second = factory.issue(project, "second")
    link = factory.link(first, second)
    return {"p": project["id"], "g": group["id"], "i": first["id"], "l": link["source_issue"]["id"]}


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str):
        for key, found in world.items():
            value = value.replace("{" + key + "}", str(found))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _assert_face_shape(url: str, response: Any) -> None:
    body = response.json()
    if url.startswith(GL):
        assert set(body) & {"message", "error"}, body
    elif url.startswith(GR):
        assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    else:
        assert {"error_code", "message", "request_id", "details"} == set(body), body


@pytest.mark.parametrize(("name", "method", "url", "kwargs", "status"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_client_error(
    client: TestClient,
    world: dict[str, Any],
    name: str,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    status: int | None,
) -> None:
    """Bad input answers the expected 4xx (never a 5xx), in the face's own error shape."""
    kwargs = dict(kwargs)
    if "json" in kwargs or "params" in kwargs:
        kwargs = _fill(kwargs, world)
    if callable(kwargs.get("content")):  # a fresh chunked body (no Content-Length) for each run
        kwargs["content"] = kwargs["content"]()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", **kwargs.pop("headers", {})}
    response = client.request(method, _fill(url, world), headers=headers, **kwargs)
    assert response.status_code < 500, (name, response.status_code, response.text[:300])
    if status == ANY:
        pass
    elif status is None:
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
    else:
        assert response.status_code == status, (name, response.status_code, response.text[:300])
    if response.status_code >= 400:
        _assert_face_shape(url, response)


@pytest.mark.parametrize(
    "url",
    [
        f"{GL}/projects/{{p}}/issues?search=%25",
        f"{GL}/issues?search=_",
        f"{GL}/projects?search=%25",
        f"{GL}/groups?search=_",
        f"{GL}/users?search=%25",
        f"{GL}/personal_access_tokens?search=%25",
    ],
)
def test_search_wildcards_match_only_themselves(client: TestClient, world: dict[str, Any], url: str) -> None:
    """`%` and `_` in `search` are literal characters: nothing here contains them, so nothing matches."""
    response = client.get(_fill(url, world), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_search_with_a_wildcard_character_finds_it(client: TestClient, factory: Factory) -> None:
    """A title holding `100%` is found by searching `0%`, and `1_0` does not find `100`."""
    project = factory.project("pct", visibility="public")
    factory.issue(project, "done 100%")
    factory.issue(project, "done 100")
    url = f"{GL}/projects/{project['id']}/issues"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert [i["title"] for i in client.get(url, params={"search": "0%"}, headers=headers).json()] == [
        "done 100%"
    ]
    assert client.get(url, params={"search": "1_0"}, headers=headers).json() == []


@pytest.mark.parametrize("prefix", [GL, GR, ""])
def test_unhandled_error_closes_the_connection_and_says_so(own_app: Any, prefix: str) -> None:
    """An unexpected exception answers 500 in the face's shape with `Connection: close`."""
    app = own_app  # a route is added: never to the app the other tests share

    def boom() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route(f"{prefix}/test-only-boom", boom, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get(f"{prefix}/test-only-boom")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    _assert_face_shape(f"{prefix}/test-only-boom" if prefix else "/boom", response)
