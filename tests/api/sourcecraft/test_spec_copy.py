"""The tests' copy of SourceCraft's OpenAPI subset is the published one, byte for byte."""

from __future__ import annotations

import pytest

from tests.api.sourcecraft.spec import PUBLISHED, SPEC


def test_copy_matches_the_published_spec() -> None:
    if not PUBLISHED.exists():
        pytest.skip("shared/spec is not beside this checkout: nothing to compare with")
    assert SPEC.read_bytes() == PUBLISHED.read_bytes()
