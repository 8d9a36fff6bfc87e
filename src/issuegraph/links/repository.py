"""All queries about issue links, including the graph checks the rules need."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from issuegraph.activity import service as activity
from issuegraph.db import records
from issuegraph.db.models import BigId, Event, Issue, IssueLink, Note, utcnow
from issuegraph.db.sql import DriverQuery, in_ids


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def find_pair(session: Session, a: int, b: int) -> IssueLink | None:
    lo, hi = pair(a, b)
    return session.scalar(select(IssueLink).where(IssueLink.pair_lo == lo, IssueLink.pair_hi == hi))


def _degree(name: str) -> ScalarSelect[int]:
    issue: BindParameter[int] = bindparam(name)
    return (
        select(func.count())
        .where(or_(IssueLink.source_id == issue, IssueLink.target_id == issue))
        .scalar_subquery()
    )


_PAIR_AND_DEGREES = select(
    select(IssueLink.id)
    .where(IssueLink.pair_lo == bindparam("lo"), IssueLink.pair_hi == bindparam("hi"))
    .scalar_subquery(),
    _degree("a"),
    _degree("b"),
)


# Core statements on the tables (not ORM-enabled): the create path runs them on every link.
_INSERT = {
    "postgresql": pg_insert(records.LINK.table).on_conflict_do_nothing().returning(records.LINK.table.c.id),
    "sqlite": sqlite_insert(records.LINK.table).on_conflict_do_nothing().returning(records.LINK.table.c.id),
}


def pair_and_degrees(session: Session, a: int, b: int) -> tuple[int | None, int, int]:
    """In one query: the id of the link between a and b (None if unlinked), and each one's link count."""
    lo, hi = pair(a, b)
    existing, degree_a, degree_b = (
        session.connection().execute(_PAIR_AND_DEGREES, {"lo": lo, "hi": hi, "a": a, "b": b}).one()
    )
    return existing, int(degree_a), int(degree_b)


def insert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert a link row and return its id, or None if a unique rule forbids it.

    The unique rules are the pair, one parent per issue and one canonical issue per duplicate.
    A refused row is no error, so the transaction stays usable without a SAVEPOINT.
    """
    conn = session.connection()
    result: int | None = conn.execute(_INSERT[conn.dialect.name], values).scalar()
    return result


_LINK_T, _ISSUE_T = records.LINK.table, records.ISSUE.table
_LINKS_WITH_OTHERS = DriverQuery(
    select(*records.LINK.columns, *records.ISSUE.columns)
    .join(
        _ISSUE_T,
        _ISSUE_T.c.id
        == case((_LINK_T.c.source_id == bindparam("issue"), _LINK_T.c.target_id), else_=_LINK_T.c.source_id),
    )
    .where(or_(_LINK_T.c.source_id == bindparam("issue"), _LINK_T.c.target_id == bindparam("issue")))
    .order_by(_LINK_T.c.id)
)


def links_with_others(session: Session, issue_id: int) -> list[tuple[Any, Any]]:
    """Every link of an issue, in both directions, each with the issue at its other end, by link
    id: (link record, issue record) pairs (see db.records), read in one Core query."""
    width = len(records.LINK.columns)
    rows = _LINKS_WITH_OTHERS.rows(session.connection(), {"issue": issue_id})
    return [(records.LINK.cut(row), records.ISSUE.cut(row, width)) for row in rows]


def get(session: Session, link_id: int) -> IssueLink | None:
    return session.get(IssueLink, link_id)


def _reach(link_type: str) -> CTE:
    """Recursive CTE: every issue reachable from :start over links of this type (start included)."""
    reach = select(bindparam("start", type_=BigId).label("id")).cte("reach", recursive=True)
    return reach.union(
        select(IssueLink.target_id)
        .join(reach, IssueLink.source_id == reach.c.id)
        .where(IssueLink.link_type == link_type)
    )


_REACHES = {
    kind: select(func.count()).select_from(reach).where(reach.c.id == bindparam("goal"))
    for kind, reach in ((kind, _reach(kind)) for kind in ("blocks", "parent_of", "duplicates"))
}


def reaches(session: Session, start: int, goal: int, link_type: str) -> bool:
    """Is there a directed path start -> ... -> goal over links of this type?"""
    return bool(session.scalar(_REACHES[link_type], {"start": start, "goal": goal}))


def path(session: Session, start: int, goal: int, link_type: str) -> list[int]:
    """One shortest directed path start -> goal (inclusive); [] if none."""
    reach = select(literal(start, BigId).label("id")).cte("reach", recursive=True)
    reach = reach.union(
        select(IssueLink.target_id)
        .join(reach, IssueLink.source_id == reach.c.id)
        .where(IssueLink.link_type == link_type)
    )
    edges = session.execute(
        select(IssueLink.source_id, IssueLink.target_id).where(
            IssueLink.link_type == link_type, IssueLink.source_id.in_(select(reach.c.id))
        )
    ).all()
    succ: dict[int, list[int]] = {}
    for s, t in edges:
        succ.setdefault(s, []).append(t)
    prev: dict[int, int] = {}
    queue, seen = deque([start]), {start}
    while queue:
        node = queue.popleft()
        if node == goal:
            chain = [goal]
            while chain[-1] != start:
                chain.append(prev[chain[-1]])
            return chain[::-1]
        for nxt in sorted(succ.get(node, [])):
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                queue.append(nxt)
    return []


def parent_of(session: Session, child_id: int) -> int | None:
    return session.scalar(
        select(IssueLink.source_id).where(IssueLink.target_id == child_id, IssueLink.link_type == "parent_of")
    )


def ancestor_count(session: Session, issue_id: int) -> int:
    """How many ancestors an issue has (0 for a root)."""
    up = select(literal(issue_id, BigId).label("id"), literal(0).label("depth")).cte("up", recursive=True)
    up = up.union_all(
        select(IssueLink.source_id, up.c.depth + 1)
        .join(up, IssueLink.target_id == up.c.id)
        .where(IssueLink.link_type == "parent_of", up.c.depth < 64)
    )
    return int(session.scalar(select(func.max(up.c.depth))) or 0)


def subtree_height(session: Session, issue_id: int) -> int:
    """Levels below an issue (0 for a leaf)."""
    down = select(literal(issue_id, BigId).label("id"), literal(0).label("depth")).cte("down", recursive=True)
    down = down.union_all(
        select(IssueLink.target_id, down.c.depth + 1)
        .join(down, IssueLink.source_id == down.c.id)
        .where(IssueLink.link_type == "parent_of", down.c.depth < 64)
    )
    return int(session.scalar(select(func.max(down.c.depth))) or 0)


def children_count(session: Session, parent_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(IssueLink.source_id == parent_id, IssueLink.link_type == "parent_of")
        )
        or 0
    )


def canonical_of(session: Session, issue_id: int) -> int | None:
    return session.scalar(
        select(IssueLink.target_id).where(
            IssueLink.source_id == issue_id, IssueLink.link_type == "duplicates"
        )
    )


# Core, not ORM-enabled: no scan of the session for objects to synchronise (touch() sets them).
_ISSUES = cast(Table, Issue.__table__)
_TOUCH = update(_ISSUES).where(in_ids(_ISSUES.c.id)).values(updated_at=bindparam("now"))


def touch(session: Session, ids: Iterable[int]) -> None:
    """Set updated_at of these issues, in the database and on the ones this session holds."""
    now = utcnow()
    wanted = sorted(set(ids))
    session.connection().execute(_TOUCH, {"ids": wanted, "now": now})
    touched_in_session(session, wanted, now)


def remove(session: Session, link_id: int) -> None:
    session.execute(delete(IssueLink).where(IssueLink.id == link_id))


# ---------------------------------------------------------------- a new link and its records, at once

_LINKS, _NOTES, _EVENTS = records.LINK.table, cast(Table, Note.__table__), cast(Table, Event.__table__)
_LINK_COLUMNS = ["source_id", "target_id", "link_type", "pair_lo", "pair_hi", "author_id", "created_at"]


def _typed(name: str, column: Any) -> BindParameter[Any]:
    """A parameter typed as `column`. Its name gets a prefix: executing a statement passes its
    parameter names down as column keys, and a DML CTE would take a name that matches one of
    its table's columns as a column to set."""
    return bindparam(f"new_{name}", type_=column.type)


def _degree_below_limit(issue: str) -> ColumnElement[bool]:
    count = (
        select(func.count())
        .where(
            or_(
                _LINKS.c.source_id == _typed(issue, _LINKS.c.source_id),
                _LINKS.c.target_id == _typed(issue, _LINKS.c.target_id),
            )
        )
        .scalar_subquery()
    )
    return count < bindparam("new_max_links", type_=Integer())


def _change_statement() -> Select[int]:
    """PostgreSQL: the link row, both system notes, both issues' updated_at and the outbox event
    in one statement (data-modifying CTEs). The link is inserted only if neither issue has reached
    the link limit and no unique rule refuses it; the other writes happen only if it was."""
    link = (
        pg_insert(_LINKS)
        .from_select(
            [*_LINK_COLUMNS, "updated_at"],
            select(
                *(_typed(name, _LINKS.c[name]) for name in _LINK_COLUMNS),
                _typed("created_at", _LINKS.c.updated_at),
            ).where(_degree_below_limit("source_id"), _degree_below_limit("target_id")),
            include_defaults=False,
        )
        .on_conflict_do_nothing()
        .returning(_LINKS.c.id)
        .cte("new_link")
    )
    note_columns = ["issue_id", "author_id", "body", "system", "system_action", "created_at", "updated_at"]

    def note(issue: str, body: str) -> Select[Any]:
        return select(
            _typed(issue, _NOTES.c.issue_id),
            _typed("author_id", _NOTES.c.author_id),
            _typed(body, _NOTES.c.body),
            true(),
            literal_column("'relate'"),
            _typed("created_at", _NOTES.c.created_at),
            _typed("created_at", _NOTES.c.updated_at),
        ).select_from(link)

    notes = (
        pg_insert(_NOTES)
        .from_select(
            note_columns,
            union_all(note("source_id", "source_note"), note("target_id", "target_note")),
            include_defaults=False,
        )
        .cte("new_notes")
    )
    touched = (
        update(_ISSUES)
        .where(
            _ISSUES.c.id.in_([_typed("source_id", _ISSUES.c.id), _typed("target_id", _ISSUES.c.id)]),
            select(link.c.id).exists(),
        )
        .values(updated_at=_typed("created_at", _ISSUES.c.updated_at))
        .cte("touched")
    )
    event_columns = [
        "kind",
        "project_id",
        "issue_id",
        "link_id",
        "actor_id",
        "silent",
        "payload",
        "created_at",
    ]
    event = (
        pg_insert(_EVENTS)
        .from_select(
            event_columns,
            select(
                literal_column("'issue_link.create'"),
                _typed("event_project_id", _EVENTS.c.project_id),
                _typed("event_issue_id", _EVENTS.c.issue_id),
                link.c.id,
                _typed("author_id", _EVENTS.c.actor_id),
                _typed("silent", _EVENTS.c.silent),
                _typed("payload", _EVENTS.c.payload),
                _typed("created_at", _EVENTS.c.created_at),
            ).select_from(link),
            include_defaults=False,
        )
        .cte("new_event")
    )
    return select(link.c.id).add_cte(notes, touched, event)


_CHANGE = _change_statement()


@dataclass(frozen=True)
class NewLink:
    """Everything a link creation writes: the row's values, both system notes, the event."""

    values: dict[str, Any]  # the issue_links row without its id
    source_note: str
    target_note: str
    event_project_id: int | None
    event_issue_id: int | None
    silent: bool
    payload: dict[str, Any]


def insert_with_records(session: Session, new: NewLink, max_links: int) -> int | None:
    """Insert the link unless either issue already has `max_links` links or a unique rule refuses
    it, and with it the system notes on both issues, both issues' updated_at and the outbox event.
    Returns the link's id, or None when nothing was written.

    One statement on PostgreSQL; SQLite (no data-modifying CTEs) makes the same writes one by one
    through the usual functions, inside its write transaction, which is already serial."""
    conn = session.connection()
    v = new.values
    if conn.dialect.name == "postgresql":
        params = {
            **{f"new_{name}": v[name] for name in _LINK_COLUMNS},
            "new_max_links": max_links,
            "new_source_note": new.source_note,
            "new_target_note": new.target_note,
            "new_event_project_id": new.event_project_id,
            "new_event_issue_id": new.event_issue_id,
            "new_silent": new.silent,
            "new_payload": new.payload,
        }
        link_id: int | None = conn.execute(_CHANGE, params).scalar()
        return link_id
    _, source_links, target_links = pair_and_degrees(session, v["source_id"], v["target_id"])
    if max(source_links, target_links) >= max_links:
        return None
    link_id = insert(session, v)
    if link_id is None:
        return None
    note = {"author_id": v["author_id"], "system_action": "relate", "created_at": v["created_at"]}
    activity.add_system_notes(
        session,
        [
            {**note, "issue_id": v["source_id"], "body": new.source_note, "updated_at": v["created_at"]},
            {**note, "issue_id": v["target_id"], "body": new.target_note, "updated_at": v["created_at"]},
        ],
    )
    conn.execute(_TOUCH, {"ids": sorted({v["source_id"], v["target_id"]}), "now": v["created_at"]})
    activity.record_event(
        session,
        "issue_link.create",
        new.event_project_id,
        new.event_issue_id,
        link_id,
        v["author_id"],
        new.silent,
        new.payload,
    )
    return link_id


def touched_in_session(session: Session, ids: Iterable[int], now: Any) -> None:
    """Show a new updated_at on the issues of `ids` this session holds (the database has it)."""
    for issue_id in set(ids):
        issue = session.identity_map.get(identity_key(Issue, issue_id))
        if issue is not None:
            set_committed_value(issue, "updated_at", now)
