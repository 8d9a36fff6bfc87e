"""`issuegraph serve`, `issuegraph db upgrade`, admin and dev commands."""

from __future__ import annotations

import logging.config
import os
from pathlib import Path
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
    _ensure_root(settings)
    if settings.admin_token:
        database = Database(settings)
        try:
            with database.session() as session:
                ensure_admin_token(session, settings.admin_token)
        finally:
            database.dispose()


def _ensure_root(settings: Settings) -> None:
    """First start on an empty database: `root` gets a password (see accounts.passwords)."""
    from issuegraph.accounts.passwords import ensure_root, write_initial_password
    from issuegraph.db.engine import Database

    database = Database(settings)
    try:
        with database.session() as session:
            password = ensure_root(session, settings.admin_password)
    finally:
        database.dispose()
    if password is not None:
        path = write_initial_password(Path.cwd(), password)
        # A warning, so that it is in the log at any usual level (as GitLab's first start says it).
        logging.getLogger("issuegraph").warning(
            "Created the administrator `root` with the password %s (also written to %s); "
            "sign in at /-/sign_in",
            password,
            path,
        )


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

    from issuegraph.api.server import KEEP_ALIVE_TIMEOUT, MAX_HEADER_BYTES, LimitedHttpToolsProtocol
    from issuegraph.ops.logs import log_config, wants_json
    from issuegraph.ops.serving import metrics_directory

    os.environ["ISSUEGRAPH_HOST"] = host
    os.environ["ISSUEGRAPH_PORT"] = str(port)
    settings = Settings()
    config = log_config(settings.log_level, wants_json(settings.log_format))
    logging.config.dictConfig(config)
    with metrics_directory():  # before anything makes a metric (see ops.metrics)
        _bootstrap(settings, migrate)
        logging.getLogger("issuegraph").info(
            "issuegraph serving on http://%s:%s (%s)", host, port, settings.database_url.split("://")[0]
        )
        stop = None
        if deliver:
            from issuegraph.events.worker import start_thread

            _, stop = start_thread(settings)
        # On SIGTERM uvicorn stops accepting connections and lets in-flight requests finish.
        try:
            uvicorn.run(
                "issuegraph.api.app:factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=settings.log_level,
                log_config=config,
                access_log=False,
                timeout_graceful_shutdown=settings.shutdown_timeout,
                http=LimitedHttpToolsProtocol,  # header timeout and size limit (api/server.py)
                timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            )
        finally:
            if stop is not None:
                stop.set()


@app.command()
def worker(
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first")
    ] = False,
    nice: Annotated[
        int,
        typer.Option(
            min=0,
            max=19,
            help="Lower this process's CPU priority by N (0-19): on a machine it shares with "
            "`serve`, deliveries then take the CPU that requests leave (see docs/webhooks.md)",
        ),
    ] = 0,
) -> None:
    """Deliver webhooks only (run beside `serve --no-deliver`, as many as you like on PostgreSQL)."""
    import signal
    import threading

    from issuegraph.events.worker import run_forever
    from issuegraph.ops.logs import log_config, wants_json

    settings = Settings()
    logging.config.dictConfig(log_config(settings.log_level, wants_json(settings.log_format)))
    if nice:
        _lower_priority(nice)
    if migrate:
        _bootstrap(settings, migrate)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.getLogger("issuegraph").info("issuegraph delivering (%s)", settings.database_url.split("://")[0])
    run_forever(settings, stop)


def _lower_priority(nice: int) -> None:
    """`os.nice`, and the same for the session's scheduling group when this process leads it.

    With Linux's autogroup (on by default) each session is a group, and groups share the CPU
    as wholes: a process's own niceness only ranks it within its session. A worker started
    in a session of its own (a service manager, `setsid`) would lower its priority against
    nothing. Its group's niceness (/proc/self/autogroup) is lowered too, but only when the
    process leads its session: otherwise that group holds the shell and whatever else runs in
    it, `issuegraph serve` perhaps, which must not be slowed down with it.
    """
    os.nice(nice)
    log = logging.getLogger("issuegraph")
    autogroup = Path("/proc/self/autogroup")
    if not autogroup.exists():
        return  # no autogroup (another kernel, or not Linux): the process's niceness is all
    if os.getsid(0) != os.getpid():
        log.warning(
            "--nice %d: this process shares its session with others, and on Linux the session's "
            "scheduling group competes as a whole: start the worker in a session of its own "
            "(setsid, a service manager) for its lower priority to count against the servers",
            nice,
        )
        return
    try:
        autogroup.write_text(str(nice))
    except OSError as exc:  # kernels may refuse it: the process's own niceness is still set
        log.warning("--nice %d: could not lower the session's scheduling group: %s", nice, exc)


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


admin_app = typer.Typer(help="Administration commands.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


@admin_app.command("set-password")
def set_password(
    username: str,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="New password")
    ],
) -> None:
    """Set a user's password (at least 8 characters); prompts for it unless --password is given."""
    from issuegraph.accounts import passwords
    from issuegraph.accounts import repository as repo
    from issuegraph.db.engine import Database
    from issuegraph.domain.errors import DomainError

    database = Database(Settings())
    try:
        with database.session() as session:
            user = repo.find_user_by_username(session, username)
            if user is None:
                raise typer.BadParameter(f"no user {username!r}")
            try:
                passwords.set_password(session, user, password)
            except DomainError as exc:
                raise typer.BadParameter(exc.message) from exc
    finally:
        database.dispose()
    typer.echo(f"password of {username} changed")


@app.command()
def backup(file: Annotated[Path, typer.Argument(help="Where to write the copy")]) -> None:
    """SQLite: copy the database to FILE, consistent while the server runs (online backup API)."""
    from issuegraph.ops.backup import BackupError
    from issuegraph.ops.backup import backup as copy

    try:
        revision = copy(Settings().database_url, file)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"backed up to {file} (schema {revision})")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A copy made by issuegraph backup")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing the data")] = False,
) -> None:
    """SQLite: replace the database's content with FILE. Stop the server first."""
    from issuegraph.ops.backup import BackupError
    from issuegraph.ops.backup import restore as put_back

    settings = Settings()
    if not yes:
        typer.confirm(f"Replace every row of {settings.database_url} with {file}?", abort=True)
    try:
        revision = put_back(settings.database_url, file)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"restored {file} (schema {revision}); `issuegraph serve` migrates it to the current schema")


def _mount_graph_commands() -> None:
    try:
        from issuegraph.graph.cli import dev_app, export_command
    except ImportError:  # pragma: no cover - while the graph commands are being built
        return
    app.command("export")(export_command)
    app.add_typer(dev_app, name="dev")


_mount_graph_commands()


def _mount_import_commands() -> None:
    from issuegraph.importers.cli import import_app

    app.add_typer(import_app, name="import")


_mount_import_commands()


if __name__ == "__main__":  # pragma: no cover
    app()
