"""The HTTP surface: the Rekognition-compatible AWS JSON endpoint, the REST API under /v1, the
operator admin pages under /admin, and health checks.

`flask --app web run` finds create_app() here.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException


def create_app() -> Flask:
    app = Flask(__name__)
    from web import admin, aws, health, rest

    app.register_blueprint(aws.bp)
    app.register_blueprint(health.bp)
    rest.init_app(app)
    admin.init_app(app)

    # Registered after the REST API's (flask-smorest registers its own): this one decides by path.
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if rest.is_rest_request():
            return rest.http_error(error)
        # Even a 404 or 405 answers in the error shape a Rekognition client can read.
        from flask import g, request

        if request.path == "/admin" or request.path.startswith("/admin/"):
            return admin.error_page(error)  # the operator's pages answer in HTML
        g.setdefault("request_id", "")
        return aws.error_response("UnknownOperationException" if error.code in (404, 405) else "SerializationException",
                                  error.description or error.name, status=error.code or 400)

    return app
