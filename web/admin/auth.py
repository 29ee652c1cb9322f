"""Log in, log out, and the guard in front of every other admin route.

Failed logins are counted by Flask-Limiter in Redis (so every web process shares the count):
five wrong passwords for one username within 15 minutes, or twenty from one address, and the
login form answers 429 until the window passes, even for the right password.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from jobs.database import session_scope
from jobs.records import AdminUser
from web.admin import bp, users

PUBLIC_ENDPOINTS = {"admin.login", "admin.static"}
FAILED_LOGINS_PER_USER = "5 per 15 minutes"
FAILED_LOGINS_PER_ADDRESS = "20 per 15 minutes"

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def _storage_uri() -> str:
    from jobs.settings import get_settings

    url = get_settings().resolved_redis_url
    if not url:
        return "memory://"  # no Redis: each web process counts alone
    # The embedded Redis is a unix socket (unix:///…/redis.sock); the limits package names it redis+unix.
    return "redis+" + url if url.startswith("unix://") else url


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri())
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "framewise-admin")
    limiter.init_app(app)


def _failed(response) -> bool:
    return response.status_code == 401


def _username_key() -> str:
    return "user:" + request.form.get("username", "").strip().lower()


def _safe_next(target: str | None) -> str:
    """Only a path on this site's admin pages: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/") and "\\" not in target:
            return target
    return url_for("admin.jobs_list")


def current_user() -> str | None:
    """The logged-in operator's name (also put in g.admin_user), or None; a session whose user is
    gone or whose password changed is cleared."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    with session_scope() as db:
        user = db.get(AdminUser, user_id)
        if user is not None and users.fingerprint(user) == session.get("fingerprint"):
            g.admin_user = user.username
            return user.username
    session.clear()
    return None


def to_login():
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))


@bp.before_request
def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user() is not None:
        return None
    return to_login()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(FAILED_LOGINS_PER_USER, key_func=_username_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(FAILED_LOGINS_PER_ADDRESS, methods=["POST"], deduct_when=_failed)
def login():
    next_url = request.values.get("next")
    if request.method == "GET":
        return render_template("admin/login.html", next=next_url, error=None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    with session_scope() as db:
        user = users.authenticate(db, username, password) if username and password else None
        if user is None:
            return render_template("admin/login.html", next=next_url, username=username,
                                   error="Wrong username or password."), 401
        fingerprint = users.fingerprint(user)
        user_id = user.id
    session.clear()
    session.permanent = True
    session["user_id"] = user_id
    session["fingerprint"] = fingerprint
    return redirect(_safe_next(next_url))


@bp.errorhandler(RateLimitExceeded)
def _limited(error: RateLimitExceeded):
    return render_template("admin/login.html", next=request.values.get("next"), limited=True,
                           error="Too many failed logins. Wait 15 minutes and try again."), 429


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
def index():
    return redirect(url_for("admin.jobs_list"))
