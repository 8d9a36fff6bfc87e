"""SQL constructs shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

MAX_BIGINT = 2**63 - 1  # the largest id a BIGINT key (or an OFFSET) holds
MAX_INT = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL


class InIds(ColumnElement[bool]):
    """`column IN (...)` for a list of ids given at execution time as the parameter `name`.

    PostgreSQL gets `column = ANY(:name)` with one array parameter, so the statement text,
    psycopg's parsed query and the server's prepared plan are the same whatever the number
    of ids; other databases get an expanding `IN`.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" on databases without booleans
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str = "ids") -> None:
        self.column = column
        self.name = name


def in_ids(column: Any, name: str = "ids") -> InIds:
    return InIds(column, name)


@compiles(InIds)
def _expanding_in(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(InIds, "postgresql")
def _any_array(element: InIds, compiler: SQLCompiler, **kw: Any) -> str:
    ids = bindparam(element.name, type_=ARRAY(BigInteger()))
    return compiler.process(element.column == any_(ids), **kw)
