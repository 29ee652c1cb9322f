from __future__ import annotations

from web.validation import operation, validate


def test_valid_start_request_passes():
    assert validate(operation("StartLabelDetection"),
                    {"Video": {"S3Object": {"Bucket": "abc", "Name": "v.mp4"}}, "MinConfidence": 60}) == []


def test_what_botocore_leaves_to_the_server_is_checked():
    problems = validate(operation("GetLabelDetection"),
                        {"JobId": "x" * 65, "SortBy": "BOGUS", "MaxResults": 5000, "Extra": 1})
    text = " | ".join(problems)
    assert "Unknown parameter" in text and "JobId is longer than 64" in text and "SortBy must be one of" in text
    assert "MaxResults must be" not in text, "MaxResults above 1000 is capped, not refused"


def test_required_and_type_errors():
    problems = validate(operation("StartLabelDetection"), {"MinConfidence": "high"})
    assert any("Missing required parameter" in p for p in problems)
    assert any("MinConfidence" in p for p in problems)
