"""The SourceCraft face in /openapi.json: the operations of SourceCraft's published spec.

The face implements every operation of `swagger-issues.json` (a verbatim copy of SourceCraft's
Swagger 2.0 subset), with the request and response bodies it defines, so the spec itself documents
the face; it is converted here to OpenAPI 3.1 and merged with what FastAPI generates for the GitLab
face and the graph API. Three departures from the copy, all the face's documented behaviour:
a 204 has no body (the spec declares `{}`; spec §4), the enum definitions' `"properties": null`
(not a Schema Object) is dropped, and the bodies the face accepts issuegraph extensions in name
them (`EXTENSIONS`: the repository update's close policy, docs/sourcecraft.md). Definitions
become components named `SourceCraft.<name>`. The copy itself stays verbatim.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from issuegraph.projects.service import CLOSE_POLICIES

SPEC = Path(__file__).with_name("swagger-issues.json")
PREFIX = "SourceCraft."
_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "pattern",
    "minimum",
    "maximum",
    "collectionFormat",
)


# Properties issuegraph adds to SourceCraft's definitions, by definition name.
EXTENSIONS: dict[str, dict[str, Any]] = {
    "UpdateRepositoryBody": {
        "close_policy": {
            "type": "string",
            "enum": list(CLOSE_POLICIES),
            "title": "issuegraph extension: closing an issue with open blockers or sub-issues",
            "description": "`allow` closes it; `warn` closes it and the issue's answer lists what "
            "is still open in `close_warnings`; `deny` refuses with 409 `close_denied`",
        },
        "close_duplicates": {
            "type": "boolean",
            "title": "issuegraph extension: closing an issue also closes the issues that duplicate it",
        },
    },
}


def _refs(node: Any) -> Any:
    """A Swagger schema as an OpenAPI 3.1 one: references renamed, `properties: null` dropped."""
    if isinstance(node, list):
        return [_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = "#/components/schemas/" + PREFIX + value.rsplit("/", 1)[-1]
        elif (key == "properties" and value is None) or key == "collectionFormat":
            continue
        else:
            out[key] = _refs(value)
    return out


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    schema = {k: param[k] for k in _SCHEMA_KEYS if k in param and k != "collectionFormat"}
    converted: dict[str, Any] = {
        "name": param["name"],
        "in": param["in"],
        "required": bool(param.get("required", False)),
        "schema": _refs(schema),
    }
    if param.get("description"):
        converted["description"] = param["description"]
    if param.get("type") == "array" and param["in"] == "query":
        converted.update(style="form", explode=param.get("collectionFormat") == "multi")
    return converted


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {k: op[k] for k in ("summary", "description", "operationId") if k in op}
    converted["tags"] = ["sourcecraft"]
    parameters = []
    for param in op.get("parameters", []):
        if param["in"] == "body":
            converted["requestBody"] = {
                "required": bool(param.get("required", False)),
                "content": {"application/json": {"schema": _refs(param.get("schema", {}))}},
            }
        else:
            parameters.append(_parameter(param))
    if parameters:
        converted["parameters"] = parameters
    responses: dict[str, Any] = {}
    for code, response in op.get("responses", {}).items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        if "schema" in response and code != "204":
            entry["content"] = {"application/json": {"schema": _refs(response["schema"])}}
        responses[code] = entry
    converted["responses"] = responses
    return converted


@lru_cache
def paths_and_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The face's operations as OpenAPI 3.1 paths, and the component schemas they use."""
    spec: dict[str, Any] = json.loads(SPEC.read_text())
    paths = {
        path: {method: _operation(op) for method, op in item.items() if method != "parameters"}
        for path, item in spec["paths"].items()
    }
    schemas = {PREFIX + name: _refs(definition) for name, definition in spec.get("definitions", {}).items()}
    for name, properties in EXTENSIONS.items():
        schemas[PREFIX + name]["properties"].update(properties)
    return paths, schemas


def merge_into(document: dict[str, Any]) -> dict[str, Any]:
    """Add the SourceCraft face to an OpenAPI document generated by FastAPI."""
    paths, schemas = paths_and_schemas()
    document.setdefault("paths", {}).update(json.loads(json.dumps(paths)))
    document.setdefault("components", {}).setdefault("schemas", {}).update(json.loads(json.dumps(schemas)))
    return document
