"""/v1/jobs: create a job of one or several analyses, read its status and progress, page its
results, export them as JSON Lines, cancel, resubmit, list."""
from __future__ import annotations

import json

from flask import Response, g, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from jobs import analyses, progress, services
from jobs.database import new_session, session_scope
from jobs.errors import InvalidParameter, ResourceNotReady, ServiceError
from jobs.records import Job, Phase
from web import validation
from web.rest import schemas
from web.rest.auth import require_key
from web.rest.errors import service_error

bp = Blueprint("jobs", __name__, description="Video analysis jobs")
bp.before_request(require_key)
bp.register_error_handler(ServiceError, service_error)


def _video(job: Job) -> dict:
    s3 = {"bucket": job.video_bucket, "name": job.video_name}
    if job.video_version:
        s3["version"] = job.video_version
    return {"s3_object": s3}


def check_options(wanted: dict[str, dict]) -> None:
    """Each analysis's options against botocore's model of its Rekognition Start* request, as the
    AWS endpoint checks that request (analyses Rekognition does not have take any object)."""
    for name, options in wanted.items():
        chosen = analyses.registry().get(name)
        model = validation.operation(chosen.start_op) if chosen else None
        if model is None:
            continue
        problems = validation.validate(model, {"Video": {"S3Object": {"Bucket": "bucket", "Name": "name"}},
                                               **(options or {})})
        if problems:
            raise InvalidParameter(f"{name}: " + "; ".join(problems))


def job_view(session, job: Job) -> dict:
    """A job as the REST API shows it (JobSchema)."""
    counts = services.result_counts(session, job.id)
    phase = job.phase_enum
    return {
        "id": job.id, "status": job.phase, "job_status": phase.job_status, "status_message": job.status_message,
        "job_tag": job.job_tag, "video": _video(job), "cancel_requested": job.cancel_requested,
        "resubmitted_from": job.resubmitted_from, "video_metadata": job.video_metadata,
        "progress": progress.of(session, job).as_dict(), "decode_passes": services.decode_passes(session, job.id),
        "analyses": [{
            # Analyses of a job share its decode, so each is where the job is.
            "name": a.analysis, "state": job.phase, "options": a.options, "sample_fps": a.sample_fps,
            "model_versions": a.model_versions,
            "results": {agg: n for (name, agg), n in counts.items() if name == a.analysis},
        } for a in job.analyses],
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "updated_at": job.updated_at,
    }


@bp.route("")
class Jobs(MethodView):
    @bp.arguments(schemas.JobListArgs, location="query")
    @bp.response(200, schemas.JobListSchema)
    def get(self, args):
        """List this key's jobs, newest first, with filters and a cursor."""
        with session_scope() as session:
            jobs, following = services.list_jobs(
                session, g.account, phases=args.get("status"), analysis=args.get("analysis"),
                created_after=args.get("created_after"), created_before=args.get("created_before"),
                cursor=args.get("cursor"), limit=args["limit"])
            return {"jobs": [job_view(session, job) for job in jobs], "next_cursor": following}

    @bp.arguments(schemas.JobCreateSchema)
    @bp.response(201, schemas.JobSchema)
    def post(self, body):
        """Start a job running one or several analyses of one video, decoded once."""
        s3 = body["video"]["s3_object"]
        video = {"S3Object": {"Bucket": s3["bucket"], "Name": s3["name"],
                              **({"Version": s3["version"]} if s3.get("version") else {})}}
        check_options(body["analyses"])
        with session_scope() as session:
            job_id = services.start_rest_job(session, g.account, video=video, wanted=body["analyses"],
                                             job_tag=body.get("job_tag"),
                                             client_token=body.get("client_request_token"))
            return job_view(session, services.find_job(session, g.account, job_id))


@bp.route("/analyses")
@bp.response(200, schemas.AnalysisListSchema)
def analysis_list():
    """The analyses this server runs (the analysis registry)."""
    return {"analyses": [{"name": a.name, "rekognition_start": a.start_op, "sorts": list(a.sorts),
                          "aggregations": list(a.aggregations), "models": list(a.model_names())}
                         for a in sorted(analyses.registry().values(), key=lambda a: a.name)]}


@bp.route("/<job_id>")
@bp.response(200, schemas.JobSchema)
def job_status(job_id: str):
    """A job's status: phase, progress (sampled frames done/total, percent, ETA), analyses, timings, errors."""
    with session_scope() as session:
        return job_view(session, services.find_job(session, g.account, job_id))


@bp.route("/<job_id>/results/<analysis>")
@bp.arguments(schemas.ResultArgs, location="query")
@bp.response(200, schemas.ResultPageSchema)
def results(args, job_id: str, analysis: str):
    """One cursor page of one analysis's results."""
    with session_scope() as session:
        job, items, following = services.rest_results_page(
            session, g.account, job_id, analysis, sort_by=args.get("sort"), aggregate_by=args.get("aggregate"),
            cursor=args.get("cursor"), limit=args["limit"])
        chosen = analyses.get(analysis)
        return {"job_id": job.id, "status": job.phase, "analysis": analysis,
                "sort": args.get("sort") or next(iter(chosen.sorts)),
                "aggregate": args.get("aggregate") or chosen.aggregations[0], "items": items,
                "next_cursor": following}


@bp.route("/<job_id>/results.jsonl")
@bp.doc(responses={"200": {"description": "One JSON object per line: {analysis, aggregate, item}.",
                           "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}})
def export(job_id: str):
    """Every result of a SUCCEEDED job as JSON Lines, streamed."""
    session = new_session()
    try:
        job = services.find_job(session, g.account, job_id)
        if job.phase_enum is not Phase.SUCCEEDED:
            raise ResourceNotReady(f"The job {job_id} has not succeeded (it is {job.phase}).")
    except Exception:
        session.close()
        raise

    def lines():
        try:
            for row in services.export_rows(session, job):
                yield json.dumps(row, separators=(",", ":")) + "\n"
        finally:
            session.close()

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")


@bp.route("/<job_id>/cancel", methods=["POST"])
@bp.response(202, schemas.JobSchema)
def cancel(job_id: str):
    """Stop a queued or running job: workers stop after the batch in hand; it ends CANCELLED."""
    with session_scope() as session:
        job = services.cancel_job(session, g.account, job_id)
        return job_view(session, job)


@bp.route("/<job_id>/resubmit", methods=["POST"])
@bp.response(201, schemas.JobSchema)
def resubmit(job_id: str):
    """Run a failed or cancelled job again, as a new job with the same video and options."""
    with session_scope() as session:
        new_id = services.resubmit_job(session, g.account, job_id)
        return job_view(session, services.find_job(session, g.account, new_id))
