"""The shipped copy of SourceCraft's OpenAPI subset is the published one, byte for byte.

The published file lives in `shared/spec`, beside the checkout on development machines but not
in every clean clone: its SHA-256 is recorded here, so the copy is checked everywhere, and where
the published file is at hand it is checked against the same digest (a new published version
fails here until the copy and the digest are updated together)."""

from __future__ import annotations

import hashlib

from tests.api.sourcecraft.spec import PUBLISHED, SPEC

PUBLISHED_SHA256 = "b044e702d890d7eca057c8ec1ee7af9a4c6d76d1e1ae9e7a376c891255c48c4c"


def test_copy_matches_the_published_spec() -> None:
    assert hashlib.sha256(SPEC.read_bytes()).hexdigest() == PUBLISHED_SHA256
    if PUBLISHED.exists():
        assert hashlib.sha256(PUBLISHED.read_bytes()).hexdigest() == PUBLISHED_SHA256
