"""Graph commands: ``issuegraph export`` and ``issuegraph dev seed``.

The main CLI mounts them with ``app.command("export")(export_command)`` and
``app.add_typer(dev_app, name="dev")``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from issuegraph.config import Settings
from issuegraph.graph.export import ExportFormat

dev_app = typer.Typer(help="Developer tools (fake data, benchmarks).", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL; default ISSUEGRAPH_DATABASE_URL or the settings default"
    ),
]


def _settings(database_url: str | None) -> Settings:
    return Settings(database_url=database_url) if database_url else Settings()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def export_command(
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project id or full path")] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", help="Group id or full path")] = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="json, dot or mermaid")
    ] = ExportFormat.JSON,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as-user", help="Export what this user may read (default: everything, as an administrator)"
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Export a project's or group's issue graph (streamed; memory stays flat)."""
    from issuegraph.accounts import repository as accounts_repo
    from issuegraph.accounts.service import Actor
    from issuegraph.db.engine import Database
    from issuegraph.db.models import User
    from issuegraph.domain.errors import DomainError
    from issuegraph.graph import export as graph_export
    from issuegraph.graph import service

    if (project is None) == (group is None):
        raise typer.BadParameter("give exactly one of --project and --group")
    console = Console(stderr=True)
    database = Database(_settings(database_url))
    try:
        with database.session(write=False) as session:
            if as_user is None:
                actor = Actor(
                    user=User(username="cli", name="cli", email="", is_admin=True), scopes=frozenset({"api"})
                )
            else:
                user = accounts_repo.find_user_by_username(session, as_user)
                if user is None:
                    raise typer.BadParameter(f"no user {as_user!r}")
                actor = Actor(user=user, scopes=frozenset({"read_api"}))
            try:
                scope = (
                    service.project_scope(session, actor, project)
                    if project is not None
                    else service.group_scope(session, actor, group or "")
                )
            except DomainError as exc:
                console.print(f"[red]{exc.message}[/red]")
                raise typer.Exit(1) from exc
            nodes, edges = graph_export.count(session, scope)
            sink: BinaryIO = output.open("wb") if output is not None else sys.stdout.buffer
            try:
                with _progress(console) as bar:
                    tasks = {
                        "nodes": bar.add_task("issues", total=nodes, visible=not quiet),
                        "edges": bar.add_task("links", total=edges, visible=not quiet),
                    }

                    def advance(kind: str, rows: int) -> None:
                        bar.advance(tasks[kind], rows)

                    for chunk in graph_export.stream(session, scope, fmt, progress=advance):
                        sink.write(chunk)
            finally:
                if output is not None:
                    sink.close()
                else:
                    sink.flush()
        if not quiet:
            where = str(output) if output is not None else "stdout"
            console.print(f"exported {nodes} issues and {edges} links of {scope.full_path} to {where}")
    finally:
        database.dispose()


@dev_app.command("seed")
def seed_command(
    issues: Annotated[int, typer.Option("--issues", min=1, help="Issues to create")] = 10_000,
    links: Annotated[int, typer.Option("--links", min=0, help="Links to create (about)")] = 30_000,
    projects: Annotated[int, typer.Option("--projects", min=1, help="Projects to spread them over")] = 20,
    random_seed: Annotated[int, typer.Option("--random-seed", help="Same seed, same graph")] = 42,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Apply migrations first")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Fill an empty database with a large, realistic issue graph (COPY on PostgreSQL)."""
    from issuegraph.db import migrate as migrations
    from issuegraph.domain.errors import DomainError
    from issuegraph.graph.seed import seed

    settings = _settings(database_url)
    if migrate:
        migrations.upgrade(settings.database_url)
    console = Console(stderr=True)
    with _progress(console) as bar:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=max(total, 1))
            bar.update(tasks[phase], completed=done, total=max(total, 1))

        try:
            result = seed(
                settings,
                issues=issues,
                links=links,
                projects=projects,
                random_seed=random_seed,
                progress=report,
            )
        except DomainError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from exc
    console.print(
        f"seeded {result.issues} issues and {result.total_links} links "
        f"({', '.join(f'{k} {v}' for k, v in result.links.items())}) in {len(result.projects)} projects "
        f"in {result.seconds:.1f} s; group 'seed' (id {result.group_id}), users seed-owner and seed-guest; "
        f"large project id {result.large_project_id}, 10k-tree root iid {result.hierarchy_root_iid}"
    )
    console.print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items()))
