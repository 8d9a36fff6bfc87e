"""Who follows an issue: explicit subscriptions, and authors, assignees and commenters implicitly.

An explicit row wins either way: `subscribed=False` is an unsubscribe that outlasts later
comments or assignments (as on GitLab).
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from issuegraph.db.models import Issue, IssueAssignee, IssueSubscription, Note


def _implicit(session: Session, issue: Issue, user_id: int) -> bool:
    if issue.author_id == user_id:
        return True
    assigned = select(IssueAssignee.user_id).where(
        IssueAssignee.issue_id == issue.id, IssueAssignee.user_id == user_id
    )
    commented = select(Note.id).where(
        Note.issue_id == issue.id, Note.author_id == user_id, Note.system.is_(False)
    )
    return bool(session.scalar(select(exists(assigned) | exists(commented))))


def is_subscribed(session: Session, issue: Issue, user_id: int | None) -> bool:
    if user_id is None:
        return False
    explicit = session.scalar(
        select(IssueSubscription.subscribed).where(
            IssueSubscription.issue_id == issue.id, IssueSubscription.user_id == user_id
        )
    )
    if explicit is not None:
        return bool(explicit)
    return _implicit(session, issue, user_id)


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
