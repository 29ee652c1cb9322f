"""Schemathesis drives the REST API from its own /v1/openapi.json: generated requests, valid and
invalid, never get a 5xx nor a response the document does not describe.

Bounded (a few examples per operation) so it runs in minutes on two cores; it runs in-process
against the real PostgreSQL with a real API key."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.jobs import brightness_analysis  # noqa: F401 - a second analysis to choose from

EXAMPLES = 30


def test_the_document_is_openapi_3_1_with_every_route(rest_app):
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    document = rest_app.test_client().get("/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)  # raises on any departure from OpenAPI 3.1
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/results/{analysis}", "/v1/jobs/{job_id}/cancel",
            "/v1/jobs/{job_id}/resubmit", "/v1/jobs/{job_id}/results.jsonl", "/v1/uploads", "/v1/webhooks",
            "/v1/webhooks/{endpoint_id}/deliveries"} <= set(document["paths"])
    assert rest_app.test_client().get("/v1/docs").status_code == 200


def test_api_conforms_to_its_document(rest_app, key_a):
    # Each operation's strategy under hypothesis directly: schemathesis's lazy pytest fixture
    # (from_fixture) does not run under pytest 9.
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", rest_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {key_a}"}, checks=checks)

        conforms()
