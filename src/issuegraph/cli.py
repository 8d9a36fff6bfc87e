"""`issuegraph serve`, `issuegraph db upgrade`, admin and dev commands."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from issuegraph.config import Settings

app = typer.Typer(
    help="issuegraph: an issue tracker whose heart is the relation graph.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _bootstrap(settings: Settings, migrate: bool) -> None:
    from issuegraph.accounts.service import ensure_admin_token
    from issuegraph.db import migrate as migrations
    from issuegraph.db.engine import Database

    if migrate:
        migrations.upgrade(settings.database_url)
    if settings.admin_token:
        database = Database(settings)
        try:
            with database.session() as session:
                ensure_admin_token(session, settings.admin_token)
        finally:
            database.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first")
    ] = True,
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="Deliver webhooks in this process too")
    ] = True,
) -> None:
    """Run the HTTP server (GitLab v4, SourceCraft and the native graph API)."""
    import uvicorn

    os.environ["ISSUEGRAPH_HOST"] = host
    os.environ["ISSUEGRAPH_PORT"] = str(port)
    settings = Settings()
    _bootstrap(settings, migrate)
    typer.echo(f"issuegraph serving on http://{host}:{port} ({settings.database_url.split('://')[0]})")
    stop = None
    if deliver:
        from issuegraph.events.worker import start_thread

        _, stop = start_thread(settings)
    try:
        uvicorn.run(
            "issuegraph.api.app:factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            access_log=False,
        )
    finally:
        if stop is not None:
            stop.set()


@app.command()
def worker(
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first")
    ] = False,
) -> None:
    """Deliver webhooks only (run beside `serve --no-deliver`, as many as you like on PostgreSQL)."""
    import signal
    import threading

    from issuegraph.events.worker import run_forever

    settings = Settings()
    if migrate:
        _bootstrap(settings, migrate)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"issuegraph delivering ({settings.database_url.split('://')[0]})")
    run_forever(settings, stop)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from issuegraph.db import migrate as migrations

    migrations.upgrade(Settings().database_url)
    typer.echo("database is up to date")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from issuegraph.db import migrate as migrations

    migrations.check(Settings().database_url)


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Autogenerate a migration from the models (review it before committing)."""
    from issuegraph.db import migrate as migrations

    migrations.revision(Settings().database_url, message)


@app.command("create-token")
def create_token(
    username: str,
    name: Annotated[str, typer.Option()] = "cli",
    scopes: Annotated[str, typer.Option(help="api,read_api")] = "api",
) -> None:
    """Admin: print a new personal access token for a user."""
    from issuegraph.accounts import repository as repo
    from issuegraph.accounts.service import issue_token
    from issuegraph.db.engine import Database

    database = Database(Settings())
    with database.session() as session:
        user = repo.find_user_by_username(session, username)
        if user is None:
            raise typer.BadParameter(f"no user {username!r}")
        _, raw = issue_token(session, user, name=name, scopes=scopes.split(","), expires_at=None)
    typer.echo(raw)


def _mount_graph_commands() -> None:
    try:
        from issuegraph.graph.cli import dev_app, export_command
    except ImportError:  # pragma: no cover - while the graph commands are being built
        return
    app.command("export")(export_command)
    app.add_typer(dev_app, name="dev")


_mount_graph_commands()


if __name__ == "__main__":  # pragma: no cover
    app()
