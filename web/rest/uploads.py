"""/v1/uploads: send a video in the request body instead of naming an S3 object. It is streamed
to storage (never held whole in memory), limited in size, and sniffed: only video containers pass."""
from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint

from jobs import uploads
from jobs.errors import ServiceError
from web.rest import schemas
from web.rest.auth import require_key
from web.rest.errors import service_error

bp = Blueprint("uploads", __name__, description="Video uploads")
bp.before_request(require_key)
bp.register_error_handler(ServiceError, service_error)


@bp.route("", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "video/mp4": {"schema": {"type": "string", "format": "binary"}}}})
@bp.response(201, schemas.UploadSchema)
def upload():
    """Upload a video (the raw bytes as the body); use the answer's `video` to create a job."""
    stored = uploads.store(g.account, request.stream, declared_length=request.content_length)
    return {"video": {"s3_object": {"bucket": stored.bucket, "name": stored.name}},
            "size_bytes": stored.size_bytes, "content_type": stored.content_type}
