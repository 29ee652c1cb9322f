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
from jobs.errors import InvalidParameter, ServiceError, ServiceUnavailable
from jobs.operations import handlers
from jobs.settings import get_settings
from jobs.transient import TRANSIENT
from web import validation
from web.sigv4 import SignatureError, check_body, check_headers

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


def _read_body(limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (read no further than that)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = request.stream.read(limit + 1)
    return None if len(body) > limit else body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")  # Python's json would take NaN and Infinity


def _unstorable_string(params: dict) -> str | None:
    """The path of the first string no database column or S3 key can hold (NUL, a lone
    surrogate that `\\ud800` in JSON makes), or None. Iterative: the JSON may be ~1000 deep."""
    stack = [("", params)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or not _utf8(value):
                return path or "a value"
        elif isinstance(value, dict):
            for key, item in value.items():
                key_path = f"{path}.{key}" if path else key
                if "\x00" in key or not _utf8(key):
                    return key_path.encode("utf-8", "backslashreplace").decode()
                stack.append((key_path, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _takes_image(operation: str) -> bool:
    model = validation.operation(operation)
    members = model.input_shape.members if model is not None and model.input_shape is not None else {}
    return any(member.type_name == "structure" and "Bytes" in member.members for member in members.values())


@bp.post("/")
def dispatch() -> Response:
    g.request_id = str(uuid.uuid4())
    target = request.headers.get("X-Amz-Target", "")
    if not target.startswith(TARGET_PREFIX):
        return error_response("UnknownOperationException", "Missing or unknown X-Amz-Target header.")
    operation = target[len(TARGET_PREFIX):]
    settings = get_settings()
    try:
        # The key, date and header shape are checked before a byte of the body is read, and the
        # body's size before it is buffered: an anonymous 300 MB POST costs us nothing.
        claimed = check_headers(dict(request.headers), settings.credential_map)
        body = _read_body(settings.max_request_bytes)
        if body is None:
            if _takes_image(operation):  # what a Rekognition client expects for a too-big image
                return error_response("ImageTooLargeException", "Image size is too large.")
            return error_response("SerializationException",
                                  f"The request body is larger than {settings.max_request_bytes} bytes.", status=413)
        account = check_body(claimed, method="POST", url=request.url, body=body)
    except SignatureError as error:
        return error_response(error.code, error.message, status=403 if "Missing" in error.code else 400)

    model = validation.operation(operation)
    handler = handlers().get(operation)
    if model is None or handler is None:
        return error_response("UnknownOperationException",
                              f"The operation {operation} is not supported by this Framewise server.")
    try:
        params = json.loads(body or b"{}", parse_constant=_no_constant)
        if not isinstance(params, dict):
            raise TypeError("the body is not a JSON object")
    except (ValueError, TypeError) as error:
        return error_response("SerializationException", f"The request body is not valid JSON: {error}")
    except RecursionError:
        return error_response("SerializationException", "The request body is nested too deeply.")
    bad = _unstorable_string(params)
    if bad is not None:
        code = "InvalidS3ObjectException" if ".S3Object." in f".{bad}." else "InvalidParameterException"
        return error_response(code, f"{bad} contains a NUL character or an unpaired surrogate.")

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
    except TRANSIENT as error:  # PostgreSQL restarting, storage 5xx, broker down: retryable
        session.rollback()
        log.warning("%s: a dependency is unavailable (request %s): %s", operation, g.request_id, error)
        return error_response(ServiceUnavailable.code, ServiceUnavailable.default_message, status=503)
    except Exception:  # never an HTML page: answer in the error shape, retryable
        session.rollback()
        log.exception("%s failed (request %s)", operation, g.request_id)
        return error_response("InternalServerError", "Internal server error", status=500)
    finally:
        session.close()
