"""GitLab's probes, /-/health, /-/liveness and /-/readiness, and /-/metrics (ops.metrics).

`health` and `liveness` say the process answers; they touch nothing else, so a database outage
does not get the process restarted. `readiness` says whether this process can serve requests
now: the database answers and its schema is at the code's migration head. A load balancer
takes a process that is not ready out of rotation; it answers 503 with what failed, in the
shape of GitLab's readiness answer.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from issuegraph.db.engine import Database

router = APIRouter(include_in_schema=False)


@router.get("/-/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/-/liveness")
async def liveness() -> dict[str, str]:
    return {"status": "ok"}


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The migration heads this code expects (read from the migration scripts once)."""
    from alembic.script import ScriptDirectory

    from issuegraph.db.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def _checks(database: Database) -> dict[str, list[dict[str, Any]]]:
    session = database.request_session(write=False)
    try:
        versions = {row[0] for row in session.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception as exc:
        failed = {"status": "failed", "message": f"the database does not answer: {type(exc).__name__}"}
        return {"db_check": [failed]}
    finally:
        with contextlib.suppress(Exception):  # a dead connection is invalidated, not closed
            session.close()
    checks: dict[str, list[dict[str, Any]]] = {"db_check": [{"status": "ok"}]}
    expected = code_heads()
    if versions == expected:
        checks["migrations_check"] = [{"status": "ok"}]
    else:
        message = f"database at {sorted(versions) or 'no revision'}, code at {sorted(expected)}"
        checks["migrations_check"] = [{"status": "failed", "message": message}]
    return checks


@router.get("/-/readiness")
def readiness(request: Request) -> Response:
    checks = _checks(request.app.state.database)
    ready = all(check["status"] == "ok" for results in checks.values() for check in results)
    body = {"status": "ok" if ready else "failed", **checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/-/metrics")
def prometheus_metrics(request: Request) -> Response:
    """Prometheus exposition of every worker's metrics, plus the outbox backlog."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from issuegraph.ops import metrics

    database: Database = request.app.state.database
    outbox = metrics.OutboxCollector(metrics.outbox_reader(lambda: database.request_session(write=False)))
    return Response(metrics.render(outbox), media_type=CONTENT_TYPE_LATEST)
