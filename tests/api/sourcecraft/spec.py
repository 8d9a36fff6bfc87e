"""SourceCraft's published OpenAPI subset, loaded once for schemathesis and for checking every
response the face's tests receive (S30).

The file is a verbatim copy of shared/spec/sourcecraft/swagger-issues.json, shipped with the face
(its operations are part of /openapi.json, api/sourcecraft/openapi.py) so that a checkout alone
runs the tests; test_spec_copy.py fails if the two ever differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st

import issuegraph.api.sourcecraft as sourcecraft_face

SPEC = Path(sourcecraft_face.__file__).with_name("swagger-issues.json")  # shipped: /openapi.json has it
PUBLISHED = Path(__file__).resolve().parents[4] / "shared" / "spec" / "sourcecraft" / "swagger-issues.json"

# `page_size` is a string of format uint64; teach the generator what that means.
schemathesis.openapi.format("uint64", st.from_regex(r"\A(0|[1-9][0-9]{0,3})\Z"))


def _published_spec() -> dict[str, Any]:
    """The spec as published, minus one defect: its enum definitions carry `"properties": null`,
    which is not a Schema Object (protoc-gen-openapiv2 output). Dropping the key changes no meaning."""
    raw: dict[str, Any] = json.loads(SPEC.read_text())
    for definition in raw["definitions"].values():
        if "properties" in definition and definition["properties"] is None:
            del definition["properties"]
    return raw


schema = schemathesis.openapi.from_dict(_published_spec())
schema.config.update(base_url="http://testserver")


def check_response(method: str, path: str, response: Any) -> None:
    """Validate a response of an operation the published spec declares (others are skipped).

    The spec gives its 204s a `{}` JSON body; issuegraph sends none (spec §4), so a 204 is
    checked for emptiness instead.
    """
    operation = schema.find_operation_by_path(method, path)
    if operation is None:
        return
    if response.status_code == 204:
        assert response.content == b"" and "content-type" not in response.headers
        return
    operation.validate_response(response)
