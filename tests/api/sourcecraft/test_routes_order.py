"""The SourceCraft face's parts (links, issues, repos, labels) are included busiest first; that
is safe only while no path can match routes of two parts, which this checks for every route."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from issuegraph.api.sourcecraft import routes


def _sample(route: APIRoute) -> str:
    """A concrete path of the route: every parameter `5` (`id:5` where the path says `id:`)."""
    return re.sub(r"\{[^}]+\}", "5", route.path_format)


def test_no_path_matches_routes_of_two_parts() -> None:
    parts = [[r for r in part.routes if isinstance(r, APIRoute)] for part in routes._PARTS]
    assert all(parts) and sum(map(len, parts)) > 40
    for n, own in enumerate(parts):
        others = [r for m, part in enumerate(parts) if m != n for r in part]
        for route in own:
            path = _sample(route)
            assert route.path_regex.match(path), path  # the sample is the route's own
            clashes = [other.path for other in others if other.path_regex.match(path)]
            assert not clashes, f"{path} ({route.path}) also matches {clashes}"


def test_the_busiest_parts_come_first() -> None:
    from issuegraph.api.sourcecraft import issues, links

    assert routes._PARTS[:2] == (links.router, issues.router)
