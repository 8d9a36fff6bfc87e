"""Link use cases. Every rule about links lives here, once, for every face.

Check order (both faces): lock -> conflict (409) -> permission on both issues (403)
-> domain rules: self link, link limit, hierarchy, cycles (422 / 400) -> save.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from issuegraph.accounts.service import Actor
from issuegraph.activity import service as activity
from issuegraph.config import get_settings
from issuegraph.db import records
from issuegraph.db.models import Issue, IssueLink, utcnow
from issuegraph.domain.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from issuegraph.domain.links import NOTE_WORDING, UNLINK_WORDING, LinkType
from issuegraph.events import graph as graph_events
from issuegraph.issues import repository as issues_repo
from issuegraph.issues.service import readable_filter
from issuegraph.links import components
from issuegraph.links import repository as repo
from issuegraph.ops import metrics
from issuegraph.projects.service import ProjectAccess, access_by_project_ids

FORBIDDEN_MESSAGE = "Couldn't link issues. You must have at least the Guest role in both issue's projects."


class SeenLink(NamedTuple):
    """A link read from one of its issues: the other issue and the type from this side.

    `link` and `other` are read-only records (db.records) with the ORM attribute names."""

    link: Any
    other: Any
    link_type: LinkType


def reference(issue: Issue, accesses: dict[int, ProjectAccess], from_project_id: int) -> str:
    """GitLab's issue reference, relative to the project the text is shown in."""
    if issue.project_id == from_project_id:
        return f"#{issue.iid}"
    target = accesses[issue.project_id]
    here = accesses.get(from_project_id)
    if here is not None and here.namespace.id == target.namespace.id:
        return f"{target.project.path}#{issue.iid}"
    return f"{target.project.full_path}#{issue.iid}"


def _accesses(
    session: Session, actor: Actor, issues: list[Issue], given: dict[int, ProjectAccess] | None
) -> dict[int, ProjectAccess]:
    accesses = dict(given or {})
    missing = {i.project_id for i in issues} - accesses.keys()
    if missing:
        accesses.update(access_by_project_ids(session, actor, missing))
    return accesses


@metrics.counts_links
def create_link(
    session: Session,
    actor: Actor,
    source: Issue,
    target: Issue,
    link_type: LinkType,
    *,
    silent: bool = False,
    accesses: dict[int, ProjectAccess] | None = None,
) -> Any:
    """Link `source` to `target` with `link_type` as read from `source`; returns the new link
    as a read-only record (db.records)."""
    user = actor.require_write()
    limit = get_settings().max_links_per_issue
    persisted, swap = link_type.canonical()
    src, tgt = (target, source) if swap else (source, target)
    issues_repo.lock_issues(session, [src.id, tgt.id])
    accesses = _accesses(session, actor, [src, tgt], accesses)
    permitted = accesses[src.project_id].can_link and accesses[tgt.project_id].can_link
    # A related_to link between two issues the caller may link has only the pair and the link
    # limit left to check, and the insert checks both itself (the rows are locked): one
    # statement on PostgreSQL. Every other case checks first, in the documented order.
    checked_by_insert = persisted == LinkType.RELATED_TO and permitted and src.id != tgt.id
    held = None
    if not checked_by_insert:
        if persisted != LinkType.RELATED_TO:  # the graph rules read the issues' components
            held = components.lock(session, persisted.value, src.id, tgt.id)
        _check_before_insert(session, actor, src, tgt, target, persisted, accesses, permitted, limit)

    now = utcnow()
    on_source, on_target = NOTE_WORDING[persisted]
    new = repo.NewLink(
        values={
            "source_id": src.id,
            "target_id": tgt.id,
            "link_type": persisted.value,
            "pair_lo": min(src.id, tgt.id),
            "pair_hi": max(src.id, tgt.id),
            "author_id": user.id,
            "created_at": now,
            "updated_at": now,
        },
        source_note=on_source.format(ref=reference(tgt, accesses, src.project_id)),
        target_note=on_target.format(ref=reference(src, accesses, tgt.project_id)),
        event_project_id=source.project_id,
        event_issue_id=source.id,
        silent=silent,
        payload={"source_id": src.id, "target_id": tgt.id, "link_type": persisted.value},
    )
    link_id = repo.insert_with_records(session, new, limit)
    if link_id is None:
        if checked_by_insert:  # tell which check refused it, as the other path would have
            _check_before_insert(session, actor, src, tgt, target, persisted, accesses, permitted, limit)
        raise _refusal_for_unique_rule(session, src, tgt, persisted)
    components.joined(session, held)
    repo.touched_in_session(session, [src.id, tgt.id], now)
    if persisted == LinkType.BLOCKS:
        graph_events.after_blocks_link(session, src, tgt, created=True, actor_id=user.id, silent=silent)
    return records.LINK.make(new.values[c.key] if c.key != "id" else link_id for c in records.LINK.columns)


def _check_before_insert(
    session: Session,
    actor: Actor,
    src: Issue,
    tgt: Issue,
    target: Issue,
    persisted: LinkType,
    accesses: dict[int, ProjectAccess],
    permitted: bool,
    limit: int,
) -> None:
    """The checks, in order: conflict (409), permission (403), self link, graph rules, limit."""
    existing_id, src_links, tgt_links = repo.pair_and_degrees(session, src.id, tgt.id)
    if existing_id is not None:
        raise Conflict(
            "link_exists", "Issue(s) already assigned", details={"issue_link_id": str(existing_id)}
        )
    if not permitted:
        raise Forbidden("link_forbidden", FORBIDDEN_MESSAGE)
    if src.id == tgt.id:
        raise RuleViolation("self_link", "cannot be related to itself", details={"iid": str(target.iid)})
    # Hierarchy and cycle rules first, so a parent's 101st child hears about the child limit.
    try:
        _check_graph_rules(session, actor, src, tgt, persisted, accesses)
    except RuleViolation as refusal:
        refusal.details["iid"] = str(target.iid)  # GitLab words it "#<target iid> cannot be added"
        raise
    if max(src_links, tgt_links) >= limit:
        raise RuleViolation(
            "link_limit",
            f"This issue would exceed the maximum number of linked issues ({limit}).",
            details={"iid": str(target.iid), "limit": str(limit)},
        )


def _refusal_for_unique_rule(session: Session, src: Issue, tgt: Issue, persisted: LinkType) -> DomainError:
    """The database refused the row although the checks passed: a concurrent writer won."""
    existing = repo.find_pair(session, src.id, tgt.id)
    if existing is not None:
        return Conflict(
            "link_exists", "Issue(s) already assigned", details={"issue_link_id": str(existing.id)}
        )
    if persisted == LinkType.PARENT_OF:
        return RuleViolation(
            "already_has_parent", "issue already has a parent", details={"iid": str(tgt.iid)}
        )
    return RuleViolation("already_duplicate", "issue is already marked as a duplicate of another issue")


def _check_graph_rules(
    session: Session,
    actor: Actor,
    src: Issue,
    tgt: Issue,
    persisted: LinkType,
    accesses: dict[int, ProjectAccess],
) -> None:
    settings = get_settings()
    if persisted == LinkType.PARENT_OF:
        if repo.parent_of(session, tgt.id) is not None:
            raise RuleViolation(
                "already_has_parent", "issue already has a parent", details={"iid": str(tgt.iid)}
            )
        if repo.reaches(session, tgt.id, src.id, "parent_of"):
            raise _cycle(session, actor, src, tgt, "parent_of", "would create a hierarchy cycle")
        if repo.children_count(session, src.id) >= settings.max_children:
            raise RuleViolation(
                "max_children",
                f"parent would exceed the maximum number of sub-issues ({settings.max_children})",
                details={"limit": str(settings.max_children)},
            )
        levels = repo.ancestor_count(session, src.id) + 2 + repo.subtree_height(session, tgt.id)
        if levels > settings.max_depth:
            raise RuleViolation(
                "max_depth",
                f"hierarchy would exceed the maximum depth ({settings.max_depth} levels)",
                details={"limit": str(settings.max_depth), "levels": str(levels)},
            )
    elif persisted == LinkType.BLOCKS:
        if repo.reaches(session, tgt.id, src.id, "blocks"):
            raise _cycle(session, actor, src, tgt, "blocks", "would create a blocking cycle")
    elif persisted == LinkType.DUPLICATES:
        if repo.canonical_of(session, src.id) is not None:
            raise RuleViolation(
                "already_duplicate",
                "issue is already marked as a duplicate of another issue",
                details={"iid": str(src.iid)},
            )
        if repo.reaches(session, tgt.id, src.id, "duplicates"):
            raise _cycle(session, actor, src, tgt, "duplicates", "would create a duplicate cycle")


def _cycle(session: Session, actor: Actor, src: Issue, tgt: Issue, kind: str, words: str) -> RuleViolation:
    """The refusal names the cycle; issues the caller cannot read appear as '(hidden)'."""
    chain = [src.id, *repo.path(session, tgt.id, src.id, kind)]
    issues = issues_repo.by_ids(session, chain)
    visible = {i.id for i in readable_filter(session, actor, list(issues.values()))}
    accesses = access_by_project_ids(session, actor, {i.project_id for i in issues.values()})
    refs = [reference(issues[i], accesses, src.project_id) if i in visible else "(hidden)" for i in chain]
    verb = {"blocks": " blocks ", "parent_of": " is parent of ", "duplicates": " duplicates "}[kind]
    return RuleViolation(
        f"{kind}_cycle" if kind != "parent_of" else "hierarchy_cycle",
        f"{words}: {verb.join(refs)}",
        details={"path": " -> ".join(refs)},
    )


def list_links(session: Session, actor: Actor, issue: Issue) -> list[SeenLink]:
    """The issue's links whose other issue the caller can read, by link id."""
    rows = repo.links_with_others(session, issue.id)
    readable = {i.id for i in readable_filter(session, actor, [other for _, other in rows])}
    seen = []
    for link, other in rows:
        if other.id in readable:
            from_source, from_target = _SEEN_AS[link.link_type]
            seen.append(SeenLink(link, other, from_source if link.source_id == issue.id else from_target))
    return seen


# A stored link_type read from its source and from its target (an Enum call per row is slow).
_SEEN_AS = {kind.value: (kind, kind.inverse) for kind in LinkType}


def resolve_link(
    session: Session, actor: Actor, issue: Issue, link_id: int
) -> tuple[IssueLink, Issue, Issue]:
    """A link of `issue` whose other issue the caller can read: (link, source, target)."""
    link = repo.get(session, link_id)
    if link is None or issue.id not in (link.source_id, link.target_id):
        raise NotFound("link_not_found", "404 Not found")
    return _check_other_side(session, actor, link, issue)


def resolve_link_by_id(session: Session, actor: Actor, link_id: int) -> tuple[IssueLink, Issue, Issue]:
    """A link both of whose issues the caller can read."""
    link = repo.get(session, link_id)
    if link is None:
        raise NotFound("link_not_found", "link not found")
    issues = issues_repo.by_ids(session, [link.source_id, link.target_id])
    if len(readable_filter(session, actor, list(issues.values()))) != len(issues):
        raise NotFound("link_not_found", "link not found")
    return link, issues[link.source_id], issues[link.target_id]


def _check_other_side(
    session: Session, actor: Actor, link: IssueLink, issue: Issue
) -> tuple[IssueLink, Issue, Issue]:
    other_id = link.target_id if link.source_id == issue.id else link.source_id
    other = issues_repo.by_ids(session, [other_id])[other_id]
    access = access_by_project_ids(session, actor, [other.project_id])[other.project_id]
    # A link whose other issue is hidden answers exactly as a link that does not exist: naming
    # its project (404 Project Not Found) would tell a private project's link from no link.
    if not access.can_read or not readable_filter(session, actor, [other]):
        raise NotFound("link_not_found", "404 Not found")
    source, target = (issue, other) if link.source_id == issue.id else (other, issue)
    return link, source, target


def delete_link(
    session: Session, actor: Actor, link: IssueLink, source: Issue, target: Issue, *, silent: bool = False
) -> None:
    """Remove a link; needs link permission on both issues."""
    user = actor.require_write()
    accesses = access_by_project_ids(session, actor, {source.project_id, target.project_id})
    if not (accesses[source.project_id].can_link and accesses[target.project_id].can_link):
        raise Forbidden("unlink_forbidden", "No Issue Link found")
    repo.remove(session, link.id)
    if link.link_type == LinkType.BLOCKS.value:
        blocker, blocked = (source, target) if link.source_id == source.id else (target, source)
        graph_events.after_blocks_link(
            session, blocker, blocked, created=False, actor_id=user.id, silent=silent
        )
    activity.add_system_notes(
        session,
        [
            {
                "issue_id": source.id,
                "referenced_issue_id": target.id,
                "author_id": user.id,
                "system_action": "unrelate",
                "body": UNLINK_WORDING.format(ref=reference(target, accesses, source.project_id)),
            },
            {
                "issue_id": target.id,
                "referenced_issue_id": source.id,
                "author_id": user.id,
                "system_action": "unrelate",
                "body": UNLINK_WORDING.format(ref=reference(source, accesses, target.project_id)),
            },
        ],
    )
    repo.touch(session, [source.id, target.id])
    activity.record_event(
        session,
        "issue_link.delete",
        source.project_id,
        source.id,
        link.id,
        user.id,
        silent,
        {"source_id": source.id, "target_id": target.id, "link_type": link.link_type},
    )
