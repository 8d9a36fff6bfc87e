"""All seven link types, read from both sides through both faces (spec §5.2; GitLab spec §5.5)."""

from __future__ import annotations

from typing import Any

from tests.api.sourcecraft.conftest import SourceCraft, World
from tests.conftest import Factory

# SourceCraft type made on A -> B, the GitLab name A's list shows, SourceCraft type and GitLab
# name seen from B.
TYPES = [
    ("related_to", "relates_to", "related_to", "relates_to"),
    ("parent_of", "parent_of", "subissue_of", "subissue_of"),
    ("subissue_of", "subissue_of", "parent_of", "parent_of"),
    ("blocks", "blocks", "blocked_by", "is_blocked_by"),
    ("blocked_by", "is_blocked_by", "blocks", "blocks"),
    ("duplicates", "duplicates", "duplicated_by", "duplicated_by"),
    ("duplicated_by", "duplicated_by", "duplicates", "duplicates"),
]


def _sourcecraft_view(sc: SourceCraft, issue: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(link id, other issue id, type) for each link of `issue`, through both addressing forms."""
    views = []
    for path in (f"/issues/id:{issue['id']}", f"/repos/acme/api/issues/{issue['iid']}"):
        links = sc.get(f"{path}/issue_links").json()["links"]
        assert all(x["source"] == {"id": str(issue["id"]), "slug": str(issue["iid"])} for x in links)
        views.append([(x["id"], x["target"]["id"], x["link_type"]) for x in links])
    assert views[0] == views[1]
    return views[0]


def _gitlab_view(sc: SourceCraft, factory: Factory, issue: dict[str, Any]) -> list[tuple[str, str, str]]:
    url = f"/api/v4/projects/{issue['project_id']}/issues/{issue['iid']}/links"
    items = sc.client.get(url, headers=factory.admin.headers).json()
    return [(str(x["issue_link_id"]), str(x["id"]), x["link_type"]) for x in items]


def test_seven_types_read_from_both_sides_through_both_faces(
    sc: SourceCraft, world: World, factory: Factory
) -> None:
    """Each type, made on either face, reads as itself and as its inverse, on both faces, one id."""
    for sc_type, gl_type, sc_inverse, gl_inverse in TYPES:
        # Made through SourceCraft, read through both faces.
        a, b = factory.issue(world.repo, f"{sc_type} a"), factory.issue(world.repo, f"{sc_type} b")
        response = sc.post(
            f"/issues/id:{a['id']}/issue_links", json={"target_issue_id": str(b["id"]), "link_type": sc_type}
        )
        assert response.status_code == 201, response.text
        link_id = response.json()["id"]
        assert _sourcecraft_view(sc, a) == [(link_id, str(b["id"]), sc_type)], sc_type
        assert _sourcecraft_view(sc, b) == [(link_id, str(a["id"]), sc_inverse)], sc_type
        assert _gitlab_view(sc, factory, a) == [(link_id, str(b["id"]), gl_type)], sc_type
        assert _gitlab_view(sc, factory, b) == [(link_id, str(a["id"]), gl_inverse)], sc_type

        # Made through GitLab under its name, read through SourceCraft.
        c, d = factory.issue(world.repo, f"{gl_type} c"), factory.issue(world.repo, f"{gl_type} d")
        made = factory.link(c, d, gl_type)
        gl_id = str(made["id"])
        assert _sourcecraft_view(sc, c) == [(gl_id, str(d["id"]), sc_type)], gl_type
        assert _sourcecraft_view(sc, d) == [(gl_id, str(c["id"]), sc_inverse)], gl_type
