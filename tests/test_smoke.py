"""The app starts on both databases and the admin token works."""

from __future__ import annotations


def test_admin_token_identifies_root(client, factory):
    """GET /api/v4/user with the admin token returns root."""
    response = client.get("/api/v4/user", headers=factory.admin.headers)
    assert response.status_code == 200
    assert response.json()["username"] == "root"
    assert response.json()["is_admin"] is True
