"""The operator's admin pages at /admin: log in, watch jobs live, see one job's results drawn on
its frames, see workers and queues.

Server-rendered Jinja with one small unbundled script (static/admin.js) and no build step. It
reads jobs through jobs/services.py and the analysis registry, so a new analysis shows up here
without a change. Every route but the login form and the static files needs a logged-in operator
(web/admin/auth.py); every form carries a CSRF token; every answer carries the security headers
(web/admin/security.py).

Each section is one module with its views and a line in NAV; each calls the services its
feature's branch built (job actions, API keys and webhooks, collections and celebrities), never
its own copy of their rules.
"""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")

# The navigation bar, in order: (endpoint, title, the endpoint prefix that marks it current).
NAV: list[tuple[str, str, str]] = [
    ("admin.jobs_list", "Jobs", "admin.job"),
    ("admin.workers", "Workers & queues", "admin.workers"),
    ("admin.collections", "Collections", "admin.collection"),
    ("admin.keys", "API keys & webhooks", "admin.key"),
]


@bp.context_processor
def _navigation() -> dict:
    return {"nav": NAV}


def init_app(app: Flask) -> None:
    """Register the admin pages and what they need of the app: the session cookie, CSRF, the
    login rate limiter."""
    from web.admin import auth, faces, job_actions, jobs, keys, security, workers  # noqa: F401 - each module adds its views to bp

    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(bp)


def error_page(error):
    """An HTTP error on an admin path, as a page rather than the API's JSON error; to a visitor
    who is not logged in, every admin URL (even one that does not exist) is the login page."""
    from flask import make_response, render_template

    from web.admin.auth import current_user, to_login
    from web.admin.security import apply_headers

    if current_user() is None:
        return apply_headers(to_login())

    page = render_template("admin/error.html", title=f"{error.code} {error.name}",
                           message=error.description or error.name)
    return apply_headers(make_response(page, error.code or 500))
