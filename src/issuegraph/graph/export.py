"""Streamed export of a project's or group's graph as JSON, Graphviz DOT or Mermaid.

Rows come from server-side cursors (``yield_per``) and leave as ~64 KB chunks, so
memory stays flat whatever the size of the project. Only issues the caller can read
are written, and only links whose two issues are written (a link to an issue outside
the scope, or to a hidden one, is left out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy.orm import Session

from issuegraph.graph import repository as repo
from issuegraph.graph.repository import Node
from issuegraph.graph.service import Scope, ref

CHUNK_BYTES = 64 * 1024
PROGRESS_EVERY = 1000


class ExportFormat(StrEnum):
    JSON = "json"
    DOT = "dot"
    MERMAID = "mermaid"


MEDIA_TYPES = {
    ExportFormat.JSON: "application/json",
    ExportFormat.DOT: "text/vnd.graphviz; charset=utf-8",
    ExportFormat.MERMAID: "text/plain; charset=utf-8",
}
EXTENSIONS = {ExportFormat.JSON: "json", ExportFormat.DOT: "dot", ExportFormat.MERMAID: "mmd"}

# progress(kind, rows_since_last_call) with kind "nodes" or "edges"
Progress = Callable[[str, int], None]


# ---------------------------------------------------------------- writers


class _Json:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.first = True

    def head(self) -> bytes:
        meta = orjson.dumps({"format": "issuegraph.graph/v1", "scope": self.scope.describe()})
        return meta[:-1] + b',"nodes":['

    def node(self, node: Node) -> bytes:
        return self._item(orjson.dumps(ref(node)))

    def middle(self) -> bytes:
        self.first = True
        return b'\n],"edges":['

    def edge(self, link_id: int, source: int, target: int, link_type: str) -> bytes:
        return self._item(
            orjson.dumps({"id": link_id, "source": source, "target": target, "type": link_type})
        )

    def tail(self) -> bytes:
        return b"\n]}\n"

    def _item(self, data: bytes) -> bytes:
        if self.first:
            self.first = False
            return b"\n" + data
        return b",\n" + data


def _dot_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


_DOT_EDGE = {
    "blocks": 'label="blocks", color="firebrick"',
    "parent_of": 'label="parent of", color="steelblue"',
    "duplicates": 'label="duplicates", style="dotted"',
    "related_to": 'label="related", dir="none", style="dashed", color="gray40"',
}


class _Dot:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def head(self) -> bytes:
        name = _dot_text(self.scope.full_path)
        return (
            f'digraph "{name}" {{\n'
            f'  graph [label="{name}", rankdir="LR"];\n'
            '  node [shape="box", style="rounded"];\n'
        ).encode()

    def node(self, node: Node) -> bytes:
        label = _dot_text(f"{node.reference}: {node.title}")
        extra = ', fontcolor="gray50", color="gray70"' if not node.is_open else ""
        return f'  i{node.id} [label="{label}"{extra}];\n'.encode()

    def middle(self) -> bytes:
        return b""

    def edge(self, link_id: int, source: int, target: int, link_type: str) -> bytes:
        style = _DOT_EDGE.get(link_type) or f'label="{_dot_text(link_type)}"'
        return f"  i{source} -> i{target} [{style}];\n".encode()

    def tail(self) -> bytes:
        return b"}\n"


_MERMAID_ESCAPES = str.maketrans(
    {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "\r": " ", "\n": " ", "|": "#124;"}
)
_MERMAID_EDGE = {
    "blocks": "-->|blocks|",
    "parent_of": "==>|parent of|",
    "duplicates": "-.->|duplicates|",
    "related_to": "---|related|",
}


class _Mermaid:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def head(self) -> bytes:
        title = self.scope.full_path.translate(_MERMAID_ESCAPES)
        return f"---\ntitle: {title}\n---\nflowchart LR\n  classDef closed fill:#eee,color:#888\n".encode()

    def node(self, node: Node) -> bytes:
        label = f"{node.reference} {node.title}".translate(_MERMAID_ESCAPES)
        closed = ":::closed" if not node.is_open else ""
        return f'  i{node.id}["{label}"]{closed}\n'.encode()

    def middle(self) -> bytes:
        return b""

    def edge(self, link_id: int, source: int, target: int, link_type: str) -> bytes:
        return f"  i{source} {_MERMAID_EDGE.get(link_type, '---')} i{target}\n".encode()

    def tail(self) -> bytes:
        return b""


_WRITERS: dict[ExportFormat, Any] = {
    ExportFormat.JSON: _Json,
    ExportFormat.DOT: _Dot,
    ExportFormat.MERMAID: _Mermaid,
}


# ---------------------------------------------------------------- streams


def count(session: Session, scope: Scope) -> tuple[int, int]:
    """(nodes, edges) the export of this scope will write."""
    if not scope.project_ids:
        return 0, 0
    return repo.count_scope(
        session,
        scope.project_ids,
        scope.readable(),
        scope.readable(repo.EDGE_SOURCE),
        scope.readable(repo.EDGE_TARGET),
    )


def stream(
    session: Session,
    scope: Scope,
    fmt: ExportFormat,
    *,
    progress: Progress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """The export as byte chunks: nodes first (by id), then edges (by link id)."""
    writer = _WRITERS[ExportFormat(fmt)](scope)
    buffer: list[bytes] = [writer.head()]
    size = len(buffer[0])
    pending = 0
    ids = scope.project_ids
    if ids:
        for node in repo.stream_nodes(session, ids, scope.readable()):
            piece = writer.node(node)
            buffer.append(piece)
            size += len(piece)
            pending += 1
            if progress is not None and pending >= PROGRESS_EVERY:
                progress("nodes", pending)
                pending = 0
            if size >= chunk_bytes:
                yield b"".join(buffer)
                buffer, size = [], 0
    if progress is not None and pending:
        progress("nodes", pending)
    pending = 0
    buffer.append(writer.middle())
    if ids:
        edges = repo.stream_edges(
            session, ids, scope.readable(repo.EDGE_SOURCE), scope.readable(repo.EDGE_TARGET)
        )
        for link_id, source, target, link_type in edges:
            piece = writer.edge(link_id, source, target, link_type)
            buffer.append(piece)
            size += len(piece)
            pending += 1
            if progress is not None and pending >= PROGRESS_EVERY:
                progress("edges", pending)
                pending = 0
            if size >= chunk_bytes:
                yield b"".join(buffer)
                buffer, size = [], 0
    if progress is not None and pending:
        progress("edges", pending)
    buffer.append(writer.tail())
    yield b"".join(buffer)


def filename(scope: Scope, fmt: ExportFormat) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in scope.full_path)
    return f"{safe}-graph.{EXTENSIONS[ExportFormat(fmt)]}"
