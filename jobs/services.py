"""One function per user action: start a job, read its results, cancel it.

The HTTP edge and the Celery tasks both call these; the rules live here once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import pagination
from jobs.database import session_scope
from jobs.errors import (
    IdempotentParameterMismatch,
    InvalidParameter,
    LimitExceeded,
    ResourceNotFound,
    VideoTooLarge,
)
from jobs.labels import label_segments
from jobs.records import Job, LabelDetection, Phase, utcnow
from jobs.settings import get_settings
from jobs.storage import VideoRef, head

LABELS = "StartLabelDetection"
MAX_RESULTS_CAP = 1000
_UNFINISHED = [p.value for p in Phase if not p.finished]


def _params_hash(request: dict) -> str:
    """A canonical hash of the Start request, less the token, for idempotency checks."""
    body = {k: v for k, v in request.items() if k != "ClientRequestToken"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, account: str, operation: str, token: str, params_hash: str) -> str | None:
    """The JobId an earlier call with this token made, if any and still remembered."""
    job = session.scalar(select(Job).where(
        Job.account == account, Job.operation == operation, Job.client_token == token))
    if job is None:
        return None
    if job.params_hash != params_hash:
        raise IdempotentParameterMismatch(f"The ClientRequestToken: {token} you have supplied is already in use.")
    return job.id


def _video_ref(request: dict) -> VideoRef:
    s3 = (request.get("Video") or {}).get("S3Object")
    if not s3 or not s3.get("Bucket") or not s3.get("Name"):
        raise InvalidParameter("Video.S3Object must name a Bucket and a Name.")
    return VideoRef(bucket=s3["Bucket"], name=s3["Name"], version=s3.get("Version"))


def _check_limit(session: Session, account: str, limit: int) -> None:
    """LimitExceeded when the tenant already has `limit` unfinished jobs.

    On PostgreSQL a per-tenant advisory lock, held to the end of the inserting transaction,
    makes count-then-insert atomic, so a burst of parallel Starts cannot overshoot. (SQLite
    serialises writers by itself.) Cheap and side-effect free: boto3 retries this twice."""
    if session.bind.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"framewise-limit:{account}"))))
    running = session.scalar(select(func.count()).select_from(Job).where(
        Job.account == account, Job.phase.in_(_UNFINISHED)))
    if running >= limit:
        raise LimitExceeded(f"{running} open Jobs for User {account} Maximum limit: {limit}")


def start_job(account: str, operation: str, request: dict) -> str:
    """Validate, deduplicate and record a Start* request; the job is queued after commit."""
    from jobs.tasks import enqueue_after_commit, plan_job

    settings = get_settings()
    token = request.get("ClientRequestToken")
    params_hash = _params_hash(request)
    if token:
        with session_scope() as session:
            existing = _replay(session, account, operation, token, params_hash)
        if existing:
            return existing

    ref = _video_ref(request)
    info = head(ref)
    if info.size_bytes > settings.max_video_bytes:
        raise VideoTooLarge(f"Video size in bytes: {info.size_bytes} is more than the maximum limit of: "
                            f"{settings.max_video_bytes} bytes.")

    now = utcnow()
    job = Job(
        id=secrets.token_hex(32), account=account, operation=operation, phase=Phase.QUEUED.value,
        client_token=token, params_hash=params_hash,
        params={k: v for k, v in request.items() if k != "ClientRequestToken"},
        video_bucket=ref.bucket, video_name=ref.name, video_version=ref.version,
        job_tag=request.get("JobTag"), created_at=now, updated_at=now,
        expires_at=now + dt.timedelta(days=settings.results_ttl_days),
    )
    try:
        with session_scope() as session:
            _check_limit(session, account, settings.max_concurrent_jobs)
            session.add(job)
            session.flush()
            enqueue_after_commit(session, plan_job, job.id)
    except IntegrityError:
        # A concurrent call with the same token won the race: answer as a replay would.
        with session_scope() as session:
            existing = _replay(session, account, operation, token, params_hash)
        if existing:
            return existing
        raise
    return job.id


def _job_for(session: Session, account: str, operation: str, job_id: str) -> Job:
    job = session.get(Job, job_id)
    # Another tenant's job, or one of another kind, is as absent as an expired one.
    if job is None or job.account != account or job.operation != operation or job.expires_at < utcnow():
        raise ResourceNotFound(f"The job {job_id} was not found.")
    return job


def _video_echo(job: Job) -> dict:
    s3 = {"Bucket": job.video_bucket, "Name": job.video_name}
    if job.video_version:
        s3["Version"] = job.video_version
    return {"S3Object": s3}


def job_envelope(job: Job) -> dict:
    """The members every Get* answer carries, whatever the job's state."""
    phase = job.phase_enum
    out = {"JobStatus": phase.job_status, "JobId": job.id, "Video": _video_echo(job)}
    if job.job_tag:
        out["JobTag"] = job.job_tag
    if phase.job_status == "FAILED":
        out["StatusMessage"] = job.status_message or "The job failed."
    if job.video_metadata and phase.job_status == "SUCCEEDED":
        out["VideoMetadata"] = job.video_metadata
    return out


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_key: list | None


def _keyset_page(session: Session, query, order_by: tuple, limit: int, key_of) -> Page:
    """One page in a keyset order: read limit + 1 rows to learn whether another page follows."""
    rows = session.scalars(query.order_by(*order_by).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"Timestamp": r.timestamp_millis, "Label": r.label} for r in rows]
    return Page(items, key_of(rows[-1]) if more else None)


def _label_page_by_time(session: Session, job_id: str, after: list | None, limit: int) -> Page:
    query = select(LabelDetection).where(LabelDetection.job_id == job_id)
    if after:
        ts, row_id = after
        query = query.where(or_(LabelDetection.timestamp_millis > ts,
                                and_(LabelDetection.timestamp_millis == ts, LabelDetection.id > row_id)))
    return _keyset_page(session, query, (LabelDetection.timestamp_millis, LabelDetection.id), limit,
                        lambda r: [r.timestamp_millis, r.id])


def _label_page_by_name(session: Session, job_id: str, after: list | None, limit: int) -> Page:
    # Grouped by name; within a name, highest confidence first (Rekognition's NAME order).
    query = select(LabelDetection).where(LabelDetection.job_id == job_id)
    if after:
        name, confidence, row_id = after
        query = query.where(or_(
            LabelDetection.name > name,
            and_(LabelDetection.name == name, LabelDetection.confidence < confidence),
            and_(LabelDetection.name == name, LabelDetection.confidence == confidence,
                 LabelDetection.id > row_id)))
    return _keyset_page(session, query, (LabelDetection.name, LabelDetection.confidence.desc(), LabelDetection.id),
                        limit, lambda r: [r.name, r.confidence, r.id])


def _label_page_by_segment(session: Session, job_id: str, sort_by: str, after: list | None,
                           limit: int) -> Page:
    # Segments are derived from the stored detections; the cursor is a position in that
    # deterministic list, which a finished job never changes.
    rows = session.execute(select(LabelDetection.timestamp_millis, LabelDetection.label)
                           .where(LabelDetection.job_id == job_id)
                           .order_by(LabelDetection.timestamp_millis, LabelDetection.id)).all()
    gap = int(1000 / get_settings().sample_fps * 1.5)
    segments = label_segments([(ts, label) for ts, label in rows], max_gap_millis=gap)
    if sort_by == "NAME":
        segments.sort(key=lambda s: (s.name, -s.label["Confidence"], s.start_millis))
    start = after[0] if after else 0
    chosen = segments[start:start + limit]
    items = [{"Timestamp": s.start_millis, "Label": s.label, "StartTimestampMillis": s.start_millis,
              "EndTimestampMillis": s.end_millis, "DurationMillis": s.end_millis - s.start_millis}
             for s in chosen]
    more = start + limit < len(segments)
    return Page(items, [start + limit] if more else None)


def get_label_detection(account: str, job_id: str, *, max_results: int | None = None,
                        next_token: str | None = None, sort_by: str | None = None,
                        aggregate_by: str | None = None) -> dict:
    settings = get_settings()
    sort_by = sort_by or "TIMESTAMP"
    aggregate_by = aggregate_by or "TIMESTAMPS"
    limit = min(max_results or MAX_RESULTS_CAP, MAX_RESULTS_CAP)
    view = f"labels/{sort_by}/{aggregate_by}"
    with session_scope() as session:
        job = _job_for(session, account, LABELS, job_id)
        out = job_envelope(job)
        out["GetRequestMetadata"] = {"SortBy": sort_by, "AggregateBy": aggregate_by}
        if out["JobStatus"] != "SUCCEEDED":
            return out
        after = None
        if next_token:
            after = pagination.decode(settings.secret_key, next_token, job_id=job.id, view=view,
                                      ttl_seconds=settings.next_token_ttl_hours * 3600)
        if aggregate_by == "SEGMENTS":
            page = _label_page_by_segment(session, job.id, sort_by, after, limit)
        elif sort_by == "NAME":
            page = _label_page_by_name(session, job.id, after, limit)
        else:
            page = _label_page_by_time(session, job.id, after, limit)
        out["Labels"] = page.items
        if page.next_key is not None:
            out["NextToken"] = pagination.encode(settings.secret_key, job_id=job.id, view=view,
                                                 key=page.next_key)
        if job.model_version:
            out["LabelModelVersion"] = job.model_version
        return out

