"""Behind TLS the admin cookie is Secure and pages carry HSTS (the browser tests run on plain
HTTP, where a Secure cookie would never come back)."""
from __future__ import annotations

import re


def test_the_cookie_is_secure_over_tls(framewise_env, session):
    from jobs.database import session_scope
    from web import create_app
    from web.admin.users import create_user

    with session_scope() as db:
        create_user(db, "tls-ops", "a long operator password")
    client = create_app().test_client()
    page = client.get("/admin/login", base_url="https://admin.example")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/admin/login", base_url="https://admin.example",
                           data={"username": "tls-ops", "password": "a long operator password", "csrf_token": token})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = client.get("/admin/login")
    assert "Strict-Transport-Security" not in plain.headers
