"""The admin pages' security baseline: the session cookie, CSRF on every form, response headers.

The session is Flask's signed cookie, named and scoped to /admin so it never rides along on API
calls; HttpOnly, SameSite=Lax, and Secure whenever the request came over TLS (or always, with
FRAMEWISE_ADMIN_SECURE_COOKIES=1 behind a proxy that terminates TLS). CSRF tokens are
Flask-WTF's (signed, bound to the session).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os

from flask import Flask, abort, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from web.admin import bp

CSP = "; ".join([  # noqa: FLY002 - one directive a line
    "default-src 'self'",
    "script-src 'self'",  # no inline script, no eval
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class AdminSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        # Secure behind TLS: a plain-HTTP development server would never get the cookie back.
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def _derived_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose from the service secret, so the admin cookie never shares a key with
    NextTokens."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def init_app(app: Flask) -> None:
    from jobs.settings import get_settings

    app.secret_key = _derived_key(get_settings().secret_key, "framewise-admin-session")
    app.session_interface = AdminSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="framewise_admin",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("FRAMEWISE_ADMIN_SECURE_COOKIES", "") in ("1", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )


@bp.app_context_processor
def _csrf_in_templates() -> dict:
    return {"csrf_token": generate_csrf}


@bp.before_request
def _check_csrf() -> None:
    """Every state-changing admin request carries the token of the session it came from."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(str(error)) from error


@bp.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError):
    return render_template("admin/error.html", title="Request refused",
                           message="This form was not issued to your session (or it expired). "
                                   "Go back, reload the page and try again."), 400


@bp.after_request
def apply_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if response.mimetype in ("text/html", "application/json"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def not_found(what: str):
    abort(404, description=f"No such {what}.")
