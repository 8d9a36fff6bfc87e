"""Trusted import of a link: every rule of `service.create_link` holds, the source's time stays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from issuegraph.accounts.service import Actor
from issuegraph.db.models import Issue, IssueLink
from issuegraph.domain.links import LinkType
from issuegraph.links.service import create_link
from issuegraph.projects.service import ProjectAccess


def import_link(
    session: Session,
    actor: Actor,
    source: Issue,
    target: Issue,
    link_type: LinkType,
    *,
    created_at: datetime | None,
    author_id: int | None,
    accesses: dict[int, ProjectAccess] | None = None,
) -> Any:
    """Link as `create_link` does (lock, 409, cycles, parent, limit: its DomainErrors propagate),
    silently, then give the link the source's time and author and give both issues back the
    updated_at they had (a link's creation touches them; their import already set the source's)."""
    actor.require_admin()
    kept = {source.id: source.updated_at, target.id: target.updated_at}
    link = create_link(session, actor, source, target, link_type, silent=True, accesses=accesses)
    values: dict[str, Any] = {}
    if created_at is not None:
        values.update(created_at=created_at, updated_at=created_at)
    if author_id is not None:
        values["author_id"] = author_id
    # No ORM synchronisation: it would evaluate each UPDATE against every object of the session
    # (the importer holds a batch's issues: quadratic in the batch). The link is a record, not an
    # ORM object, and the two issues are given their value here.
    plain = {"synchronize_session": False}
    if values:
        session.execute(
            update(IssueLink).where(IssueLink.id == link.id).values(**values), execution_options=plain
        )
    for issue in (source, target):
        session.execute(
            update(Issue).where(Issue.id == issue.id).values(updated_at=kept[issue.id]),
            execution_options=plain,
        )
        set_committed_value(issue, "updated_at", kept[issue.id])
    return link
