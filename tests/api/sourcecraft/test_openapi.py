"""The SourceCraft face in /openapi.json: the spec's operations, plus the extensions the face accepts."""

from __future__ import annotations

import json
from typing import Any

from issuegraph.api.sourcecraft.openapi import EXTENSIONS
from tests.api.sourcecraft.conftest import SourceCraft, World, assert_error
from tests.api.sourcecraft.spec import SPEC


def _body_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return dict(document["components"]["schemas"][ref.rsplit("/", 1)[-1]])


def test_repository_update_documents_the_close_policy(shared_app: Any) -> None:
    """PATCH /repos/id:{repo_id} names close_policy (allow, warn, deny) and close_duplicates beside
    the spec's own properties; the shipped copy of the spec is left as published."""
    body = _body_schema(shared_app.openapi(), "/repos/id:{repo_id}", "patch")
    published = json.loads(SPEC.read_text())["definitions"]["UpdateRepositoryBody"]["properties"]
    assert set(body["properties"]) == {*published, "close_policy", "close_duplicates"}
    assert body["properties"]["close_policy"]["enum"] == ["allow", "warn", "deny"]
    assert body["properties"]["close_duplicates"]["type"] == "boolean"
    assert "close_policy" not in published


def test_documented_extensions_are_accepted(sc: SourceCraft, world: World) -> None:
    """Every value the document allows is taken and shown on the repository; others are 400."""
    path = f"/repos/id:{world.repo['id']}"
    for policy in EXTENSIONS["UpdateRepositoryBody"]["close_policy"]["enum"]:
        response = sc.patch(path, json={"close_policy": policy, "close_duplicates": policy == "warn"})
        assert response.status_code == 200, response.text
        assert (response.json()["close_policy"], response.json()["close_duplicates"]) == (
            policy,
            policy == "warn",
        )
    assert_error(sc.patch(path, json={"close_policy": "sometimes"}), 400, "ValidationError")
