"""SourceCraft issue links: every case S1-S29 of the spec's §12 (sourcecraft-issue-links.md),
on both databases and, where a route has both, in both addressing forms. S30 is test_contract.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from issuegraph.db.models import Event
from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error, bulk_issues, bulk_links
from tests.conftest import Factory

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
# Both addressing forms run inside each test (one world per test keeps the suite quick).
FORMS = ("slug", "id")


def links_url(world: World, issue: dict[str, Any], form: str) -> str:
    return world.issue_path(issue, form) + "/issue_links"


def create(sc: SourceCraft, world: World, form: str, target: dict[str, Any], **body: Any) -> Any:
    """POST a link from api#1 to `target` (by slug when in the same repo, else by id)."""
    if target["project_id"] == world.issue["project_id"]:
        body.setdefault("target_issue_slug", str(target["iid"]))
    else:
        body.setdefault("target_issue_id", str(target["id"]))
    return sc.post(links_url(world, world.issue, form), json=body)


def listed(sc: SourceCraft, world: World, issue: dict[str, Any], form: str, **params: Any) -> dict[str, Any]:
    response = sc.get(links_url(world, issue, form), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- create: 401, 400, 404


def test_s1_create_without_or_with_invalid_token_is_401(sc: SourceCraft, world: World) -> None:
    """S1: no token, an invalid one, or no token and a broken body: 401 with the full envelope."""
    for form in FORMS:
        url = links_url(world, world.issue, form)
        assert_error(sc.anonymous().post(url, json={"target_issue_slug": "2"}), 401, "Unauthenticated")
        bad = {"Authorization": "Bearer not-a-token"}
        response = sc.anonymous().post(url, json={"target_issue_slug": "2"}, headers=bad)
        assert_error(response, 401, "Unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(sc.anonymous().post(url, content=b"{"), 401, "Unauthenticated")


def test_s2_body_not_json_or_wrong_type_is_400(sc: SourceCraft, world: World) -> None:
    """S2: a body that is not JSON, or `link_type: 5`: 400 ValidationError."""
    for form in FORMS:
        _s2(sc, world, form)


def _s2(sc: SourceCraft, world: World, form: str) -> None:
    url = links_url(world, world.issue, form)
    not_json = sc.post(url, content=b"target=2", headers={"Content-Type": "application/json"})
    assert_error(not_json, 400, "ValidationError", field="body")
    assert_error(sc.post(url, json=[{"target_issue_slug": "2"}]), 400, "ValidationError", field="body")
    wrong_type = sc.post(url, json={"target_issue_slug": "2", "link_type": 5})
    assert_error(wrong_type, 400, "ValidationError", field="link_type")
    number_id = sc.post(url, json={"target_issue_id": int(world.target["id"])})
    assert_error(number_id, 400, "ValidationError", field="target_issue_id")


def test_s3_target_fields_neither_both_or_empty_are_400(sc: SourceCraft, world: World) -> None:
    """S3: neither target field, both of them, or only empty strings: 400 ValidationError."""
    both = {"target_issue_slug": "2", "target_issue_id": str(world.target["id"])}
    for form in FORMS:
        url = links_url(world, world.issue, form)
        for body in ({}, both, {"target_issue_slug": "", "target_issue_id": ""}, {"target_issue_slug": None}):
            assert_error(sc.post(url, json=body), 400, "ValidationError")
        assert_error(sc.post(url), 400, "ValidationError", reason="target_missing")


def test_s4_gitlab_spelling_of_link_type_is_400(sc: SourceCraft, world: World) -> None:
    """S4: `relates_to` (GitLab's word), `is_blocked_by` and "" are not SourceCraft link types: 400."""
    for form, link_type in [(f, t) for f in FORMS for t in ("relates_to", "is_blocked_by", "")]:
        response = create(sc, world, form, world.target, link_type=link_type)
        assert_error(response, 400, "ValidationError", field="link_type")


UNKNOWN_PATH_ISSUES = [
    "/repos/nope/api/issues/1/issue_links",
    "/repos/acme/nope/issues/1/issue_links",
    "/repos/acme/api/issues/999/issue_links",
    "/repos/acme/api/issues/007/issue_links",
    "/repos/acme/api/issues/+1/issue_links",
    "/repos/acme/api/issues/id:1/issue_links",
    "/issues/id:999999/issue_links",
    "/issues/id:01/issue_links",
    "/issues/id:abc/issue_links",
    "/issues/id%3A999999/issue_links",
]


def test_s5_unknown_path_issue_is_404(sc: SourceCraft, world: World) -> None:
    """S5: unknown org, repo, issue slug or id, or a non-canonical slug: 404 (a bad body: still 400)."""
    for path in UNKNOWN_PATH_ISSUES:
        assert_error(sc.post(path, json={"target_issue_slug": "2"}), 404, "NotFound")
    response = sc.post("/issues/id:999999/issue_links", json={"link_type": "relates_to"})
    assert_error(response, 400, "ValidationError")


def test_s6_target_slug_is_resolved_in_the_path_repository(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S6: a `target_issue_slug` that exists only in another repository: 404."""
    factory.issue(world.other_repo, "web 2")
    factory.issue(world.other_repo, "web 3")
    for form in FORMS:
        response = sc.post(links_url(world, world.issue, form), json={"target_issue_slug": "3"})
        assert_error(response, 404, "NotFound")


def test_s7_target_id_in_another_repository_is_linked(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S7: `target_issue_id` naming an issue of another repository the caller may link: 201."""
    for form in FORMS:
        other = factory.issue(world.other_repo, f"other {form}")
        response = create(sc.as_(world.planner), world, form, other)
        assert response.status_code == 201, response.text
        assert response.json()["target"] == {"id": str(other["id"]), "slug": str(other["iid"])}


def test_s8_target_the_caller_cannot_read_is_404(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S8: a confidential target, or one in a private repository, that the caller cannot read: 404."""
    secret = factory.issue(world.repo, "secret", confidential=True)
    guest = sc.as_(world.guest)
    for form in FORMS:
        assert_error(create(guest, world, form, secret), 404, "NotFound")
        assert_error(create(guest, world, form, world.other), 404, "NotFound")


# ---------------------------------------------------------------- create: 409, 403, rules


def test_s9_any_second_link_between_the_pair_is_409(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S9: same direction and type, same direction another type, reverse: 409 with the link's id."""
    for form in FORMS:
        target = factory.issue(world.repo, f"target {form}")
        first = create(sc, world, form, target, link_type="blocks")
        assert first.status_code == 201, first.text
        link_id = first.json()["id"]
        for link_type in ("blocks", "related_to", "blocked_by"):
            response = create(sc, world, form, target, link_type=link_type)
            assert_error(response, 409, "AlreadyExists", issue_link_id=link_id)
        reverse = sc.post(links_url(world, target, form), json={"target_issue_slug": "1"})
        body = assert_error(reverse, 409, "AlreadyExists", issue_link_id=link_id)
        assert body["message"] == "a link between these issues already exists"


def test_s10_reader_who_is_not_a_member_is_403(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S10: a reader of both issues without membership in one repository: 403 (409 if already linked)."""
    public = factory.issue(world.public_repo, "public")
    for form in FORMS:
        assert_error(create(sc.as_(world.guest), world, form, public), 403, "PermissionDenied")
    assert create(sc, world, "id", public).status_code == 201
    for form in FORMS:
        assert_error(create(sc.as_(world.guest), world, form, public), 409, "AlreadyExists")


def test_s11_self_link_is_400(sc: SourceCraft, world: World) -> None:
    """S11: target = path issue, by slug or by id: 400 ValidationError."""
    for form in FORMS:
        url = links_url(world, world.issue, form)
        for body in ({"target_issue_slug": "1"}, {"target_issue_id": str(world.issue["id"])}):
            response = sc.post(url, json=body)
            assert_error(response, 400, "ValidationError", reason="self_link")
            assert response.json()["message"] == "an issue cannot be linked to itself"


def test_domain_rules_each_have_their_own_reason(sc: SourceCraft, world: World, factory: Factory) -> None:
    """§7.1 step 7: second parent, second canonical, each cycle: 400s told apart by `details.reason`."""
    a, b, c = (factory.issue(world.repo, name) for name in "abc")

    def link(source: dict[str, Any], target: dict[str, Any], link_type: str) -> Any:
        body = {"target_issue_id": str(target["id"]), "link_type": link_type}
        return sc.post(f"/issues/id:{source['id']}/issue_links", json=body)

    assert link(a, c, "parent_of").status_code == 201
    assert_error(link(c, b, "subissue_of"), 400, "ValidationError", reason="already_has_parent")
    assert link(b, a, "parent_of").status_code == 201
    cycle = assert_error(link(b, c, "subissue_of"), 400, "ValidationError", reason="hierarchy_cycle")
    assert cycle["details"]["path"].count("#") == 4
    d, e, f = (factory.issue(world.repo, name) for name in "def")
    assert link(d, e, "blocks").status_code == 201 and link(e, f, "blocks").status_code == 201
    blocking = assert_error(link(d, f, "blocked_by"), 400, "ValidationError", reason="blocks_cycle")
    # d blocked_by f is stored as f blocks d: the path runs from the blocker
    assert blocking["details"]["path"] == f"#{f['iid']} -> #{d['iid']} -> #{e['iid']} -> #{f['iid']}"
    assert link(d, f, "duplicates").status_code == 201
    assert_error(link(d, world.target, "duplicates"), 400, "ValidationError", reason="already_duplicate")


def _fill_to_limit(database: Any, world: World, issue: dict[str, Any]) -> None:
    """100 links on `issue`: 95 to issues of its repo, 5 to issues of `web` (hidden from the guest)."""
    bulk_links(database, issue["id"], bulk_issues(database, world.repo["id"], 95))
    bulk_links(database, issue["id"], bulk_issues(database, world.other_repo["id"], 5))


@pytest.mark.parametrize("full", ["path issue", "target"])
def test_s12_link_limit_counts_links_the_caller_cannot_see(
    sc: SourceCraft, world: World, database: Any, full: str
) -> None:
    """S12: the path issue (or the target) has 100 links, some invisible to the caller: 400."""
    _fill_to_limit(database, world, world.issue if full == "path issue" else world.target)
    guest = sc.as_(world.guest)
    if full == "path issue":
        assert len(listed(guest, world, world.issue, "id", page_size="100")["links"]) == 95
    for form in FORMS:
        response = create(guest, world, form, world.target)
        body = assert_error(response, 400, "ValidationError", reason="link_limit", limit="100")
        assert body["message"] == "issue would exceed the maximum number of linked issues (100)"


def test_s13_default_link_is_related_to_and_authored_by_the_caller(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S13: no `link_type`: 201 `related_to`, author = updated_by = caller, created_at = updated_at."""
    planner = {"id": str(world.planner.id), "slug": "planner"}
    for form in FORMS:
        target = factory.issue(world.repo, f"target {form}")
        response = create(sc.as_(world.planner), world, form, target)
        assert response.status_code == 201, response.text
        link = response.json()
        assert link["link_type"] == "related_to"
        assert link["author"] == link["updated_by"] == planner
        assert link["created_at"] == link["updated_at"] and link["created_at"].endswith("Z")
        assert link["source"] == {"id": str(world.issue["id"]), "slug": "1"}
        assert link["target"] == {"id": str(target["id"]), "slug": str(target["iid"])}
        assert re.fullmatch(r"[1-9][0-9]*", link["id"])


def _without_ends(link: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in link.items() if k not in ("source", "target", "link_type")}


def test_s14_blocked_by_reads_as_blocks_from_the_other_side(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S14: `blocked_by` from the path side; `blocks` with source/target swapped from the other; one id."""
    for form in FORMS:
        target = factory.issue(world.repo, f"blocker {form}")
        created = create(sc, world, form, target, link_type="blocked_by").json()
        here = [x for x in listed(sc, world, world.issue, form)["links"] if x["id"] == created["id"]]
        [there] = listed(sc, world, target, form)["links"]
        assert here == [created]
        assert there["id"] == created["id"] and there["link_type"] == "blocks"
        assert (there["source"], there["target"]) == (created["target"], created["source"])
        assert _without_ends(there) == _without_ends(created)


INVERSES = [
    ("subissue_of", "parent_of"),
    ("parent_of", "subissue_of"),
    ("duplicated_by", "duplicates"),
    ("duplicates", "duplicated_by"),
    ("related_to", "related_to"),
]


def test_s15_every_type_reads_as_its_inverse_from_the_other_side(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S15: subissue_of/parent_of, duplicated_by/duplicates and related_to, as in §5.2, both forms."""
    for link_type, inverse in INVERSES:
        source = factory.issue(world.repo, f"source {link_type}")
        target = factory.issue(world.repo, f"target {link_type}")
        url = links_url(world, source, "slug")
        created = sc.post(url, json={"target_issue_slug": str(target["iid"]), "link_type": link_type}).json()
        for form in FORMS:
            assert [x["link_type"] for x in listed(sc, world, source, form)["links"]] == [link_type]
            [there] = listed(sc, world, target, form)["links"]
            assert (there["id"], there["link_type"], there["source"]) == (
                created["id"],
                inverse,
                created["target"],
            )


# ---------------------------------------------------------------- list


def test_s16_list_without_token_is_401(sc: SourceCraft, world: World) -> None:
    """S16: listing without a token, or with an invalid one: 401 Unauthenticated."""
    for form in FORMS:
        url = links_url(world, world.issue, form)
        assert_error(sc.anonymous().get(url), 401, "Unauthenticated")
        assert_error(sc.anonymous().get(url, headers={"Authorization": "Bearer x"}), 401, "Unauthenticated")


def test_s17_no_links_is_an_empty_array_without_token(sc: SourceCraft, world: World) -> None:
    """S17: an issue without links lists `{"links": []}` and no `next_page_token`."""
    for form in FORMS:
        assert listed(sc, world, world.issue, form) == {"links": []}


def _five_links(sc: SourceCraft, world: World, factory: Factory) -> list[str]:
    ids = []
    for n in range(5):
        target = factory.issue(world.repo, f"t{n}")
        ids.append(create(sc, world, "slug", target).json()["id"])
    return ids


def _all_pages(sc: SourceCraft, world: World, form: str, **params: Any) -> tuple[list[str], list[int]]:
    seen: list[str] = []
    sizes: list[int] = []
    token = None
    while True:
        page = listed(sc, world, world.issue, form, **params, **({"page_token": token} if token else {}))
        sizes.append(len(page["links"]))
        seen += [link["id"] for link in page["links"]]
        token = page.get("next_page_token")
        if token is None:
            return seen, sizes
        assert token and URL_SAFE.match(token)


def test_s18_pages_follow_tokens_without_repeats(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S18: five links at `page_size=2` come as 2, 2 and 1; the last page has no token."""
    ids = _five_links(sc, world, factory)
    for form in FORMS:
        assert _all_pages(sc, world, form, page_size="2") == (ids, [2, 2, 1])
        assert _all_pages(sc, world, form, page_size="3", sort_by="-id") == (ids[::-1], [3, 2])


def test_s18_pages_are_stable_when_links_change_between_calls(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S18 (keyset): a link deleted and one added between pages neither shifts nor repeats items."""
    ids = _five_links(sc, world, factory)
    first = listed(sc, world, world.issue, "id", page_size="2")
    assert sc.delete(f"/issue_links/id:{ids[0]}").status_code == 204
    create(sc, world, "slug", factory.issue(world.repo, "late"))
    rest = listed(sc, world, world.issue, "id", page_size="2", page_token=first["next_page_token"])
    assert [x["id"] for x in rest["links"]] == ids[2:4]


def test_s19_page_size_must_be_digits_and_is_capped(sc: SourceCraft, world: World, database: Any) -> None:
    """S19: `page_size=abc` (or -1, " 2") is 400; `page_size=1000` gives at most 100 items."""
    bulk_links(database, world.issue["id"], bulk_issues(database, world.repo["id"], 100))
    for form in FORMS:
        url = links_url(world, world.issue, form)
        for bad in ("abc", "-1", " 2", "2.0", "\uff11", ""):
            assert_error(sc.get(url, params={"page_size": bad}), 400, "ValidationError", field="page_size")
        page = listed(sc, world, world.issue, form, page_size="1000")
        assert len(page["links"]) == 100 and "next_page_token" not in page
        assert len(listed(sc, world, world.issue, form)["links"]) == 50  # the default
        assert len(listed(sc, world, world.issue, form, page_size="0")["links"]) == 50


def test_s20_garbage_or_reused_token_is_400(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S20: an undecodable token, or a valid one with a changed `sort_by` or issue: 400."""
    _five_links(sc, world, factory)
    for form in FORMS:
        url = links_url(world, world.issue, form)
        for garbage in ("garbage", "!!!", "eyJ2IjpbXX0", "e30", "x" * 3000):
            response = sc.get(url, params={"page_token": garbage})
            assert_error(response, 400, "ValidationError", field="page_token")
        token = listed(sc, world, world.issue, form, page_size="2")["next_page_token"]
        changed = sc.get(url, params={"page_size": "2", "page_token": token, "sort_by": "-created_at"})
        assert_error(changed, 400, "ValidationError", reason="page_token_mismatch")
        elsewhere = sc.get(links_url(world, world.target, form), params={"page_token": token})
        assert_error(elsewhere, 400, "ValidationError", field="page_token")
        resized = sc.get(url, params={"page_size": "3", "page_token": token})  # page_size may change
        assert resized.status_code == 200 and len(resized.json()["links"]) == 3


def test_s21_sort_descending_and_unknown_field(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S21: `sort_by=-created_at` lists newest first; `sort_by=title` is 400."""
    ids = _five_links(sc, world, factory)
    for form in FORMS:
        newest_first = listed(sc, world, world.issue, form, sort_by="-created_at")["links"]
        assert [x["id"] for x in newest_first] == ids[::-1]
        spaced = listed(sc, world, world.issue, form, sort_by=" -updated_at , -id ")["links"]
        assert [x["id"] for x in spaced] == ids[::-1]
        url = links_url(world, world.issue, form)
        for bad in ("title", "created_at,created_at", "-", "created_at,"):
            assert_error(sc.get(url, params={"sort_by": bad}), 400, "ValidationError", field="sort_by")


def test_s22_link_to_an_unreadable_issue_is_omitted(sc: SourceCraft, world: World) -> None:
    """S22: a link whose other issue the caller cannot read is left out of the list."""
    create(sc, world, "id", world.other)
    create(sc, world, "id", world.target)
    for form in FORMS:
        guest_view = listed(sc.as_(world.guest), world, world.issue, form)["links"]
        assert [x["target"]["id"] for x in guest_view] == [str(world.target["id"])]
        assert len(listed(sc, world, world.issue, form)["links"]) == 2


# ---------------------------------------------------------------- delete


def test_s23_delete_without_token_is_401(sc: SourceCraft, world: World) -> None:
    """S23: DELETE without a token: 401 Unauthenticated (and the link stays)."""
    link_id = create(sc, world, "id", world.target).json()["id"]
    assert_error(sc.anonymous().delete(f"/issue_links/id:{link_id}"), 401, "Unauthenticated")
    assert len(listed(sc, world, world.issue, "id")["links"]) == 1


def test_s24_unknown_or_unreadable_link_is_404(sc: SourceCraft, world: World) -> None:
    """S24: an unknown id, a non-id, or a link to an issue the caller cannot read: 404."""
    for path in (
        "/issue_links/id:999999",
        "/issue_links/id:abc",
        "/issue_links/id:01",
        "/issue_links/id%3A99",
    ):
        assert_error(sc.delete(path), 404, "NotFound")
    hidden = create(sc, world, "id", world.other).json()["id"]
    assert_error(sc.as_(world.guest).delete(f"/issue_links/id:{hidden}"), 404, "NotFound")


def test_s25_reader_without_link_permission_is_403(sc: SourceCraft, world: World, factory: Factory) -> None:
    """S25: the caller reads both issues (public repository) but may not unlink them: 403."""
    a, b = factory.issue(world.public_repo, "a"), factory.issue(world.public_repo, "b")
    link = factory.link(a, b)
    assert_error(sc.as_(world.outsider).delete(f"/issue_links/id:{link['id']}"), 403, "PermissionDenied")


def test_s26_delete_removes_the_link_from_both_sides(sc: SourceCraft, world: World) -> None:
    """S26: 204 with no body; the link leaves both lists; a second DELETE is 404."""
    link_id = create(sc, world, "slug", world.target, link_type="blocks").json()["id"]
    response = sc.as_(world.planner).delete(f"/issue_links/id%3A{link_id}")
    assert response.status_code == 204 and response.content == b""
    assert "content-type" not in response.headers
    for form in FORMS:
        assert listed(sc, world, world.issue, form) == {"links": []}
        assert listed(sc, world, world.target, form) == {"links": []}
    assert_error(sc.delete(f"/issue_links/id:{link_id}"), 404, "NotFound")


# ---------------------------------------------------------------- silent, methods, other face


def _silent_flags(database: Any, kind: str) -> list[bool]:
    with database.session(write=False) as session:
        return list(session.scalars(select(Event.silent).where(Event.kind == kind).order_by(Event.id)))


def test_s27_silent_is_recorded_and_validated(
    sc: SourceCraft, world: World, factory: Factory, database: Any
) -> None:
    """S27: `silent=true` and `silent=1` are accepted and recorded (no notification); `maybe` is 400."""
    flags = [("TRUE", True), ("0", False), ("1", True), ("False", False)]
    for form, (value, _) in zip(FORMS * 2, flags, strict=True):
        target = factory.issue(world.repo, f"target {value}")
        url = links_url(world, world.issue, form)
        maybe = sc.post(url, params={"silent": "maybe"}, json={"target_issue_slug": str(target["iid"])})
        assert_error(maybe, 400, "ValidationError", field="silent")
        created = sc.post(url, params={"silent": value}, json={"target_issue_slug": str(target["iid"])})
        assert created.status_code == 201
    assert _silent_flags(database, "issue_link.create") == [flag for _, flag in flags]
    links = listed(sc, world, world.issue, "id")["links"]
    assert_error(sc.delete(f"/issue_links/id:{links[0]['id']}?silent=maybe"), 400, "ValidationError")
    for link, (value, _) in zip(links, flags, strict=True):
        assert sc.delete(f"/issue_links/id:{link['id']}", params={"silent": value}).status_code == 204
    assert _silent_flags(database, "issue_link.delete") == [flag for _, flag in flags]


def test_s28_unsupported_methods_on_a_link_are_405(sc: SourceCraft, world: World) -> None:
    """S28: GET or PATCH on `/issue_links/id:{id}` is 405 MethodNotAllowed, with `Allow: DELETE`."""
    link_id = create(sc, world, "id", world.target).json()["id"]
    for method in ("GET", "PATCH", "PUT", "POST"):
        response = sc.request(method, f"/issue_links/id:{link_id}")
        assert_error(response, 405, "MethodNotAllowed")
        assert response.headers["allow"] == "DELETE"


def test_s29_blocked_by_made_here_reads_right_on_the_gitlab_face(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """S29: a `blocked_by` link made here is `is_blocked_by`/`blocks` on GitLab, with the same id."""
    link = create(sc, world, "slug", world.target, link_type="blocked_by").json()
    headers = factory.admin.headers
    base = f"/api/v4/projects/{world.repo['id']}/issues"
    [blocked_view] = sc.client.get(f"{base}/1/links", headers=headers).json()
    [blocker_view] = sc.client.get(f"{base}/2/links", headers=headers).json()
    assert (blocked_view["iid"], blocked_view["link_type"]) == (2, "is_blocked_by")
    assert (blocker_view["iid"], blocker_view["link_type"]) == (1, "blocks")
    assert blocked_view["issue_link_id"] == blocker_view["issue_link_id"] == int(link["id"])


def test_lists_cost_the_same_queries_for_more_links(
    sc: SourceCraft, world: World, factory: Factory, query_recorder: Any
) -> None:
    """STYLE §12: a link list, and an issue list, send as many queries for five links as for one."""

    def count(path: str) -> int:
        with query_recorder() as statements:
            assert sc.get(path).status_code == 200
        return len(statements)

    create(sc, world, "id", world.target, link_type="blocks")
    one = (count(links_url(world, world.issue, "slug")), count("/repos/acme/api/issues"))
    _five_links(sc, world, factory)
    assert (count(links_url(world, world.issue, "slug")), count("/repos/acme/api/issues")) == one
