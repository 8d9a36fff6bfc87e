"""Passwords: the GitLab user API, `issuegraph admin set-password`, root's first-start password."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuegraph import cli
from issuegraph.accounts import passwords
from issuegraph.accounts import repository as repo
from issuegraph.config import Settings
from issuegraph.db.engine import Database
from tests.conftest import Factory
from tests.web.webclient import sign_in


def _new_user(client: TestClient, factory: Factory, **extra: Any) -> Any:
    return client.post(
        "/api/v4/users",
        headers=factory.admin.headers,
        json={"username": "carol", "name": "Carol", "email": "carol@example.test", **extra},
    )


def test_create_user_with_password_then_sign_in(client: TestClient, factory: Factory) -> None:
    """POST /users with a password stores an argon2id hash; the user signs in with it."""
    response = _new_user(client, factory, password="long enough 1")
    assert response.status_code == 201
    assert "password" not in response.text
    assert sign_in(client, "carol", "long enough 1").status_code == 303


def test_stored_password_is_an_argon2id_hash(
    client: TestClient, factory: Factory, database: Database
) -> None:
    """The database holds an argon2id digest, never the password."""
    _new_user(client, factory, password="long enough 1")
    with database.session() as session:
        user = repo.find_user_by_username(session, "carol")
        assert user is not None and user.password_digest is not None
        assert user.password_digest.startswith("$argon2id$")
        assert "long enough 1" not in user.password_digest


def test_create_user_with_short_password_is_400_and_creates_nothing(
    client: TestClient, factory: Factory
) -> None:
    """A password under 8 characters is a GitLab-style 400 and no user is created."""
    response = _new_user(client, factory, password="short")
    assert response.status_code == 400
    assert response.json() == {"error": "password is too short (minimum is 8 characters)"}
    users = client.get("/api/v4/users", headers=factory.admin.headers, params={"username": "carol"}).json()
    assert users == []


def test_admin_changes_a_password(client: TestClient, factory: Factory) -> None:
    """PUT /users/:id by an admin changes the password: the old one stops working, the new one works."""
    user = _new_user(client, factory, password="first password").json()
    response = client.put(
        f"/api/v4/users/{user['id']}", headers=factory.admin.headers, json={"password": "second password"}
    )
    assert response.status_code == 200
    assert response.json()["username"] == "carol"
    assert sign_in(client, "carol", "first password").status_code == 401
    assert sign_in(client, "carol", "second password").status_code == 303


def test_change_password_ladder(client: TestClient, factory: Factory) -> None:
    """Anonymous 401, non-admin 403, unknown user 404, short 400, missing 400."""
    user = _new_user(client, factory, password="first password").json()
    other = factory.user("dave")
    url = f"/api/v4/users/{user['id']}"
    assert client.put(url, json={"password": "x" * 10}).status_code == 401
    assert client.put(url, headers=other.headers, json={"password": "x" * 10}).status_code == 403
    assert (
        client.put(
            "/api/v4/users/999999", headers=factory.admin.headers, json={"password": "x" * 10}
        ).status_code
        == 404
    )
    short = client.put(url, headers=factory.admin.headers, json={"password": "x"})
    assert short.status_code == 400 and "too short" in short.json()["error"]
    assert client.put(url, headers=factory.admin.headers, json={}).status_code == 400


def test_cli_set_password(
    client: TestClient, factory: Factory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`issuegraph admin set-password USER --password ...` changes it; a short one is refused."""
    _new_user(client, factory, password="first password")
    monkeypatch.setenv("ISSUEGRAPH_DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(cli.app, ["admin", "set-password", "carol", "--password", "from the cli"])
    assert result.exit_code == 0, result.output
    assert sign_in(client, "carol", "from the cli").status_code == 303
    refused = runner.invoke(cli.app, ["admin", "set-password", "carol", "--password", "tiny"])
    assert refused.exit_code != 0
    assert "too short" in refused.output
    unknown = runner.invoke(cli.app, ["admin", "set-password", "nobody", "--password", "long enough"])
    assert unknown.exit_code != 0


def test_first_start_writes_a_random_root_password_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an empty database root is created with a random password in ./initial_root_password (0600);
    a second start leaves root and the file alone."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=database_url)
    cli._ensure_root(settings)
    path = tmp_path / passwords.INITIAL_PASSWORD_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = path.read_text().split("Password: ")[1].strip()
    database = Database(settings)
    try:
        with database.session() as session:
            root = repo.find_user_by_username(session, "root")
            assert root is not None and root.is_admin and passwords.verify(root, password)
        path.unlink()
        cli._ensure_root(settings)
        assert not path.exists()
    finally:
        database.dispose()


def test_admin_password_setting_replaces_the_random_one(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ISSUEGRAPH_ADMIN_PASSWORD sets root's first password; no file is written."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=database_url, admin_password="chosen by the admin")
    cli._ensure_root(settings)
    assert not (tmp_path / passwords.INITIAL_PASSWORD_FILE).exists()
    database = Database(settings)
    try:
        with database.session() as session:
            assert passwords.verify(repo.find_user_by_username(session, "root"), "chosen by the admin")
    finally:
        database.dispose()


def test_verify_refuses_users_without_password_and_blocked_users() -> None:
    """No digest, a wrong password or a blocked user never verify."""
    from issuegraph.db.models import User

    user = User(username="x", name="x", email="x@x", state="active", password_digest=None)
    assert not passwords.verify(user, "anything at all")
    user.password_digest = passwords.hash_password("the password")
    assert passwords.verify(user, "the password")
    assert not passwords.verify(user, "another one")
    user.state = "blocked"
    assert not passwords.verify(user, "the password")
    assert not passwords.verify(None, "the password")
