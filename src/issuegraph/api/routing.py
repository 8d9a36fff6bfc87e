"""Routing helpers shared by the faces."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute, Match


class FaceRouter(APIRouter):
    """An APIRouter that rules itself out at once for a path outside its prefix.

    Starlette tries an app's routes in order, and FastAPI asks an included router to try each of
    its routes even when the path cannot start with the router's prefix: a SourceCraft request
    was matched against every GitLab route first (about 0.1 ms per request)."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        if not scope["path"].startswith(self.prefix + "/"):
            return Match.NONE, {}
        return super().matches(scope)


def hot_routes_first(routes: list[BaseRoute], prefix: str) -> None:
    """Move the routes under `prefix` (the busiest) to the front, keeping every other order.

    Safe only when no route outside `prefix` can match a path under it; callers say why."""
    routes.sort(key=lambda route: not str(getattr(route, "path", "")).startswith(prefix))


def drop_default_422(schema: dict[str, Any], prefix: str) -> None:
    """Remove the `422 HTTPValidationError` FastAPI documents for every route with parameters
    from the operations under `prefix`, whose face answers bad parameters with its own 400
    (`invalid_parameter`); the two validation schemas go too when nothing else names them."""
    for path, operations in schema.get("paths", {}).items():
        if path.startswith(prefix):
            for operation in operations.values():
                response = operation.get("responses", {}).get("422", {})
                if "HTTPValidationError" in str(response):
                    del operation["responses"]["422"]
    components = schema.get("components", {}).get("schemas", {})
    rest = {k: v for k, v in schema.items() if k != "components"}
    if "HTTPValidationError" not in str(rest):
        components.pop("HTTPValidationError", None)
        if "#/components/schemas/ValidationError" not in str(components):
            components.pop("ValidationError", None)
