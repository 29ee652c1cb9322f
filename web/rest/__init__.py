"""The REST API under /v1, for applications that do not speak AWS: jobs of several analyses,
results, uploads, webhooks. flask-smorest builds the OpenAPI 3.1 document (/v1/openapi.json,
Swagger UI at /v1/docs) from the same marshmallow schemas that validate requests and shape
responses, so the document cannot drift from the code.

Views are thin: authenticate the API key (web/rest/auth.py), parse, call jobs.services, and
answer domain errors in one JSON error shape.
"""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from jobs.errors import (
    IdempotentParameterMismatch,
    LimitExceeded,
    ResourceInUse,
    ResourceNotFound,
    ResourceNotReady,
    ServiceError,
    VideoTooLarge,
)
from web.rest.schemas import ErrorSchema

PREFIX = "/v1"

# Domain errors as HTTP statuses; the error's Rekognition name stays in `code`.
_STATUS = {ResourceNotFound: 404, ResourceInUse: 409, ResourceNotReady: 409, IdempotentParameterMismatch: 409,
           LimitExceeded: 429, VideoTooLarge: 413}


class RestApi(Api):
    ERROR_SCHEMA = ErrorSchema


def is_rest_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def http_error(error: HTTPException):
    """Werkzeug and flask-smorest errors (404, 405, 422 with field messages) in the REST shape."""
    data = getattr(error, "data", None) or {}
    body = {"code": error.name.replace(" ", ""), "message": data.get("message") or error.description or error.name}
    messages = data.get("messages")
    if messages:
        body["errors"] = messages
        body["message"] = "The request has invalid parameters."
    response = jsonify(body)
    response.status_code = error.code or 400
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def service_error(error: ServiceError):
    status = next((code for cls, code in _STATUS.items() if isinstance(error, cls)), error.http_status)
    response = jsonify({"code": error.code, "message": error.message})
    response.status_code = status
    return response


def init_app(app: Flask) -> Api:
    from web.rest import jobs, uploads, webhooks

    app.config.update(
        API_TITLE="Framewise REST API", API_VERSION="1", OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        API_SPEC_OPTIONS={
            "info": {"description": "Analyse stored videos: several analyses per job on one decode, progress, "
                                    "cancel, cursor-paged results, JSON Lines export, signed webhooks. "
                                    "Authenticate with `Authorization: Bearer <API key>` (`framewise keys create`)."},
            "security": [{"ApiKey": []}],
            "components": {"securitySchemes": {"ApiKey": {"type": "http", "scheme": "bearer",
                                                          "description": "A key from `framewise keys create`."}}},
        },
    )
    api = RestApi(app)
    for blueprint in (jobs.bp, uploads.bp, webhooks.bp):
        blueprint.register_error_handler(ServiceError, service_error)
        api.register_blueprint(blueprint, url_prefix=f"{PREFIX}/{blueprint.name}")
    return api
