"""The REST API under /v1, for applications that do not speak AWS: jobs of several analyses,
results, uploads, webhooks. flask-smorest builds the OpenAPI 3.1 document (/v1/openapi.json,
Swagger UI at /v1/docs) from the same marshmallow schemas that validate requests and shape
responses, so the document cannot drift from the code.

Views are thin: authenticate the API key (web/rest/auth.py), parse, call jobs.services, and
answer domain errors in one JSON error shape.
"""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from web.rest.errors import PREFIX, http_error, is_rest_request, service_error  # noqa: F401 - used by web/
from web.rest.schemas import ErrorSchema


class RestApi(Api):
    ERROR_SCHEMA = ErrorSchema


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
        api.register_blueprint(blueprint, url_prefix=f"{PREFIX}/{blueprint.name}")
    return api
