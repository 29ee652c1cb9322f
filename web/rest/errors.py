"""The REST API's one error shape, {code, message, errors?}, for domain and HTTP errors."""
from __future__ import annotations

from flask import jsonify, request
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

PREFIX = "/v1"

# Domain errors as HTTP statuses; the error's Rekognition name stays in `code`.
_STATUS = {ResourceNotFound: 404, ResourceInUse: 409, ResourceNotReady: 409, IdempotentParameterMismatch: 409,
           LimitExceeded: 429, VideoTooLarge: 413}


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
