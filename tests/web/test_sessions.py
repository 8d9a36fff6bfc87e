"""Sign-in, sessions stored in the database, CSRF, the sign-in slow-down and sign-out."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from issuegraph.db.engine import Database
from issuegraph.db.models import SignInFailure, WebSession
from issuegraph.web.sessions import COOKIE, FREE_FAILURES
from tests.conftest import Factory
from tests.web.webclient import form_token, set_password, sign_in, signed_in

PASSWORD = "correct horse battery"


def _user(factory: Factory, client: TestClient, name: str = "alice") -> Any:
    account = factory.user(name)
    set_password(client, factory.admin.headers, account.id, PASSWORD)
    return account


def test_sign_in_sets_a_session_cookie_stored_server_side(
    client: TestClient, factory: Factory, database: Database
) -> None:
    """A right password starts a session row and sets an HttpOnly, SameSite=Lax cookie (no Secure on http)."""
    _user(factory, client)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1
    assert "Signed in as <strong>alice</strong>" in client.get("/").text


def test_cookie_is_secure_when_the_external_url_is_https(client: TestClient, factory: Factory) -> None:
    """With an https external URL the session cookie is Secure."""
    _user(factory, client)
    app: Any = client.app
    app.state.settings = app.state.settings.model_copy(update={"external_url": "https://tracker.example"})
    client.base_url = httpx.URL("https://testserver")  # a Secure cookie goes back over https only
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, factory: Factory) -> None:
    """A wrong password and an unknown username are both 401 with the same words, and no cookie."""
    _user(factory, client)
    wrong = sign_in(client, "alice", "not the password")
    unknown = sign_in(client, "nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Invalid username or password." in response.text
        assert COOKIE not in response.headers.get("set-cookie", "")


def test_repeated_failures_are_slowed_down_in_the_database(
    client: TestClient, factory: Factory, database: Database
) -> None:
    """After the free failures every sign-in of that username waits, even with the right password;
    the counter is a database row, so every worker sees it."""
    _user(factory, client)
    for _ in range(FREE_FAILURES):
        assert sign_in(client, "alice", "wrong password").status_code == 401
    blocked = sign_in(client, "alice", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    with database.session() as session:
        row = session.get(SignInFailure, "alice")
        assert row is not None and row.failures == FREE_FAILURES


def test_a_success_clears_the_failures(client: TestClient, factory: Factory, database: Database) -> None:
    """One failure then a success: the counter row is gone."""
    _user(factory, client)
    assert sign_in(client, "alice", "wrong password").status_code == 401
    assert sign_in(client, "alice", PASSWORD).status_code == 303
    with database.session() as session:
        assert session.get(SignInFailure, "alice") is None


def test_forms_without_the_csrf_token_are_refused(client: TestClient, factory: Factory) -> None:
    """A state-changing form without (or with a wrong) CSRF token is 403 and changes nothing."""
    _user(factory, client)
    form_token(client)
    response = client.post("/-/sign_in", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    signed_in(client, "alice", PASSWORD)
    project = factory.project("p1", visibility="public")
    created = client.post(
        f"/-/projects/{project['id']}/issues", data={"title": "forged"}, follow_redirects=False
    )
    assert created.status_code == 403
    assert "CSRF" in created.text
    issues = client.get(f"/api/v4/projects/{project['id']}/issues", headers=factory.admin.headers).json()
    assert issues == []


def test_sign_out_deletes_the_session(client: TestClient, factory: Factory, database: Database) -> None:
    """After sign-out the old cookie is worth nothing: its row is gone and pages treat it as anonymous."""
    _user(factory, client)
    cookie = signed_in(client, "alice", PASSWORD)
    token = form_token(client, "/")
    response = client.post("/-/sign_out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    page = client.get("/")
    assert "Signed in as" not in page.text


def test_anonymous_visitors_see_public_projects_only(client: TestClient, factory: Factory) -> None:
    """The home page of an anonymous visitor lists public projects, not private ones."""
    factory.project("open-one", visibility="public")
    factory.project("closed-one", visibility="private")
    page = client.get("/").text
    assert "root/open-one" in page
    assert "closed-one" not in page


def test_unreadable_project_and_issue_are_404_pages_as_on_the_api(
    client: TestClient, factory: Factory
) -> None:
    """A private project is a 404 page carrying the GitLab API's own message, for a project and an issue."""
    project = factory.project("hidden", visibility="private")
    factory.issue(project, "secret")
    api = client.get(f"/api/v4/projects/{project['id']}")
    for path in (f"/-/projects/{project['id']}/issues", f"/-/projects/{project['id']}/issues/1"):
        page = client.get(path)
        assert page.status_code == api.status_code == 404
        assert f'id="error-message">{api.json()["message"]}<' in page.text
        assert "secret" not in page.text
    public = factory.project("shown", visibility="public")
    missing = client.get(f"/-/projects/{public['id']}/issues/99")
    api_missing = client.get(f"/api/v4/projects/{public['id']}/issues/99")
    assert missing.status_code == 404
    assert f'id="error-message">{api_missing.json()["message"]}<' in missing.text


def test_expired_session_and_blocked_user_are_anonymous(
    client: TestClient, factory: Factory, database: Database
) -> None:
    """A session row past its expiry, or one whose user is no longer active, signs nobody in."""
    from datetime import timedelta

    from sqlalchemy import update

    from issuegraph.db.models import User, utcnow

    account = _user(factory, client)
    signed_in(client, "alice", PASSWORD)
    assert "Signed in as <strong>alice</strong>" in client.get("/").text
    with database.session() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert "Signed in as" not in client.get("/").text
    with database.session() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() + timedelta(hours=1)))
    assert "Signed in as <strong>alice</strong>" in client.get("/").text
    with database.session() as session:
        session.execute(update(User).where(User.id == account.id).values(state="blocked"))
    assert "Signed in as" not in client.get("/").text
