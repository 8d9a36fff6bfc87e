"""The graph API's OpenAPI document says what the routes answer: 400 invalid_parameter, never 422."""

from __future__ import annotations

from typing import Any


def test_graph_routes_document_400_not_422(shared_app: Any) -> None:
    """No graph operation lists FastAPI's 422 HTTPValidationError; each lists its 400 error body."""
    schema = shared_app.openapi()
    operations = [
        (path, op)
        for path, ops in schema["paths"].items()
        if path.startswith("/api/graph/")
        for op in ops.values()
    ]
    assert len(operations) >= 12
    for path, op in operations:
        assert "422" not in op["responses"], path
        assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }, path
    assert "invalid_parameter" in operations[0][1]["responses"]["400"]["description"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_gitlab_rule_refusals_stay_422(shared_app: Any) -> None:
    """Only the graph routes change: GitLab's own documented 422 (refused by a rule) stays."""
    links = shared_app.openapi()["paths"]["/api/v4/projects/{project_id}/issues/{issue_iid}/links"]
    assert links["post"]["responses"]["422"]["description"] == "Refused by a rule"


def test_graph_bad_parameter_answers_400(client: Any, factory: Any) -> None:
    """What the document says is what a bad parameter gets: 400 invalid_parameter in the graph's shape."""
    project = factory.project("doc")
    response = client.get(f"/api/graph/v1/projects/{project['id']}/ready", params={"per_page": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
