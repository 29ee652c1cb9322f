"""The AWS JSON 1.1 endpoint: `POST /` dispatched on X-Amz-Target, as boto3 and the AWS CLI speak it.

A view parses, authenticates, validates against botocore's model, calls jobs.services, and maps
domain errors to Rekognition's error shape. Nothing here decodes video or loads a model.
"""
from __future__ import annotations

import json
import logging
import re
import uuid

from flask import Blueprint, Response, g, request

from jobs.database import new_session
from jobs.errors import InvalidParameter, ServiceError
from jobs.operations import handlers
from jobs.settings import get_settings
from web import validation
from web.sigv4 import SignatureError, verify

log = logging.getLogger(__name__)
bp = Blueprint("aws", __name__)

TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"


def _response(body: dict, status: int = 200, error_type: str | None = None) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")), status=status, content_type=CONTENT_TYPE)
    response.headers["x-amzn-RequestId"] = g.get("request_id") or str(uuid.uuid4())
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    return response


def error_response(code: str, message: str, status: int = 400) -> Response:
    """Rekognition's error shape: botocore reads only `__type` and `message`/`Message`."""
    body = {"__type": code, "Code": code, "Message": message, "message": message,
            "Logref": g.get("request_id", "")}
    return _response(body, status=status, error_type=code)


def _check_semantics(operation: str, params: dict) -> None:
    """Rules the model's shapes cannot express."""
    channel = params.get("NotificationChannel")
    if channel:
        if not re.fullmatch(r"arn:aws:sns:.*:\w{12}:.+", channel.get("SNSTopicArn", "")):
            raise InvalidParameter("NotificationChannel.SNSTopicArn is not a valid SNS topic ARN.")
        if not re.fullmatch(r"arn:aws:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+", channel.get("RoleArn", "")):
            raise InvalidParameter("NotificationChannel.RoleArn is not a valid IAM role ARN.")
    if params.get("NextToken") == "":
        params.pop("NextToken")


@bp.post("/")
def dispatch() -> Response:
    g.request_id = str(uuid.uuid4())
    target = request.headers.get("X-Amz-Target", "")
    if not target.startswith(TARGET_PREFIX):
        return error_response("UnknownOperationException", "Missing or unknown X-Amz-Target header.")
    operation = target[len(TARGET_PREFIX):]
    body = request.get_data(cache=True)

    try:
        account = verify(method="POST", url=request.url, headers=dict(request.headers), body=body,
                         secrets=get_settings().credential_map)
    except SignatureError as error:
        return error_response(error.code, error.message, status=403 if "Missing" in error.code else 400)

    model = validation.operation(operation)
    handler = handlers().get(operation)
    if model is None or handler is None:
        return error_response("UnknownOperationException",
                              f"The operation {operation} is not supported by this Framewise server.")
    try:
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise TypeError("the body is not a JSON object")
    except (ValueError, TypeError) as error:
        return error_response("SerializationException", f"The request body is not valid JSON: {error}")

    problems = validation.validate(model, params)
    if problems:
        return error_response("InvalidParameterException", "Request has invalid parameters: " + "; ".join(problems))
    session = new_session()
    try:
        _check_semantics(operation, params)
        body = handler(session, account, params)
        session.commit()  # after-commit hooks (queueing a job) run here
        return _response(body)
    except ServiceError as error:
        session.rollback()
        return error_response(error.code, error.message, status=error.http_status)
    except Exception:  # never an HTML page: answer in the error shape, retryable
        session.rollback()
        log.exception("%s failed (request %s)", operation, g.request_id)
        return error_response("InternalServerError", "Internal server error", status=500)
    finally:
        session.close()
