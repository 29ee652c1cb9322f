"""The REST API in this process against a real PostgreSQL and the real label model: keys,
multi-analysis jobs on one decode, progress, cursor pages, JSON Lines export, listing, cancel,
resubmit, uploads, and one tenant never seeing another's jobs."""
from __future__ import annotations

import json

from sqlalchemy import select

from jobs import api_keys, lifecycle
from jobs.database import session_scope
from jobs.records import ApiKey, Chunk, Job
from tests.jobs import brightness_analysis  # noqa: F401 - registers the test-only analysis


def _run(job_id: str) -> None:
    """What the Celery tasks do, in order, in this process."""
    plan = lifecycle.plan(job_id)
    for index in plan.chunk_indexes:
        lifecycle.analyze(job_id, index)
    assert lifecycle.finalize(job_id)


def _create(api, video, analyses=None, **extra):
    body = {"video": video, "analyses": {"labels": {"MinConfidence": 60}, "brightness": {}} if analyses is None else analyses, **extra}
    return api.post("/v1/jobs", json=body)


def test_keys_are_stored_as_hashes_and_revocable(rest_app, framewise_env):
    from tests.web.conftest import Caller

    with session_scope() as session:
        new = api_keys.create(session, name="short-lived")
    with session_scope() as session:
        stored = session.get(ApiKey, new.id)
        assert new.key not in (stored.key_hash, stored.id, stored.account) and len(stored.key_hash) == 64
    caller = Caller(rest_app, new.key)
    assert caller.get("/v1/jobs").status_code == 200
    with session_scope() as session:
        api_keys.revoke(session, new.id)
    refused = caller.get("/v1/jobs")
    assert refused.status_code == 401 and refused.json["code"] == "Unauthorized"
    assert Caller(rest_app, new.key + "x").get("/v1/jobs").status_code == 401
    assert rest_app.test_client().get("/v1/jobs").status_code == 401


def test_a_multi_analysis_job_decodes_once_and_pages_its_results(api, video):
    created = _create(api, video, job_tag="two-analyses")
    assert created.status_code == 201, created.json
    job = created.json
    assert job["status"] == "queued" and job["job_status"] == "IN_PROGRESS"
    assert [a["name"] for a in job["analyses"]] == ["brightness", "labels"]
    assert job["analyses"][1]["options"]["MinConfidence"] == 60.0
    _run(job["id"])
    with session_scope() as session:
        decodes = session.scalars(select(Chunk.decodes).where(Chunk.job_id == job["id"])).all()
    assert decodes == [1, 1, 1], "one decode per chunk serves both analyses"
    assert api.get(f"/v1/jobs/{job['id']}").json["decode_passes"] == 3

    status = api.get(f"/v1/jobs/{job['id']}").json
    assert status["status"] == "succeeded" and status["progress"]["percent"] == 100.0
    assert status["progress"]["frames_done"] == 18 and status["started_at"] and status["finished_at"]
    assert status["analyses"][0]["results"] == {"TIMESTAMPS": 9}  # brightness at 1 fps over 9 s

    seen, cursor, pages = [], None, 0
    while True:
        page = api.get(f"/v1/jobs/{job['id']}/results/labels",
                       query_string={"limit": 7, "sort": "NAME", **({"cursor": cursor} if cursor else {})}).json
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages > 1 and len(seen) == status["analyses"][1]["results"]["TIMESTAMPS"]
    assert len({json.dumps(i, sort_keys=True) for i in seen}) == len(seen)
    names = [(i["Label"]["Name"], -i["Label"]["Confidence"]) for i in seen]
    assert names == sorted(names)

    export = api.get(f"/v1/jobs/{job['id']}/results.jsonl")
    assert export.status_code == 200 and export.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in export.data.decode().splitlines()]
    counts = {}
    for line in lines:
        counts[(line["analysis"], line["aggregate"])] = counts.get((line["analysis"], line["aggregate"]), 0) + 1
    assert counts[("brightness", "TIMESTAMPS")] == 9
    assert counts[("labels", "TIMESTAMPS")] == len(seen) and ("labels", "SEGMENTS") in counts

    # The AWS Get of the same job reads the same rows.
    from jobs import services

    with session_scope() as session:
        account = session.get(Job, job["id"]).account
        answer = services.get_results(session, account, "labels", job["id"])
    assert answer["JobStatus"] == "SUCCEEDED" and len(answer["Labels"]) == len(seen)


def test_bad_requests_are_refused_with_reasons(api, video):
    unknown = _create(api, video, {"nosuch": {}})
    assert unknown.status_code == 400 and "Unknown analysis" in unknown.json["message"]
    bad_option = _create(api, video, {"labels": {"MinConfidence": "high"}})
    assert bad_option.status_code == 400 and "MinConfidence" in bad_option.json["message"]
    missing = _create(api, {"s3_object": {"bucket": "unit", "name": "absent.mp4"}})
    assert missing.status_code == 400 and missing.json["code"] == "InvalidS3ObjectException"
    empty = _create(api, video, {})
    assert empty.status_code == 422 and "analyses" in empty.json["errors"]["json"]
    assert api.get("/v1/jobs", query_string={"cursor": "forged"}).json["code"] == "InvalidPaginationTokenException"


def test_tenants_never_see_each_other(api, other, video):
    job_id = _create(api, video).json["id"]
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/results/labels", f"/v1/jobs/{job_id}/results.jsonl"):
        answer = other.get(path)
        assert answer.status_code == 404 and answer.json["code"] == "ResourceNotFoundException", path
    for path in (f"/v1/jobs/{job_id}/cancel", f"/v1/jobs/{job_id}/resubmit"):
        assert other.post(path).status_code == 404, path
    assert other.post("/v1/webhooks", json={"url": "https://example.com/h", "job_id": job_id}).status_code == 404
    assert job_id not in {j["id"] for j in other.get("/v1/jobs", query_string={"limit": 200}).json["jobs"]}
    assert api.get(f"/v1/jobs/{job_id}").status_code == 200


def test_list_filters_and_cursor_pages(api, video):
    ids = [_create(api, video, {"brightness": {}}).json["id"] for _ in range(3)]
    labelled = _create(api, video, {"labels": {}}).json["id"]
    for job_id in ids + [labelled]:
        api.post(f"/v1/jobs/{job_id}/cancel")  # stay under the concurrent-job limit
    walked, cursor = [], None
    while True:
        page = api.get("/v1/jobs", query_string={"limit": 2, "analysis": "brightness",
                                                 **({"cursor": cursor} if cursor else {})}).json
        walked += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert walked[:3] == ids[::-1], "newest first"
    assert labelled not in walked and len(walked) == len(set(walked))
    cancelled = api.get("/v1/jobs", query_string={"status": ["cancelled"], "limit": 200}).json["jobs"]
    assert set(ids) <= {j["id"] for j in cancelled}
    later = api.get("/v1/jobs", query_string={"created_after": "2999-01-01T00:00:00+00:00"}).json
    assert later == {"jobs": [], "next_cursor": None}


def test_cancel_a_queued_job_and_resubmit_it(api, video, framewise_env):
    from jobs import services

    job_id = _create(api, video, {"brightness": {}}).json["id"]
    cancelled = api.post(f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status_code == 202 and cancelled.json["status"] == "cancelled"
    assert api.post(f"/v1/jobs/{job_id}/cancel").status_code == 409
    with session_scope() as session:
        account = session.get(Job, job_id).account
        aws = services.get_results(session, account, "brightness", job_id)
    assert aws["JobStatus"] == "FAILED" and aws["StatusMessage"] == "The job was cancelled."

    again = api.post(f"/v1/jobs/{job_id}/resubmit")
    assert again.status_code == 201 and again.json["resubmitted_from"] == job_id
    assert again.json["id"] != job_id and again.json["status"] == "queued"
    _run(again.json["id"])
    assert api.get(f"/v1/jobs/{again.json['id']}").json["job_status"] == "SUCCEEDED"
    assert api.post(f"/v1/jobs/{again.json['id']}/resubmit").status_code == 409, "only failed or cancelled"


def test_cancel_a_planned_job_no_worker_holds_ends_it_at_once(api, video):
    job_id = _create(api, video, {"brightness": {}}).json["id"]
    plan = lifecycle.plan(job_id)
    assert api.get(f"/v1/jobs/{job_id}").json["status"] == "analyzing"
    assert api.post(f"/v1/jobs/{job_id}/cancel").json["status"] == "cancelled"
    assert [lifecycle.analyze(job_id, i) for i in plan.chunk_indexes] == [lifecycle.ChunkOutcome.SKIPPED] * 3


def test_uploads_are_sniffed_limited_and_usable(api, photo_video):
    with open(photo_video, "rb") as body:
        stored = api.post("/v1/uploads", data=body, content_type="application/octet-stream")
    assert stored.status_code == 201, stored.json
    assert stored.json["content_type"] == "video/mp4" and stored.json["size_bytes"] == photo_video.stat().st_size
    job = _create(api, stored.json["video"], {"brightness": {}})
    assert job.status_code == 201
    api.post(f"/v1/jobs/{job.json['id']}/cancel")
    text = api.post("/v1/uploads", data=b"not a video at all" * 100, content_type="application/octet-stream")
    assert text.status_code == 400 and "not a video" in text.json["message"]


def test_uploads_over_the_limit_are_refused_while_streaming(api, photo_video, monkeypatch):
    import io

    import pytest

    from jobs import uploads
    from jobs.errors import VideoTooLarge
    from jobs.settings import get_settings

    monkeypatch.setenv("FRAMEWISE_MAX_VIDEO_BYTES", "100000")
    get_settings.cache_clear()
    try:
        with open(photo_video, "rb") as body:
            declared = api.post("/v1/uploads", data=body, content_type="application/octet-stream")
        assert declared.status_code == 413 and declared.json["code"] == "VideoTooLargeException"

        class Stream(io.RawIOBase):
            """A body of unknown length that counts what was read from it."""

            def __init__(self):
                self.read_bytes = 0

            def read(self, n=-1):
                n = 1024 * 1024 if n is None or n < 0 else n
                self.read_bytes += n
                return b"\0" * n

        endless = Stream()
        with pytest.raises(VideoTooLarge):
            uploads.store("someone", endless, declared_length=None)
        assert endless.read_bytes <= 100000 + 1024 * 1024, "stopped at the limit, one read past it at most"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_the_keys_command_creates_lists_and_revokes(rest_app, capsys):
    from jobs import cli
    from tests.web.conftest import Caller

    cli.main(["keys", "create", "--name", "from-the-cli"])
    key = capsys.readouterr().out.strip().splitlines()[-1]
    key_id = key.split("_")[1]
    assert Caller(rest_app, key).get("/v1/jobs").status_code == 200
    cli.main(["keys", "list"])
    listed = capsys.readouterr().out
    assert key_id in listed and "from-the-cli" in listed and key not in listed
    cli.main(["keys", "revoke", key_id])
    assert capsys.readouterr().out.strip() == f"revoked {key_id}"
    assert Caller(rest_app, key).get("/v1/jobs").status_code == 401
    cli.main(["keys", "list"])
    assert key_id not in capsys.readouterr().out
    cli.main(["keys", "list", "--all"])
    assert "revoked" in capsys.readouterr().out


def test_a_client_request_token_answers_the_same_job(api, other, video):
    first = _create(api, video, {"brightness": {}}, client_request_token="tok-rest-1").json["id"]
    assert _create(api, video, {"brightness": {}}, client_request_token="tok-rest-1").json["id"] == first
    clash = _create(api, video, {"labels": {}}, client_request_token="tok-rest-1")
    assert clash.status_code == 409 and clash.json["code"] == "IdempotentParameterMismatchException"
    theirs = _create(other, video, {"brightness": {}}, client_request_token="tok-rest-1").json["id"]
    assert theirs != first, "a token is its own tenant's business"
    for job_id, caller in ((first, api), (theirs, other)):
        caller.post(f"/v1/jobs/{job_id}/cancel")
