"""One place that sees every request end: the access log record and the request metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from issuegraph.ops import metrics

access_log = logging.getLogger("issuegraph.access")


class ObserveMiddleware:
    """Times each HTTP request and, when its response has ended (or its handler failed), logs
    it and counts it under its route template (`/api/v4/projects/{project_id}/issues`), never
    its raw path, so the metrics' label sets stay bounded."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_observed(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    @staticmethod
    def _observe(scope: dict[str, Any], status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "<unmatched>"
        method = scope["method"]
        observed = metrics.get()
        observed.http_requests.labels(method, route, str(status)).inc()
        observed.http_latency.labels(method, route).observe(seconds)
        if status == 503:
            observed.db_unavailable.inc()
        if not access_log.isEnabledFor(logging.INFO):
            return
        state = scope.get("state") or {}
        actor = state.get("actor")
        access_log.info(
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "request_id": state.get("request_id"),
                "method": method,
                "route": route,
                "path": scope.get("path"),
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user_id": getattr(actor, "user_id", None),
                "error_code": state.get("error_code"),
            },
        )
