"""What each page shows, gathered from the same services the APIs call.

No permission rule or query is written here again: every read goes through the projects,
issues, links and graph services (and the repositories their APIs use for the same facts);
tests/api/test_layers.py fails on SQL under web/ as under api/.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from issuegraph.accounts import repository as accounts_repo
from issuegraph.accounts.service import Actor
from issuegraph.db.models import Issue
from issuegraph.db.pagination import OffsetPage, Page, sort_keys
from issuegraph.domain.errors import NotFound
from issuegraph.domain.links import LinkType
from issuegraph.graph import repository as graph_repo
from issuegraph.graph import service as graph
from issuegraph.issues import repository as issues_repo
from issuegraph.issues import service as issues
from issuegraph.issues.service import IssueFilters
from issuegraph.links import service as links
from issuegraph.projects import repository as projects_repo
from issuegraph.projects import service as projects
from issuegraph.projects.service import ProjectAccess, access_by_project_ids, access_for

PER_PAGE = 20
PICKER_LIMIT = 10
# The issue page shows the latest entries of its activity and folds the earlier ones behind a
# "Show earlier activity" link (GitHub folds the middle of a long timeline the same way): an
# issue with hundreds of links has hundreds of system notes, and the page's cost should follow
# what a reader looks at. `?activity=all` shows everything.
TIMELINE_RECENT = 30

# The seven link types as read from the issue whose page it is, in the order shown.
LINK_GROUPS: list[tuple[LinkType, str]] = [
    (LinkType.BLOCKED_BY, "Blocked by"),
    (LinkType.BLOCKS, "Blocks"),
    (LinkType.SUBISSUE_OF, "Parent"),
    (LinkType.PARENT_OF, "Sub-issues"),
    (LinkType.DUPLICATES, "Duplicates"),
    (LinkType.DUPLICATED_BY, "Duplicated by"),
    (LinkType.RELATED_TO, "Related"),
]
LINK_TYPE_WORDS = {
    LinkType.BLOCKS: "blocks",
    LinkType.BLOCKED_BY: "is blocked by",
    LinkType.PARENT_OF: "is parent of",
    LinkType.SUBISSUE_OF: "is a sub-issue of",
    LinkType.DUPLICATES: "duplicates",
    LinkType.DUPLICATED_BY: "is duplicated by",
    LinkType.RELATED_TO: "relates to",
}


def issue_url(project_id: int, iid: int) -> str:
    return f"/-/projects/{project_id}/issues/{iid}"


# ---------------------------------------------------------------- projects and groups


@dataclass
class Counts:
    open: int
    ready: int
    blocked: int


def project_counts(session: Session, access: ProjectAccess) -> Counts:
    """Open issues, and how many of them are blocked by an open issue (the rest are ready)."""
    opened = issues.count_project_issues(session, access, IssueFilters(state="opened"))
    blocked = issues.count_project_issues(session, access, IssueFilters(state="opened", blocked=True))
    return Counts(opened, opened - blocked, blocked)


def group_counts(session: Session, actor: Actor, scope: graph.Scope) -> Counts:
    ids = scope.project_ids
    opened = issues.count_scope_issues(session, actor, ids, IssueFilters(state="opened"))
    blocked = issues.count_scope_issues(session, actor, ids, IssueFilters(state="opened", blocked=True))
    return Counts(opened, opened - blocked, blocked)


@dataclass
class ProjectRow:
    id: int
    name: str
    full_path: str
    visibility: str
    counts: Counts


@dataclass
class GroupRow:
    id: int
    name: str
    full_path: str
    counts: Counts


def home(session: Session, actor: Actor) -> tuple[list[ProjectRow], list[GroupRow]]:
    pairs = projects.list_projects(session, actor, page=OffsetPage(0, 100, sort_keys("path", False))).rows
    accesses = access_for(session, actor, pairs)
    project_rows = [
        ProjectRow(p.id, p.name, p.full_path, p.visibility, project_counts(session, accesses[p.id]))
        for p, _ns in pairs
    ]
    groups = projects.list_groups(
        session, actor, search=None, page=OffsetPage(0, 100, sort_keys("name", False))
    ).rows
    group_rows = []
    for group in groups:
        scope = graph.group_scope(session, actor, str(group.id))
        group_rows.append(
            GroupRow(group.id, group.name, group.full_path, group_counts(session, actor, scope))
        )
    return project_rows, group_rows


# ---------------------------------------------------------------- issue lists


@dataclass
class ListFilters:
    state: str = "opened"  # opened, closed, all
    label: str = ""
    assignee: str = ""
    search: str = ""
    work: str = ""  # "", ready, blocked
    page: int = 1

    def to_service(self) -> IssueFilters:
        f = IssueFilters()
        f.state = self.state if self.state in ("opened", "closed") else None
        if self.label:
            f.labels = [self.label]
        f.assignee_username = self.assignee or None
        f.search = self.search or None
        if self.work in ("ready", "blocked"):
            f.state = "opened"
            f.blocked = self.work == "blocked"
        return f

    def query_string(self, page: int) -> str:
        from urllib.parse import urlencode

        values = {
            "state": self.state,
            "label": self.label,
            "assignee": self.assignee,
            "search": self.search,
            "work": self.work,
            "page": str(page),
        }
        return urlencode({k: v for k, v in values.items() if v})


@dataclass
class IssueRow:
    url: str
    reference: str
    title: str
    state: str
    labels: list[str]
    assignees: list[str]
    open_blockers: int
    blocks_open: int


@dataclass
class IssueList:
    rows: list[IssueRow]
    total: int
    page: int
    pages: int


def _window(filters: ListFilters) -> OffsetPage:
    """The list's page, newest issues first."""
    return OffsetPage((max(1, filters.page) - 1) * PER_PAGE, PER_PAGE, sort_keys("id", descending=True))


def _issue_rows(session: Session, found: Page[Issue], filters: ListFilters, here: int | None) -> IssueList:
    page = max(1, filters.page)
    rows, total = found.rows, found.total or 0
    views = issues_repo.load_views(session, rows)
    blockers: dict[int, int] = {}
    for blocked_id, _node in graph_repo.open_blockers_of(session, [i.id for i in rows]):
        blockers[blocked_id] = blockers.get(blocked_id, 0) + 1
    out = []
    for view in views:
        issue = view.issue
        reference = f"#{issue.iid}" if issue.project_id == here else f"{view.project.full_path}#{issue.iid}"
        out.append(
            IssueRow(
                url=issue_url(issue.project_id, issue.iid),
                reference=reference,
                title=issue.title,
                state=issue.state,
                labels=[label.name for label in view.labels],
                assignees=[user.username for user in view.assignees],
                open_blockers=blockers.get(issue.id, 0),
                blocks_open=view.blocking_issues_count,
            )
        )
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    return IssueList(out, total, page, pages)


def project_issues(session: Session, access: ProjectAccess, filters: ListFilters) -> IssueList:
    found = issues.list_project_issues(session, access, filters.to_service(), _window(filters))
    return _issue_rows(session, found, filters, access.project.id)


def group_issues(session: Session, actor: Actor, scope: graph.Scope, filters: ListFilters) -> IssueList:
    found = issues.list_scope_issues(
        session, actor, scope.project_ids, filters.to_service(), _window(filters)
    )
    return _issue_rows(session, found, filters, None)


# ---------------------------------------------------------------- the issue page


@dataclass
class LinkRow:
    link_id: int
    reference: str
    title: str
    state: Markup  # the state and both URLs are made of enum values and integers: nothing to escape
    url: Markup


@dataclass
class TimelineEntry:
    author: str
    body: str
    system: bool
    created_at: Any
    when_iso: Markup  # digits and separators only: nothing to escape
    when_text: Markup


@dataclass
class IssuePage:
    issue: Issue
    access: ProjectAccess
    view: Any
    reference: str
    timeline: list[TimelineEntry]
    link_groups: list[tuple[str, str, list[LinkRow]]]  # (type value, heading, rows)
    rollup: dict[str, Any] | None
    can_update: bool
    can_link: bool
    link_count: int = 0
    close_warnings: list[str] = field(default_factory=list)
    earlier_activity: bool = False  # entries before the timeline's first are folded away


def _timeline(
    session: Session, actor: Actor, issue: Issue, everything: bool
) -> tuple[list[TimelineEntry], bool]:
    """The issue's activity, oldest first: the latest TIMELINE_RECENT entries unless `everything`,
    and whether earlier ones were left out."""
    notes, earlier = issues.timeline_rows(
        session, issue, actor, latest=None if everything else TIMELINE_RECENT
    )
    authors = accounts_repo.users_by_id(session, {n.author_id for n in notes if n.author_id})
    timeline = []
    for n in notes:
        at = n.created_at
        timeline.append(
            TimelineEntry(
                author=authors[n.author_id].username if n.author_id in authors else "ghost",
                body=n.body,
                system=bool(n.system),
                created_at=at,
                when_iso=Markup(at.isoformat()),
                when_text=Markup(f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"),
            )
        )
    return timeline, earlier


def issue_page(
    session: Session, actor: Actor, project_ref: str, iid: int, *, all_activity: bool = False
) -> IssuePage:
    issue, access = issues.resolve_issue_in(session, actor, project_ref, iid)
    view = issues_repo.load_views(session, [issue])[0]
    timeline, earlier = _timeline(session, actor, issue, all_activity)
    seen = links.list_links(session, actor, issue)
    accesses = access_by_project_ids(session, actor, {s.other.project_id for s in seen} | {issue.project_id})
    grouped: dict[LinkType, list[LinkRow]] = {t: [] for t, _ in LINK_GROUPS}
    for s in seen:
        grouped[s.link_type].append(
            LinkRow(
                link_id=s.link.id,
                reference=links.reference(s.other, accesses, issue.project_id),
                title=s.other.title,
                state=escape(s.other.state),
                url=Markup(issue_url(s.other.project_id, s.other.iid)),
            )
        )
    rollup = None
    if grouped[LinkType.PARENT_OF]:
        tree = graph.descendant_tree(session, actor, str(access.project.id), issue.iid)
        rollup = orjson.loads(orjson.dumps(tree))["root"]["rollup"]
    return IssuePage(
        issue=issue,
        access=access,
        view=view,
        reference=f"{access.project.full_path}#{issue.iid}",
        timeline=timeline,
        link_groups=[(t.value, heading, grouped[t]) for t, heading in LINK_GROUPS],
        rollup=rollup,
        can_update=actor.authenticated and access.can_update_issue(issue),
        can_link=access.can_link,
        link_count=len(seen),
        earlier_activity=earlier,
    )


def describe_close_warnings(
    session: Session, actor: Actor, project_id: int, items: list[dict[str, Any]]
) -> list[str]:
    """The close policy's list of what is still open, in words."""
    by_id = issues_repo.by_ids(session, [i["issue_id"] for i in items if "issue_id" in i])
    accesses = access_by_project_ids(session, actor, {i.project_id for i in by_id.values()} | {project_id})
    words = []
    for item in items:
        if item.get("reason") == "hidden":
            words.append(f"{item['count']} open issue(s) you cannot see")
            continue
        issue = by_id.get(item["issue_id"])
        if issue is None:
            continue
        kind = "open blocker" if item["reason"] == "open_blocker" else "open sub-issue"
        words.append(f"{kind} {links.reference(issue, accesses, project_id)}: {issue.title}")
    return words


# ---------------------------------------------------------------- the link target picker


_REF = re.compile(r"^(?P<path>[A-Za-z0-9_.\-/]*)#(?P<iid>\d{1,9})$")


def parse_target(text: str, here: ProjectAccess) -> tuple[str, int]:
    """`#12`, `12`, `group/project#12` -> (project ref, iid); NotFound for anything else."""
    text = text.strip()
    if text.isdigit() and len(text) <= 9:
        return str(here.project.id), int(text)
    match = _REF.match(text)
    if match is None:
        raise NotFound(
            "target_not_found", f"No issue matches {text!r}: pick one from the list or type #number"
        )
    return (match["path"] or str(here.project.id)), int(match["iid"])


@dataclass
class PickerItem:
    reference: str  # full reference, what the form submits
    title: str
    state: str


def search_targets(
    session: Session, actor: Actor, text: str, here: ProjectAccess, exclude_id: int
) -> list[PickerItem]:
    """Readable issues of every project matching `#iid`, a reference or words of the title."""
    text = text.strip()[:200]
    if not text:
        return []
    within: ProjectAccess | None = None
    match = _REF.match(text) or (re.match(r"^(?P<iid>\d{1,9})$", text) if text.isdigit() else None)
    if match is not None and match.groupdict().get("path"):
        try:
            within = projects.resolve_project(session, actor, match["path"])
        except NotFound:
            return []
    filters = IssueFilters(iids=[int(match["iid"])]) if match is not None else IssueFilters(search=text)
    rows = issues.find_link_targets(
        session,
        actor,
        filters,
        within=within,
        first_project_id=here.project.id,
        exclude_id=exclude_id,
        limit=PICKER_LIMIT,
    )
    paths = projects_repo.paths_by_id(session, {i.project_id for i in rows})
    return [PickerItem(f"{paths[i.project_id]}#{i.iid}", i.title, i.state) for i in rows]


# ---------------------------------------------------------------- graphs


def _node(step: dict[str, Any], node_id: str, kind: str) -> dict[str, Any]:
    if step.get("hidden"):
        return {
            "data": {"id": node_id, "label": "hidden", "title": "An issue you cannot see", "kind": "hidden"}
        }
    return {
        "data": {
            "id": node_id,
            "label": step["reference"],
            "title": step["title"],
            "state": step["state"],
            "kind": kind,
            "url": issue_url(step["project_id"], step["iid"]),
        }
    }


def issue_graph(
    session: Session, actor: Actor, project_ref: str, iid: int, *, depth: int, open_only: bool
) -> dict[str, Any]:
    """Cytoscape elements: the issue, its transitive blockers and what it blocks, each reached
    along the path the graph API gives; hidden steps are the API's opaque placeholder."""
    answers = [
        graph.related_by_blocks(
            session, actor, project_ref, iid, direction=d, depth=depth, open_only=open_only
        )
        for d in ("blockers", "blocking")
    ]
    start = answers[0]["issue"]
    nodes: dict[str, dict[str, Any]] = {str(start["id"]): _node(start, str(start["id"]), "self")}
    edges: dict[str, dict[str, Any]] = {}
    for answer in answers:
        upward = answer["direction"] == "blockers"
        for item in answer["items"]:
            path = item["path"]  # blocker -> ... -> blocked, both ends included
            toward_start = list(reversed(path)) if upward else path
            ids: list[str] = []
            for position, step in enumerate(toward_start):
                if step.get("hidden"):
                    # A placeholder is named by the way to it from the issue, never by its own id.
                    node_id = f"hidden:{answer['direction']}:{ids[position - 1]}"
                else:
                    node_id = str(step["id"])
                ids.append(node_id)
                nodes.setdefault(node_id, _node(step, node_id, "issue"))
            ordered = list(reversed(ids)) if upward else ids  # blocker first
            for source, target in itertools.pairwise(ordered):
                edge_id = f"{source}->{target}"
                edges[edge_id] = {"data": {"id": edge_id, "source": source, "target": target}}
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}


def project_graph_marks(session: Session, actor: Actor, access: ProjectAccess) -> dict[str, Any]:
    """What the project graph highlights: the critical path and the ready issues (ids)."""
    ready_ids = issues.project_issue_ids(session, access, IssueFilters(state="opened", blocked=False))
    critical = graph.critical_path(session, actor, str(access.project.id), by="count")
    chain = [step.get("id") for step in critical["chain"]]
    return {
        "ready": ready_ids,
        "critical_path": [i for i in chain if i is not None],
        "urls": f"/-/projects/{access.project.id}/issues/",
    }
