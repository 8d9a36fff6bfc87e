"""Who follows an issue: explicit subscriptions, and authors, assignees and commenters implicitly.

An explicit row wins either way: `subscribed=False` is an unsubscribe that outlasts later
comments or assignments (as on GitLab).
"""

from __future__ import annotations

from sqlalchemy import Boolean, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from issuegraph.db.models import Issue, IssueAssignee, IssueSubscription, Note
from issuegraph.db.sql import DriverQuery

# One statement: the explicit row if there is one, else author, assignee or commenter.
_ISSUE: BindParameter[int] = bindparam("issue_id")
_USER: BindParameter[int] = bindparam("user_id")
_SUBSCRIBED = DriverQuery(
    select(
        func.coalesce(
            select(IssueSubscription.subscribed)
            .where(IssueSubscription.issue_id == _ISSUE, IssueSubscription.user_id == _USER)
            .scalar_subquery(),
            bindparam("is_author", type_=Boolean)
            | exists().where(IssueAssignee.issue_id == _ISSUE, IssueAssignee.user_id == _USER)
            | exists().where(Note.issue_id == _ISSUE, Note.author_id == _USER, Note.system.is_(False)),
        )
    )
)


def is_subscribed(session: Session, issue: Issue, user_id: int | None) -> bool:
    if user_id is None:
        return False
    params = {"issue_id": issue.id, "user_id": user_id, "is_author": issue.author_id == user_id}
    return bool(_SUBSCRIBED.rows(session.connection(), params)[0][0])


def set_subscribed(session: Session, issue: Issue, user_id: int, subscribed: bool) -> bool:
    """Subscribe or unsubscribe; False when the user already was in that state (GitLab's 304)."""
    if is_subscribed(session, issue, user_id) == subscribed:
        return False
    session.execute(
        delete(IssueSubscription).where(
            IssueSubscription.issue_id == issue.id, IssueSubscription.user_id == user_id
        )
    )
    session.add(IssueSubscription(issue_id=issue.id, user_id=user_id, subscribed=subscribed))
    session.flush()
    return True


def followers(session: Session, issue_ids: list[int]) -> dict[int, set[int]]:
    """The users following each issue (explicit or implicit, minus explicit unsubscribes)."""
    if not issue_ids:
        return {}
    found: dict[int, set[int]] = {i: set() for i in issue_ids}
    for issue_id, user_id in session.execute(
        select(Issue.id, Issue.author_id).where(Issue.id.in_(issue_ids))
    ):
        found[issue_id].add(user_id)
    for issue_id, user_id in session.execute(
        select(IssueAssignee.issue_id, IssueAssignee.user_id).where(IssueAssignee.issue_id.in_(issue_ids))
    ):
        found[issue_id].add(user_id)
    for issue_id, commenter in session.execute(
        select(Note.issue_id, Note.author_id)
        .where(Note.issue_id.in_(issue_ids), Note.system.is_(False), Note.author_id.is_not(None))
        .distinct()
    ):
        if commenter is not None:
            found[issue_id].add(commenter)
    for issue_id, user_id, subscribed in session.execute(
        select(IssueSubscription.issue_id, IssueSubscription.user_id, IssueSubscription.subscribed).where(
            IssueSubscription.issue_id.in_(issue_ids)
        )
    ):
        (found[issue_id].add if subscribed else found[issue_id].discard)(user_id)
    return found
