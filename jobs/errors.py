"""Domain errors. Each carries the Rekognition exception name the API edge answers with, so
rules raised deep in jobs/ reach a boto3 caller as the exception class it expects."""
from __future__ import annotations


class ServiceError(Exception):
    code = "InternalServerError"
    http_status = 400
    default_message = "Internal server error"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class InvalidParameter(ServiceError):
    code = "InvalidParameterException"
    default_message = "Request has invalid parameters"


class InvalidS3Object(ServiceError):
    code = "InvalidS3ObjectException"
    default_message = "Unable to get object metadata from S3. Check object key, region and/or access permissions."


class VideoTooLarge(ServiceError):
    code = "VideoTooLargeException"


class LimitExceeded(ServiceError):
    code = "LimitExceededException"


class IdempotentParameterMismatch(ServiceError):
    code = "IdempotentParameterMismatchException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFoundException"
    default_message = "The resource specified in the request cannot be found."


class InvalidPaginationToken(ServiceError):
    code = "InvalidPaginationTokenException"
    default_message = "Invalid Pagination Token"
