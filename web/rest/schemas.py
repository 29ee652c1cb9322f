"""The REST API's marshmallow schemas: they validate requests, shape responses, and are the
OpenAPI document (flask-smorest/apispec generate it from them)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from jobs.records import Phase

ANALYSIS_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$")


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Error name (Rekognition's where one applies)."})
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Field-by-field messages for invalid parameters."})


class S3ObjectSchema(Schema):
    bucket = fields.String(required=True, validate=validate.Length(3, 255))
    name = fields.String(required=True, validate=validate.Length(1, 1024))
    version = fields.String(validate=validate.Length(1, 1024))


class VideoSchema(Schema):
    s3_object = fields.Nested(S3ObjectSchema, required=True)


class JobCreateSchema(Schema):
    video = fields.Nested(VideoSchema, required=True,
                          metadata={"description": "An S3 object, or what POST /v1/uploads answered."})
    analyses = fields.Dict(
        keys=fields.String(validate=ANALYSIS_NAME), values=fields.Dict(), required=True,
        metadata={"description": "Analysis name -> its options: the members of that analysis's Rekognition "
                                 "Start* request (e.g. labels: {\"MinConfidence\": 70}). GET /v1/jobs/analyses "
                                 "lists the analyses this server runs. All of them share one decode."})
    job_tag = fields.String(validate=[validate.Length(1, 1024), validate.Regexp(r"^[a-zA-Z0-9_.\-:+=/]+$")])
    client_request_token = fields.String(validate=[validate.Length(1, 64), validate.Regexp(r"^[a-zA-Z0-9-_]+$")],
                                         metadata={"description": "Idempotency token: the same token and body "
                                                                  "answer the same job."})

    @validates("analyses")
    def _some(self, value, **_kwargs):
        if not value:
            raise ValidationError("Name at least one analysis.")


class ProgressSchema(Schema):
    frames_done = fields.Integer(required=True)
    frames_total = fields.Integer(required=True, metadata={"description": "Sampled frames expected (estimate)."})
    percent = fields.Float(required=True)
    eta_seconds = fields.Float(required=True, allow_none=True,
                               metadata={"description": "From the measured rate; null until it is known."})


class JobAnalysisSchema(Schema):
    name = fields.String(required=True)
    state = fields.String(required=True)
    options = fields.Dict(required=True)
    sample_fps = fields.Float(required=True, allow_none=True)
    model_versions = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    results = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                          metadata={"description": "Stored items per aggregation."})


class JobSchema(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([p.value for p in Phase]))
    job_status = fields.String(required=True, metadata={"description": "As Rekognition's Get* would say it."})
    status_message = fields.String(required=True, allow_none=True)
    job_tag = fields.String(required=True, allow_none=True)
    video = fields.Nested(VideoSchema, required=True)
    analyses = fields.List(fields.Nested(JobAnalysisSchema), required=True)
    progress = fields.Nested(ProgressSchema, required=True)
    decode_passes = fields.Integer(required=True, metadata={"description": "Decode passes over the video, all "
                                                                           "chunks and attempts: one per chunk "
                                                                           "however many analyses run."})
    cancel_requested = fields.Boolean(required=True)
    resubmitted_from = fields.String(required=True, allow_none=True)
    video_metadata = fields.Dict(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


class JobListArgs(Schema):
    status = fields.List(fields.String(validate=validate.OneOf([p.value for p in Phase])),
                         metadata={"description": "Only jobs in these phases."})
    analysis = fields.String(validate=ANALYSIS_NAME, metadata={"description": "Only jobs running this analysis."})
    created_after = fields.AwareDateTime()
    created_before = fields.AwareDateTime()
    cursor = fields.String(validate=validate.Length(1, 1024))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class JobListSchema(Schema):
    jobs = fields.List(fields.Nested(JobSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class ResultArgs(Schema):
    sort = fields.String(validate=validate.Length(1, 32), metadata={"description": "The analysis's SortBy values."})
    aggregate = fields.String(validate=validate.Length(1, 32),
                              metadata={"description": "The analysis's AggregateBy values."})
    cursor = fields.String(validate=validate.Length(1, 1024))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class ResultPageSchema(Schema):
    job_id = fields.String(required=True)
    status = fields.String(required=True)
    analysis = fields.String(required=True)
    sort = fields.String(required=True)
    aggregate = fields.String(required=True)
    items = fields.List(fields.Dict(), required=True,
                        metadata={"description": "Items as the analysis's Rekognition Get* returns them; "
                                                 "empty until the job SUCCEEDED."})
    next_cursor = fields.String(required=True, allow_none=True)


class AnalysisInfoSchema(Schema):
    name = fields.String(required=True)
    rekognition_start = fields.String(required=True)
    sorts = fields.List(fields.String(), required=True)
    aggregations = fields.List(fields.String(), required=True)
    models = fields.List(fields.String(), required=True)


class AnalysisListSchema(Schema):
    analyses = fields.List(fields.Nested(AnalysisInfoSchema), required=True)


class UploadSchema(Schema):
    video = fields.Nested(VideoSchema, required=True)
    size_bytes = fields.Integer(required=True)
    content_type = fields.String(required=True)


class EndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(1, 2048))
    job_id = fields.String(validate=validate.Length(1, 64),
                           metadata={"description": "Only this job's events; unset: every job of this key."})
    description = fields.String(validate=validate.Length(1, 255))


class EndpointSchema(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    job_id = fields.String(required=True, allow_none=True)
    description = fields.String(required=True, allow_none=True)
    secret = fields.String(required=True, metadata={"description": "whsec_… signing secret (Standard Webhooks)."})
    created_at = fields.DateTime(required=True)


class EndpointListSchema(Schema):
    endpoints = fields.List(fields.Nested(EndpointSchema), required=True)


class AttemptSchema(Schema):
    attempted_at = fields.DateTime(required=True)
    status_code = fields.Integer(required=True, allow_none=True)
    latency_millis = fields.Integer(required=True)
    error = fields.String(required=True, allow_none=True)


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The webhook-id header."})
    type = fields.String(required=True)
    job_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(required=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)
    failed_at = fields.DateTime(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)
    log = fields.List(fields.Nested(AttemptSchema), required=True)


class DeliveryArgs(Schema):
    cursor = fields.Integer(validate=validate.Range(1), metadata={"description": "next_cursor of the last page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class DeliveryListSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)
    next_cursor = fields.Integer(required=True, allow_none=True)
