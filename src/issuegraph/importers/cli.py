"""`issuegraph import gitlab|sourcecraft`: the command line of the importers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from issuegraph.config import Settings

import_app = typer.Typer(help="Import groups, projects, issues and their links from another tracker.")

Token = Annotated[
    str, typer.Option("--token", envvar="ISSUEGRAPH_IMPORT_TOKEN", help="The source's API token")
]
UserMap = Annotated[
    Path | None,
    typer.Option("--user-map", help="A file of 'source_username=local_username' lines", exists=True),
]
Follow = Annotated[
    bool,
    typer.Option("--follow-links", help="Also import the projects of linked issues outside the selection"),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; write nothing")]
Workers = Annotated[int, typer.Option("--workers", min=1, max=32, help="Parallel requests to the source")]
SummaryFile = Annotated[Path | None, typer.Option("--summary-json", help="Also write the summary as JSON")]
AsUser = Annotated[str | None, typer.Option("--as-user", help="Local administrator to act as (default root)")]


def read_user_map(path: Path | None) -> dict[str, str]:
    """`old=new` per line; blank lines and lines starting with # are ignored."""
    if path is None:
        return {}
    mapping: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        source, sep, local = line.partition("=")
        if not sep or not source.strip() or not local.strip():
            raise typer.BadParameter(f"{path}:{number}: expected source_username=local_username")
        mapping[source.strip()] = local.strip()
    return mapping


def _run(
    source: object,
    user_map: Path | None,
    follow: bool,
    dry_run: bool,
    workers: int,
    summary_json: Path | None,
    as_user: str | None,
) -> None:
    from issuegraph.db.engine import Database
    from issuegraph.importers.core import Importer, Options, Source

    console = Console(stderr=True)
    options = Options(
        user_map=read_user_map(user_map),
        follow_links=follow,
        dry_run=dry_run,
        workers=workers,
        as_user=as_user,
    )
    database = Database(Settings())
    try:
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            summary = Importer(database, cast(Source, source), options, progress).run()
    finally:
        database.dispose()
    summary.render(Console())
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.as_dict(), indent=2))
    if summary.failures:
        raise typer.Exit(2)


@import_app.command("gitlab")
def import_gitlab(
    url: Annotated[str, typer.Argument(help="The GitLab instance, e.g. https://gitlab.example.com")],
    token: Token,
    project: Annotated[
        list[str] | None, typer.Option("--project", help="A project's full path (repeatable)")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="A group's full path (repeatable)")
    ] = None,
    user_map: UserMap = None,
    follow_links: Follow = False,
    dry_run: DryRun = False,
    workers: Workers = 8,
    summary_json: SummaryFile = None,
    as_user: AsUser = None,
) -> None:
    """Import from GitLab (API v4, through python-gitlab)."""
    from issuegraph.importers.gitlab import GitLabSource

    if not project and not group:
        raise typer.BadParameter("give at least one --project or --group")
    source = GitLabSource(url, token, projects=project or [], groups=group or [])
    _run(source, user_map, follow_links, dry_run, workers, summary_json, as_user)


@import_app.command("sourcecraft")
def import_sourcecraft(
    url: Annotated[str, typer.Argument(help="The SourceCraft API root, e.g. https://api.sourcecraft.tech")],
    token: Token,
    org: Annotated[str, typer.Option("--org", help="The organisation's slug")],
    repo: Annotated[
        list[str] | None, typer.Option("--repo", help="Only this repository (repeatable)")
    ] = None,
    user_map: UserMap = None,
    follow_links: Follow = False,
    dry_run: DryRun = False,
    workers: Workers = 8,
    summary_json: SummaryFile = None,
    as_user: AsUser = None,
) -> None:
    """Import from SourceCraft (its REST API), all seven link types included."""
    from issuegraph.importers.sourcecraft import SourceCraftSource

    source = SourceCraftSource(url, token, org=org, repos=repo or [])
    _run(source, user_map, follow_links, dry_run, workers, summary_json, as_user)
