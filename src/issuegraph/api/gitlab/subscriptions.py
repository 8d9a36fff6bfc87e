"""GitLab issue subscriptions: `POST /projects/:id/issues/:iid/subscribe` and `/unsubscribe`.

201 with the issue (its `subscribed` field) on a change, 304 Not Modified when the caller
already was in that state, as on GitLab.
"""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.api.deps import get_actor, get_session
from issuegraph.api.gitlab import schemas
from issuegraph.api.gitlab import serializers as ser
from issuegraph.api.gitlab.dependencies import resource_router
from issuegraph.api.gitlab.params import iid_path, project_ref
from issuegraph.api.responses import json_response
from issuegraph.events import subscriptions
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues

router = resource_router()


def _set(project_id: str, issue_iid: str, actor: Actor, session: Session, subscribed: bool) -> Response:
    user = actor.require_user()
    issue, _ = issues.resolve_issue_in(session, actor, project_ref(project_id), iid_path(issue_iid))
    if not subscriptions.set_subscribed(session, issue, user.id, subscribed):
        return Response(status_code=304)
    return json_response(ser.issue(issues_repo.load_views(session, [issue])[0], subscribed=subscribed), 201)


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/subscribe",
    status_code=201,
    responses={201: {"model": schemas.Issue}, 304: {"description": "Already subscribed"}},
)
def subscribe(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    return _set(project_id, issue_iid, actor, session, True)


@router.post(
    "/projects/{project_id}/issues/{issue_iid}/unsubscribe",
    status_code=201,
    responses={201: {"model": schemas.Issue}, 304: {"description": "Not subscribed"}},
)
def unsubscribe(
    project_id: str,
    issue_iid: str,
    actor: Actor = Depends(get_actor),
    session: Session = Depends(get_session),
) -> Response:
    return _set(project_id, issue_iid, actor, session, False)
