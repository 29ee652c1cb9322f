"""One function per user action: start a job, read its results.

Services take the caller's session (as warehouse's take the request's): the edge — a Flask view,
a Celery task, a test — opens one transaction and passes it in, so several calls commit or roll
back together. Work that must follow the commit (queueing the job) hangs on the session's
after-commit hook.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import analyses, pagination
from jobs.analyses import Analysis, Order
from jobs.errors import (
    IdempotentParameterMismatch,
    InvalidParameter,
    InvalidS3Object,
    LimitExceeded,
    ResourceInUse,
    ResourceNotFound,
    VideoTooLarge,
)
from jobs.records import Chunk, Job, JobAnalysis, Phase, Result, utcnow
from jobs.settings import get_settings
from jobs.storage import VideoRef, head

MAX_RESULTS_CAP = 1000
_UNFINISHED = [p.value for p in Phase if not p.finished]


def _params_hash(request: dict) -> str:
    """A canonical hash of the Start request, less the token, for idempotency checks."""
    body = {k: v for k, v in request.items() if k != "ClientRequestToken"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, account: str, operation: str, token: str, params_hash: str) -> str | None:
    """The JobId an earlier call with this token made, if any and still remembered."""
    remembered_since = utcnow() - dt.timedelta(days=get_settings().client_token_ttl_days)
    job = session.scalar(select(Job).where(
        Job.account == account, Job.operation == operation, Job.client_token == token))
    if job is None:
        return None
    if job.created_at < remembered_since:
        job.client_token = None  # forgotten: the token may be used again
        session.flush()
        return None
    if job.params_hash != params_hash:
        raise IdempotentParameterMismatch(f"The ClientRequestToken: {token} you have supplied is already in use.")
    return job.id


def video_ref(request: dict) -> VideoRef:
    s3 = (request.get("Video") or {}).get("S3Object")
    if not s3 or not s3.get("Bucket") or not s3.get("Name"):
        raise InvalidParameter("Video.S3Object must name a Bucket and a Name.")
    for member in ("Bucket", "Name", "Version"):
        value = s3.get(member) or ""
        if "\x00" in value or value.encode("utf-8", "surrogatepass") != value.encode("utf-8", "ignore"):
            raise InvalidS3Object(f"Video.S3Object.{member} contains a NUL character or an unpaired surrogate.")
    return VideoRef(bucket=s3["Bucket"], name=s3["Name"], version=s3.get("Version"))


def _check_limit(session: Session, account: str, limit: int) -> None:
    """LimitExceeded when the tenant already has `limit` unfinished jobs.

    A per-tenant advisory lock, held to the end of the inserting transaction, makes
    count-then-insert atomic, so a burst of parallel Starts cannot overshoot. Cheap and side-effect
    free: boto3 retries this error twice."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"framewise-limit:{account}"))))
    running = session.scalar(select(func.count()).select_from(Job).where(
        Job.account == account, Job.phase.in_(_UNFINISHED)))
    if running >= limit:
        raise LimitExceeded(f"{running} open Jobs for User {account} Maximum limit: {limit}")


def start_job(session: Session, account: str, *, operation: str, request: dict,
              planned: dict[str, dict]) -> str:
    """Validate, deduplicate and record a job that runs the `planned` analyses (name -> pinned
    options) on the request's video. The job is queued once the caller commits."""
    from jobs.tasks import enqueue_after_commit, plan_job

    settings = get_settings()
    token = request.get("ClientRequestToken")
    params_hash = _params_hash(request)
    if token:
        existing = _replay(session, account, operation, token, params_hash)
        if existing:
            return existing

    if request.get("NotificationChannel") and not settings.sns_endpoint_url:
        # Accepting it and sending nothing would leave the caller waiting on a topic for ever.
        raise InvalidParameter("NotificationChannel needs an SNS endpoint, and this server has none "
                               "(FRAMEWISE_SNS_ENDPOINT_URL). Leave it out: completion notices are published "
                               "on the server's Redis channel and stream, or poll the Get operation.")
    ref = video_ref(request)
    info = head(ref)
    if info.size_bytes > settings.max_video_bytes:
        raise VideoTooLarge(f"Video size in bytes: {info.size_bytes} is more than the maximum limit of: "
                            f"{settings.max_video_bytes} bytes.")
    for name, options in planned.items():
        analyses.get(name).check_start(session, account, options)

    now = utcnow()
    job = Job(
        id=secrets.token_hex(32), account=account, operation=operation, phase=Phase.QUEUED.value,
        client_token=token, params_hash=params_hash,
        params={k: v for k, v in request.items() if k != "ClientRequestToken"},
        video_bucket=ref.bucket, video_name=ref.name, video_version=ref.version,
        job_tag=request.get("JobTag"), created_at=now, updated_at=now,
        expires_at=now + dt.timedelta(days=settings.results_ttl_days),
        analyses=[JobAnalysis(analysis=name, options=options, sample_fps=analyses.get(name).sample_fps(options),
                              model_versions=analyses.get(name).model_versions(options))
                  for name, options in planned.items()],
    )
    _check_limit(session, account, settings.max_concurrent_jobs)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # A concurrent call with the same token won the race: answer as a replay would.
        existing = _replay(session, account, operation, token, params_hash) if token else None
        if existing:
            return existing
        raise
    from jobs import notify

    notify.record_event(session, job, "job.queued")
    enqueue_after_commit(session, plan_job, job.id)
    return job.id


def start_analysis_job(session: Session, account: str, params: dict, *, analysis: str) -> dict:
    """A Rekognition Start* call: one job running one analysis."""
    chosen = analyses.get(analysis)
    options = chosen.options(params, get_settings())
    job_id = start_job(session, account, operation=chosen.start_op, request=params, planned={analysis: options})
    return {"JobId": job_id}


def find_job(session: Session, account: str, job_id: str, analysis: str | None = None) -> Job:
    """The caller's job, or ResourceNotFound: another tenant's job, an expired one, or one that
    does not run `analysis`, is as absent as one that never existed."""
    job = session.get(Job, job_id)
    if (job is None or job.account != account or job.expires_at < utcnow()
            or (analysis is not None and job.analysis(analysis) is None)):
        raise ResourceNotFound(f"The job {job_id} was not found.")
    return job


@dataclass(frozen=True)
class JobFilter:
    """Which jobs an operator lists: None means any."""

    account: str | None = None
    status: str | None = None  # a Rekognition JobStatus: IN_PROGRESS, SUCCEEDED or FAILED
    analysis: str | None = None  # a registry name
    since: dt.datetime | None = None
    until: dt.datetime | None = None


JOB_STATUSES = tuple(dict.fromkeys(p.job_status for p in Phase))


def _jobs_query(query, *, analysis: str | None, since: dt.datetime | None, until: dt.datetime | None):
    """The filters both job listings (the admin pages', the REST API's) share."""
    if analysis:
        query = query.where(Job.analyses.any(JobAnalysis.analysis == analysis))
    if since:
        query = query.where(Job.created_at >= since)
    if until:
        query = query.where(Job.created_at < until)
    return query


def _newest_first(session: Session, query, after: tuple[dt.datetime, str] | None,
                  limit: int) -> tuple[list[Job], tuple[dt.datetime, str] | None]:
    """One keyset page of jobs, newest first: (created_at, id) < after; and the next page's key."""
    if after:
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(*after))
    rows = list(session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].created_at, rows[-1].id) if more else None)


def list_all_jobs(session: Session, filters: JobFilter, *, after: tuple[dt.datetime, str] | None = None,
                  limit: int = 50) -> tuple[list[Job], tuple[dt.datetime, str] | None]:
    """Jobs of every tenant (or one), newest first, one keyset page: (created_at, id) < after.
    Returns the page and the key to pass as `after` for the next one (None on the last page)."""
    query = select(Job)
    if filters.account:
        query = query.where(Job.account == filters.account)
    if filters.status:
        if filters.status not in JOB_STATUSES:
            raise InvalidParameter(f"Status must be one of {', '.join(JOB_STATUSES)}.")
        query = query.where(Job.phase.in_([p.value for p in Phase if p.job_status == filters.status]))
    if filters.analysis:
        analyses.get(filters.analysis)  # KeyError for a name the registry does not know
    query = _jobs_query(query, analysis=filters.analysis, since=filters.since, until=filters.until)
    return _newest_first(session, query, after, limit)


def job_accounts(session: Session) -> list[str]:
    """The tenants that have jobs, for an operator's filter."""
    return list(session.scalars(select(Job.account).distinct().order_by(Job.account)))


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
    rows: list[Result]
    next_key: list | None


def _order_columns(order: Order) -> tuple:
    if order is Order.TIME:
        return (Result.timestamp_millis, Result.id)
    return (Result.group_key, Result.rank, Result.id)


def page_query(job_id: str, analysis: str, *, order: Order, aggregate: str, after: list | None, limit: int):
    """One keyset page of an analysis's results, read by an index range scan in either order:
    the cursor compares row values, (a, b, id) > (x, y, z), in the index's own direction."""
    columns = _order_columns(order)
    query = select(Result).where(Result.job_id == job_id, Result.analysis == analysis,
                                 Result.aggregate == aggregate)
    if after:
        query = query.where(tuple_(*columns) > tuple_(*after))
    return query.order_by(*columns).limit(limit)


def results_page(session: Session, job_id: str, analysis: str, *, order: Order, aggregate: str,
                 after: list | None, limit: int) -> Page:
    columns = _order_columns(order)
    rows = list(session.scalars(page_query(job_id, analysis, order=order, aggregate=aggregate, after=after,
                                           limit=limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_key = [getattr(rows[-1], column.key) for column in columns] if more else None
    return Page(rows, next_key)


def _order(analysis: str, sort_by: str | None, aggregate_by: str | None, *, names: tuple[str, str],
           scope: str = "") -> tuple[Analysis, str, str]:
    """The analysis and the Get order asked for (its defaults when not), or InvalidParameter naming
    the caller's own parameters (`names`)."""
    chosen = analyses.get(analysis)
    sort_by = sort_by or next(iter(chosen.sorts))
    aggregate_by = aggregate_by or chosen.aggregations[0]
    if sort_by not in chosen.sorts:
        raise InvalidParameter(f"{names[0]} must be one of {', '.join(chosen.sorts)}{scope}.")
    if aggregate_by not in chosen.aggregations:
        raise InvalidParameter(f"{names[1]} must be one of {', '.join(chosen.aggregations)}{scope}.")
    return chosen, sort_by, aggregate_by


def _signed_page(session: Session, job: Job, chosen: Analysis, sort_by: str, aggregate_by: str, token: str | None,
                 limit: int, *, view: str) -> tuple[list[dict], str | None]:
    """One page of a job's items after a signed cursor, and the signed cursor of the next (None on the last)."""
    settings = get_settings()
    after = None
    if token:
        after = pagination.decode(settings.secret_key, token, job_id=job.id, view=view,
                                  ttl_seconds=settings.next_token_ttl_hours * 3600)
    page = results_page(session, job.id, chosen.name, order=chosen.sorts[sort_by], aggregate=aggregate_by,
                        after=after, limit=limit)
    following = None
    if page.next_key is not None:
        following = pagination.encode(settings.secret_key, job_id=job.id, view=view, key=page.next_key)
    return [chosen.item(row) for row in page.rows], following


def get_results(session: Session, account: str, analysis: str, job_id: str, *, max_results: int | None = None,
                next_token: str | None = None, sort_by: str | None = None,
                aggregate_by: str | None = None) -> dict:
    """A Get* answer: the job's state and, once it SUCCEEDED, one page of the analysis's items."""
    chosen, sort_by, aggregate_by = _order(analysis, sort_by, aggregate_by, names=("SortBy", "AggregateBy"))
    limit = min(max_results or MAX_RESULTS_CAP, MAX_RESULTS_CAP)

    job = find_job(session, account, job_id, analysis)
    record = job.analysis(analysis)
    out = job_envelope(job)
    if chosen.request_metadata_key:
        out[chosen.request_metadata_key] = {"SortBy": sort_by, "AggregateBy": aggregate_by}
    if out["JobStatus"] == "IN_PROGRESS" and job.frames_total:
        # Not in Rekognition's contract, harmless to its clients: progress from the job's rows.
        from jobs import progress

        out["StatusMessage"] = progress.of(session, job).sentence()
    if out["JobStatus"] != "SUCCEEDED":
        return out
    out[chosen.items_key], following = _signed_page(session, job, chosen, sort_by, aggregate_by, next_token, limit,
                                                    view=f"{analysis}/{sort_by}/{aggregate_by}")
    if following is not None:
        out["NextToken"] = following
    chosen.decorate(out, job, record)
    return out


def get_analysis_results(session: Session, account: str, params: dict, *, analysis: str) -> dict:
    """A Rekognition Get* call."""
    return get_results(session, account, analysis, params["JobId"], max_results=params.get("MaxResults"),
                       next_token=params.get("NextToken") or None, sort_by=params.get("SortBy"),
                       aggregate_by=params.get("AggregateBy"))


# --- the REST API's actions (web/rest): several analyses per job, status, listing, cancel, resubmit ---

REST_OPERATION = "CreateJob"  # Job.operation of a REST job; the "API" of its completion notice


def analysis_options(name: str, given: dict) -> dict:
    """Pin one analysis's options for a REST job. The options are the members of the analysis's
    Rekognition Start* request (MinConfidence, Settings, …); the edge has checked them against
    botocore's model of that request."""
    try:
        chosen = analyses.get(name)
    except KeyError as error:
        raise InvalidParameter(f"Unknown analysis {name!r}; known: {', '.join(sorted(analyses.registry()))}.") \
            from error
    reserved = {"Video", "ClientRequestToken", "JobTag", "NotificationChannel"} & set(given)
    if reserved:
        raise InvalidParameter(f"{name}: {', '.join(sorted(reserved))} belong to the job, not to an analysis.")
    return chosen.options(given, get_settings())


def start_rest_job(session: Session, account: str, *, video: dict, wanted: dict[str, dict],
                   job_tag: str | None = None, client_token: str | None = None) -> str:
    """A REST job: one video, several analyses, one decode of each chunk."""
    if not wanted:
        raise InvalidParameter("Name at least one analysis.")
    planned = {name: analysis_options(name, options or {}) for name, options in sorted(wanted.items())}
    request: dict = {"Video": video, "Analyses": {name: options or {} for name, options in sorted(wanted.items())}}
    if job_tag:
        request["JobTag"] = job_tag
    if client_token:
        request["ClientRequestToken"] = client_token
    return start_job(session, account, operation=REST_OPERATION, request=request, planned=planned)


def result_counts(session: Session, job_id: str) -> dict[tuple[str, str], int]:
    rows = session.execute(select(Result.analysis, Result.aggregate, func.count())
                           .where(Result.job_id == job_id).group_by(Result.analysis, Result.aggregate))
    return {(analysis, aggregate): count for analysis, aggregate, count in rows}


def decode_passes(session: Session, job_id: str) -> int:
    return session.scalar(select(func.coalesce(func.sum(Chunk.decodes), 0)).where(Chunk.job_id == job_id))


def list_jobs(session: Session, account: str, *, phases: list[str] | None = None, analysis: str | None = None,
              created_after: dt.datetime | None = None, created_before: dt.datetime | None = None,
              cursor: str | None = None, limit: int = 50) -> tuple[list[Job], str | None]:
    """The tenant's jobs, newest first, in keyset pages of (created_at, id) behind a signed cursor."""
    settings = get_settings()
    query = select(Job).where(Job.account == account, Job.expires_at >= utcnow())
    if phases:
        query = query.where(Job.phase.in_(phases))
    query = _jobs_query(query, analysis=analysis, since=created_after, until=created_before)
    after = None
    if cursor:
        at, job_id = pagination.decode(settings.secret_key, cursor, job_id=account, view="rest:jobs",
                                       ttl_seconds=settings.next_token_ttl_hours * 3600)
        after = (dt.datetime.fromisoformat(at), job_id)
    jobs, next_key = _newest_first(session, query, after, limit)
    following = None
    if next_key is not None:
        following = pagination.encode(settings.secret_key, job_id=account, view="rest:jobs",
                                      key=[next_key[0].isoformat(), next_key[1]])
    return jobs, following


def rest_results_page(session: Session, account: str, job_id: str, analysis: str, *, sort_by: str | None,
                      aggregate_by: str | None, cursor: str | None, limit: int) -> tuple[Job, list[dict], str | None]:
    """One cursor page of one analysis's items of a SUCCEEDED job (none before)."""
    job = find_job(session, account, job_id, analysis)
    chosen, sort_by, aggregate_by = _order(analysis, sort_by, aggregate_by, names=("sort", "aggregate"),
                                           scope=f" for {analysis}")
    if job.phase_enum is not Phase.SUCCEEDED:
        return job, [], None
    items, following = _signed_page(session, job, chosen, sort_by, aggregate_by, cursor, min(limit, MAX_RESULTS_CAP),
                                    view=f"rest:{analysis}/{sort_by}/{aggregate_by}")
    return job, items, following


def export_rows(session: Session, job: Job):
    """Every item of every analysis of a SUCCEEDED job, in time order, streamed from the database."""
    for record in job.analyses:
        chosen = analyses.get(record.analysis)
        for aggregate in chosen.aggregations:
            rows = session.scalars(page_query(job.id, record.analysis, order=Order.TIME, aggregate=aggregate,
                                              after=None, limit=None).execution_options(yield_per=1000))
            for row in rows:
                yield {"analysis": record.analysis, "aggregate": aggregate, "item": chosen.item(row)}


def cancel_job(session: Session, account: str, job_id: str) -> Job:
    """Ask a job to stop. A queued job ends now; a running one ends CANCELLED when its workers next
    look, after the batch in hand. A finished job is left as it is."""
    from jobs import lifecycle
    from jobs.tasks import dispatch_notifications, enqueue_after_commit

    find_job(session, account, job_id)
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job.phase_enum.finished:
        raise ResourceInUse(f"The job {job_id} has already ended ({job.phase}).")
    if job.phase_enum is Phase.FINALIZING:
        raise ResourceInUse(f"The job {job_id} is finishing; it can no longer be cancelled.")
    job.cancel_requested = True
    running = session.scalar(select(func.count()).select_from(Chunk).where(
        Chunk.job_id == job.id, Chunk.state == "running"))
    if job.phase_enum is Phase.QUEUED or (job.phase_enum is Phase.ANALYZING and not running):
        # No worker holds any of it: end it now (a chunk claimed meanwhile stops at its first batch).
        lifecycle.end(session, job, Phase.CANCELLED, "The job was cancelled.")
        enqueue_after_commit(session, dispatch_notifications)
    return job


def resubmit_job(session: Session, account: str, job_id: str) -> str:
    """Run a failed or cancelled job again as a new job with the same video and pinned options."""
    old = find_job(session, account, job_id)
    if old.phase_enum not in (Phase.FAILED, Phase.CANCELLED):
        raise ResourceInUse(f"Only a failed or cancelled job can be resubmitted; {job_id} is {old.phase}.")
    new_id = start_job(session, account, operation=old.operation, request=dict(old.params or {}),
                       planned={a.analysis: dict(a.options) for a in old.analyses})
    session.get(Job, new_id).resubmitted_from = old.id
    return new_id


def delete_job_results(session: Session, account: str, job_id: str) -> None:
    """Forget an ended job and its results now, as retention would after results_ttl_days (its
    chunks, analyses, results and outbox rows go with it by cascade)."""
    job = find_job(session, account, job_id)
    if not job.phase_enum.finished:
        raise ResourceInUse(f"The job {job_id} is still running ({job.phase}); cancel it first.")
    session.delete(job)
