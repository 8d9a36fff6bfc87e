"""One world per database for the whole package: every matrix module reads the same world."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from issuegraph.accounts import passwords
from issuegraph.accounts.service import ensure_admin_token
from issuegraph.api.app import create_app
from issuegraph.config import Settings, get_settings
from issuegraph.db.engine import Database
from issuegraph.db.models import Base
from tests.authz.world import World, build
from tests.conftest import ADMIN_TOKEN
from tests.events.receiver import running_receiver

_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
# Hooks may reach the loopback receiver; services that read get_settings() see the same.
_ENV = {"ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL": "true", "ISSUEGRAPH_EXTERNAL_URL": "http://issuegraph.test"}


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("authz") / "authz.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        engine.dispose()
    with pytest.MonkeyPatch.context() as patch, running_receiver() as receiver:
        for key, value in _ENV.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        # GitLab's 5-a-minute budget for hook tests, resends and creations: not under test here.
        for limit in ("TEST", "RESEND", "CREATE"):
            patch.setenv(f"ISSUEGRAPH_WEBHOOKS_{limit}_LIMIT", "0")
        # Every actor signs in through the form; argon2's cost is not what is tested here (its
        # default, 64 MiB and three passes, took 14 s for the two worlds' 40 hashes and checks).
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        settings = Settings(
            database_url=url,
            admin_token=ADMIN_TOKEN,
            external_url="http://issuegraph.test",
            webhooks_allow_local=True,
        )
        database = Database(settings)
        with database.session() as session:
            ensure_admin_token(session, ADMIN_TOKEN)
        app = create_app(settings)
        app.state.database.dispose()
        app.state.database = database
        try:
            with TestClient(app) as client:
                yield build(client, database, settings, receiver.url)
        finally:
            database.dispose()
            get_settings.cache_clear()
