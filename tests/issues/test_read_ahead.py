"""A link's two ends read in one statement (projects.service.resolve_project_and_issue `also`):
the read-ahead issue is handed out once, and forgotten at the session's next write."""

from __future__ import annotations

from issuegraph.accounts.service import authenticate, ensure_admin_token
from issuegraph.db.engine import Database
from issuegraph.issues import service as issues
from issuegraph.projects import service as projects
from tests.conftest import recorded_queries

TOKEN = "read-ahead-token-0123456789abcdef"


def _project(database: Database) -> int:
    with database.session() as session:
        ensure_admin_token(session, TOKEN)
        actor = authenticate(session, TOKEN)
        group = projects.create_group(session, actor, name="Ahead", path="ahead")
        project = projects.create_project(session, actor, name="p", path="p", namespace_id=group.id)
        access = projects.resolve_project(session, actor, project.id)
        for n in (1, 2):
            issues.create_issue(session, access, issues.IssueFields(title=f"issue {n}"))
        return project.id


def test_the_other_end_costs_no_statement_and_is_handed_out_once(database: Database) -> None:
    project_id = _project(database)
    with database.session() as session:
        actor = authenticate(session, TOKEN)
        with recorded_queries(database.engine) as statements:
            source, _ = issues.resolve_issue_in(session, actor, project_id, 1, also=2)
            target, _ = issues.resolve_issue_in(session, actor, project_id, 2)
        assert (source.iid, target.iid, len(statements)) == (1, 2, 1)
        with recorded_queries(database.engine) as statements:
            again = projects.issue_by_iid(session, project_id, 2)  # read again: a query
        assert again is target and len(statements) == 1


def test_a_read_ahead_miss_is_forgotten_at_the_next_write(database: Database) -> None:
    """An iid that named nothing when it was read ahead, then created in the same session, is
    found: the flush of the new issue drops the read-ahead answer."""
    project_id = _project(database)
    with database.session() as session:
        actor = authenticate(session, TOKEN)
        _, access = issues.resolve_issue_in(session, actor, project_id, 1, also=3)
        created = issues.create_issue(session, access, issues.IssueFields(title="issue 3"))
        assert created.iid == 3
        found = projects.issue_by_iid(session, project_id, 3)
        assert found is not None and found.id == created.id
