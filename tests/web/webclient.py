"""Helpers to drive the web UI with the in-process TestClient (forms, CSRF tokens, sign-in)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from issuegraph.web.sessions import COOKIE

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "page has no form with a CSRF token"
    return match.group(1)


def form_token(client: TestClient, path: str = "/-/sign_in") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def sign_in(client: TestClient, username: str, password: str) -> Any:
    token = form_token(client)
    return client.post(
        "/-/sign_in",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def set_password(client: TestClient, admin_headers: dict[str, str], user_id: int, password: str) -> None:
    response = client.put(f"/api/v4/users/{user_id}", headers=admin_headers, json={"password": password})
    assert response.status_code == 200, response.text


def signed_in(client: TestClient, username: str, password: str) -> str:
    """Sign in and return the session cookie's value (the client keeps it too)."""
    response = sign_in(client, username, password)
    assert response.status_code == 303, response.text
    return str(client.cookies.get(COOKIE))
