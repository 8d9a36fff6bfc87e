"""Pagination, one kit for every face: a page request in, the rows and what the headers need out.

A face translates its own parameters into an `OffsetPage` (GitLab's `page`/`per_page`, the
native webhook list's) or a `KeysetPage` (GitLab's `pagination=keyset`, SourceCraft's
`page_token`), naming sort fields as the service names them. The service applies the request
to its query with `fetch` and returns a `Page`: the rows, plus `total` (offset pages; one
`COUNT`) or `next_after` (keyset pages; the sort values of the last row when more rows follow).
The face turns those into its headers or tokens. Faces never see the query. (The graph's
ready/blocked cursors are not these: they page by issue id within their list, see
`graph.service.work_page`.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
Columns = Mapping[str, ColumnElement[Any] | QueryableAttribute[Any]]


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class OffsetPage:
    """Rows `offset` to `offset + limit` of the list sorted by `sort`, and the list's size."""

    offset: int
    limit: int
    sort: tuple[SortKey, ...] = ()  # should end with a unique field, so pages never overlap


@dataclass(frozen=True)
class KeysetPage:
    """Up to `size` rows after the position `after` (the sort values of the last row seen)."""

    size: int
    sort: tuple[SortKey, ...]  # must end with a unique field, so the order is total
    after: tuple[Any, ...] | None = None


PageRequest = OffsetPage | KeysetPage


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int | None = None  # offset pages: the size of the whole list
    next_after: tuple[Any, ...] | None = None  # keyset pages: where the next page starts, if any


def sort_keys(field: str, descending: bool, unique: str = "id") -> tuple[SortKey, ...]:
    """One sort field with the unique field as tie-break, in the same direction."""
    first = SortKey(field, descending)
    return (first,) if field == unique else (first, SortKey(unique, descending))


def attributes(row: Any, sort: Sequence[SortKey]) -> tuple[Any, ...]:
    """A row's sort values read from its attributes of the same names."""
    return tuple(getattr(row, key.field) for key in sort)


def count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    """The number of rows `query` returns: one `SELECT count(*)`, whatever the size."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def fetch(
    session: Session,
    query: Select[*tuple[Any, ...]],
    page: PageRequest,
    columns: Columns,
    *,
    values: Callable[[Any], tuple[Any, ...]] | None = None,
    scalars: bool = True,
) -> Page[Any]:
    """Run `query` for one page. `columns` maps sort field names to columns; `values` reads a
    row's sort values (default: its attributes of the sort fields' names); `scalars=False`
    keeps whole result rows (a query of several entities)."""
    run = session.scalars if scalars else session.execute
    if isinstance(page, OffsetPage):
        ordered = query.order_by(*_ordering(page.sort, columns)).offset(page.offset).limit(page.limit)
        return Page(rows=list(run(ordered)), total=count(session, query))
    rows = list(run(keyset_query(query, page, columns)))
    read = values or (lambda row: attributes(row, page.sort))
    return _finish(rows, page, read)


def keyset_query(
    query: Select[*tuple[Any, ...]], page: KeysetPage, columns: Columns
) -> Select[*tuple[Any, ...]]:
    """Order by the sort keys, start after the position `page.after`, read one extra row."""
    if page.after is not None:
        branches = []
        for i, key in enumerate(page.sort):
            column, value = columns[key.field], page.after[i]
            equal_prefix = [columns[k.field] == page.after[j] for j, k in enumerate(page.sort[:i])]
            beyond = column < value if key.descending else column > value
            branches.append(and_(*equal_prefix, beyond))
        query = query.where(or_(*branches))
    return query.order_by(*_ordering(page.sort, columns)).limit(page.size + 1)


def _ordering(sort: Sequence[SortKey], columns: Columns) -> list[Any]:
    return [columns[k.field].desc() if k.descending else columns[k.field].asc() for k in sort]


def _finish(rows: Sequence[T], page: KeysetPage, values: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    items = list(rows[: page.size])
    more = len(rows) > page.size
    return Page(rows=items, next_after=values(items[-1]) if more and items else None)


# ---------------------------------------------------------------- in memory


def _compare(a: Sequence[Any], b: Sequence[Any], sort: Sequence[SortKey]) -> int:
    for x, y, key in zip(a, b, sort, strict=True):
        if x != y:
            less = x < y
            return (1 if less else -1) if key.descending else (-1 if less else 1)
    return 0


def keyset_list(items: Sequence[T], page: KeysetPage, values: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    """The same keyset paging over a short list already in memory (an issue's links)."""

    def by_position(a: tuple[tuple[Any, ...], T], b: tuple[tuple[Any, ...], T]) -> int:
        return _compare(a[0], b[0], page.sort)

    keyed = sorted(((values(item), item) for item in items), key=cmp_to_key(by_position))
    if page.after is not None:
        after = page.after
        keyed = [pair for pair in keyed if _compare(pair[0], after, page.sort) > 0]
    return _finish([item for _, item in keyed[: page.size + 1]], page, values)
