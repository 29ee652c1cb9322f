"""Domain errors. Each carries the Rekognition exception name the API edge answers with, so
rules raised deep in jobs/ reach a boto3 caller as the exception class it expects."""
from __future__ import annotations


class ServiceError(Exception):
    """The base: an unexpected failure on our side (HTTP 500; boto3 retries it)."""

    code = "InternalServerError"
    http_status = 500
    default_message = "Internal server error"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ClientError(ServiceError):
    """Something about the request: HTTP 400, never retried by boto3 unless it is throttling."""

    code = "InvalidParameterException"
    http_status = 400
    default_message = "Request has invalid parameters"


class InvalidParameter(ClientError):
    code = "InvalidParameterException"


class InvalidS3Object(ClientError):
    code = "InvalidS3ObjectException"
    default_message = "Unable to get object metadata from S3. Check object key, region and/or access permissions."


class VideoTooLarge(ClientError):
    code = "VideoTooLargeException"
    default_message = "The video is too large."


class ImageTooLarge(ClientError):
    code = "ImageTooLargeException"
    default_message = "The image size or resolution exceeds the allowed limit (5 MB of bytes, 15 MB from S3)."


class InvalidImageFormat(ClientError):
    code = "InvalidImageFormatException"
    default_message = "Request has invalid image format: only JPEG and PNG images are supported."


class LimitExceeded(ClientError):
    code = "LimitExceededException"


class IdempotentParameterMismatch(ClientError):
    code = "IdempotentParameterMismatchException"


class ResourceNotFound(ClientError):
    code = "ResourceNotFoundException"
    default_message = "The resource specified in the request cannot be found."


class ResourceAlreadyExists(ClientError):
    code = "ResourceAlreadyExistsException"
    default_message = "A resource with the specified ID already exists."


class Conflict(ClientError):
    code = "ConflictException"
    default_message = "A User with the same Id already exists within the collection."


class ResourceInUse(ClientError):
    code = "ResourceInUseException"
    default_message = "The specified resource is already being used."


class ResourceNotReady(ClientError):
    code = "ResourceNotReadyException"
    default_message = "The requested resource isn't ready."


class InvalidPaginationToken(ClientError):
    code = "InvalidPaginationTokenException"
    default_message = "Invalid Pagination Token"


class AccessDenied(ClientError):
    code = "AccessDeniedException"
    default_message = "You are not authorized to perform the action."


class ServiceUnavailable(ServiceError):
    """A dependency (database, broker, image worker) is down or too slow; retry later (HTTP 503)."""

    code = "ServiceUnavailableException"
    http_status = 503
    default_message = "The service is temporarily unavailable; try again."


def by_code(code: str) -> type[ServiceError]:
    """The error class for a Rekognition exception name (for errors that crossed a process)."""
    stack = [ServiceError]
    while stack:
        cls = stack.pop()
        if cls.code == code:
            return cls
        stack.extend(cls.__subclasses__())
    return ServiceError
