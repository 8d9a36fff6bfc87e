"""The faces (api/) and the web UI (web/) translate and serialise; they never build or run SQL
(docs/architecture.md): queries live in the feature packages' services and repositories."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import issuegraph.api
import issuegraph.web

API = Path(issuegraph.api.__file__).parent
WEB = Path(issuegraph.web.__file__).parent
# What a face may take from SQLAlchemy: the Session type it hands to the services, the
# runner's greenlet bridge (how requests run, not a query), and exception types (sqlalchemy.exc:
# api/errors.py tells a database outage from a bug).
ALLOWED_IMPORTS = {("sqlalchemy.orm", "Session"), ("sqlalchemy.util", "greenlet_spawn")}
QUERY_CALLS = {"select", "execute", "scalars", "scalar"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"{path.name}:{node.lineno} imports {node.module}.{alias.name}"
                for alias in node.names
                if (node.module, alias.name) not in ALLOWED_IMPORTS and node.module != "sqlalchemy.exc"
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"{path.name}:{node.lineno} imports {a.name}"
                for a in node.names
                if a.name.startswith("sqlalchemy")
            ]
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            on_session = isinstance(func, ast.Attribute) and ast.unparse(func.value).endswith("session")
            if name in QUERY_CALLS or (name == "query" and on_session):  # `schemas.query()` is OpenAPI
                found.append(f"{path.name}:{node.lineno} calls {name}()")
    return found


@pytest.mark.parametrize(("package", "modules"), [(API, 30), (WEB, 4)], ids=["api", "web"])
def test_faces_build_and_run_no_sql(package: Path, modules: int) -> None:
    """No module under issuegraph/api or issuegraph/web imports SQLAlchemy's query API or calls
    select/execute/scalars."""
    files = sorted(package.rglob("*.py"))
    assert len(files) > modules  # the whole package was walked
    violations = [v for path in files for v in _violations(path)]
    assert violations == []


def test_the_check_sees_a_query(tmp_path: Path) -> None:
    """The check finds `select(` and `session.scalars(` where they are (it cannot pass vacuously)."""
    face = tmp_path / "face.py"
    face.write_text(
        "from sqlalchemy import select\ndef route(session):\n    return session.scalars(select(1)).all()\n"
    )
    assert _violations(face) == [
        "face.py:1 imports sqlalchemy.select",
        "face.py:3 calls scalars()",
        "face.py:3 calls select()",
    ]
