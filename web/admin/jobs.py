"""Jobs: the live list, one job's page (timeline, filmstrip, a frame large), its frames as JPEGs
and its results as JSON Lines. Jobs are read through jobs/services.py; analyses through the
registry."""
from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import urlencode

from flask import Response, abort, render_template, request, stream_with_context, url_for

from jobs import analyses, services
from jobs.database import new_session, session_scope
from jobs.errors import InvalidParameter
from jobs.records import Job, Phase, utcnow
from web.admin import bp, thumbnails, timeline
from web.admin.thumbnails import WIDTHS

PAGE_SIZE = 25
FILTER_KEYS = ("status", "analysis", "tenant", "since", "until")


class BadFilter(ValueError):
    pass


def _when(value: str | None) -> dt.datetime | None:
    """A datetime-local value (taken as UTC) or an ISO time; None when empty."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise BadFilter(f"{value!r} is not a date and time.") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def encode_cursor(key: tuple[dt.datetime, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0].isoformat(), key[1]]).encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> tuple[dt.datetime, str] | None:
    if not token:
        return None
    try:
        created, job_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return dt.datetime.fromisoformat(created), str(job_id)
    except (ValueError, TypeError) as error:
        raise BadFilter("The page cursor is not valid.") from error


def _filters() -> tuple[services.JobFilter, dict]:
    args = {key: request.args.get(key, "").strip() for key in FILTER_KEYS}
    if args["analysis"] and args["analysis"] not in analyses.registry():
        raise BadFilter(f"No analysis is called {args['analysis']!r}.")
    if args["status"] and args["status"] not in services.JOB_STATUSES:
        raise BadFilter(f"Status must be one of {', '.join(services.JOB_STATUSES)}.")
    return services.JobFilter(account=args["tenant"] or None, status=args["status"] or None,
                              analysis=args["analysis"] or None, since=_when(args["since"]),
                              until=_when(args["until"])), args


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def job_view(job: Job, now: dt.datetime) -> dict:
    """What a row (and a job's page header) shows of a job."""
    phase = job.phase_enum
    if phase is Phase.SUCCEEDED:
        percent = 100.0
    elif job.frames_total:
        percent = min(99.0, 100.0 * job.frames_done / job.frames_total)
    elif job.chunks_total:
        percent = min(99.0, 100.0 * job.chunks_done / job.chunks_total)
    else:
        percent = 0.0
    elapsed = ((job.finished_at or now) - job.created_at).total_seconds()
    eta = None
    if not phase.finished and 0 < percent < 100 and phase is Phase.ANALYZING:
        eta = _duration(elapsed * (100 - percent) / percent)
    meta = job.video_metadata or {}
    video = []
    if meta.get("DurationMillis"):
        video.append(f"{meta['DurationMillis'] / 1000:.1f} s")
    if meta.get("FrameWidth"):
        video.append(f"{meta['FrameWidth']}×{meta['FrameHeight']}")
    if meta.get("FrameRate"):
        video.append(f"{meta['FrameRate']:.3g} fps")
    if meta.get("Codec"):
        video.append(meta["Codec"])
    return {
        "id": job.id, "short_id": job.id[:12], "tenant": job.account, "operation": job.operation,
        "analyses": [a.analysis for a in job.analyses], "phase": phase.value,
        # The AWS API reports a cancelled job as FAILED; an operator is told what happened.
        "status": "CANCELLED" if phase is Phase.CANCELLED else phase.job_status,
        "finished": phase.finished, "cancel_requested": job.cancel_requested,
        "can_cancel": not phase.finished and phase is not Phase.FINALIZING and not job.cancel_requested,
        "can_resubmit": phase in (Phase.FAILED, Phase.CANCELLED), "percent": round(percent), "eta": eta,
        "duration": _duration(elapsed), "created": job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "video_name": f"{job.video_bucket}/{job.video_name}", "video": " · ".join(video),
        "error": job.status_message if phase is Phase.FAILED else None, "tag": job.job_tag,
        "chunks": f"{job.chunks_done}/{job.chunks_total}" if job.chunks_total else "",
    }


def _page_context(*, whole_page: bool = True) -> dict:
    filters, args = _filters()
    after = decode_cursor(request.args.get("after"))
    with session_scope() as db:
        try:
            rows, next_key = services.list_all_jobs(db, filters, after=after, limit=PAGE_SIZE)
        except InvalidParameter as error:
            raise BadFilter(str(error)) from error
        now = utcnow()
        jobs = [job_view(job, now) for job in rows]
        tenants = services.job_accounts(db) if whole_page else []  # the filter form is not polled
    query = {k: v for k, v in args.items() if v}
    if request.args.get("after"):
        query["after"] = request.args["after"]
    return {
        "jobs": jobs, "args": args, "tenants": tenants, "statuses": services.JOB_STATUSES,
        "analysis_names": sorted(analyses.registry()),
        "next_url": url_for("admin.jobs_list", **{k: v for k, v in args.items() if v},
                            after=encode_cursor(next_key)) if next_key else None,
        "first_url": url_for("admin.jobs_list", **{k: v for k, v in args.items() if v})
        if request.args.get("after") else None,
        "rows_url": url_for("admin.jobs_rows") + ("?" + urlencode(query) if query else ""),
        "updated": now.strftime("%H:%M:%S UTC"),
    }


@bp.errorhandler(BadFilter)
def _bad_filter(error: BadFilter):
    return render_template("admin/error.html", title="Bad filter", message=str(error)), 400


@bp.get("/jobs")
def jobs_list():
    return render_template("admin/jobs.html", **_page_context())


@bp.get("/jobs/rows")
def jobs_rows():
    """The list's rows alone: what the page polls to stay live."""
    return render_template("admin/_job_rows.html", **_page_context(whole_page=False))


def _job_or_404(db, job_id: str) -> Job:
    job = db.get(Job, job_id)
    if job is None:
        abort(404, description="No such job.")
    return job


@bp.get("/jobs/<job_id>")
def job_detail(job_id: str):
    with session_scope() as db:
        job = _job_or_404(db, job_id)
        view = job_view(job, utcnow())
        records = [{"name": a.analysis, "options": a.options, "sample_fps": a.sample_fps,
                    "models": a.model_versions} for a in job.analyses]
        tracks = timeline.tracks(db, job)
        frames = timeline.frames(db, job, timeline.sampled_times(db, job))
        duration = timeline.duration_millis(job) or max([t for tr in tracks for t in tr.ticks] + [1])
        meta = job.video_metadata or {}
    return render_template("admin/job.html", job=view, meta=meta, records=records, tracks=tracks,
                           frames=frames, duration=duration, summary=timeline.summary,
                           width=meta.get("FrameWidth") or 16, height=meta.get("FrameHeight") or 9)


@bp.get("/jobs/<job_id>/state")
def job_state(job_id: str):
    """A job's status, progress and error alone: what its page polls while it runs."""
    with session_scope() as db:
        view = job_view(_job_or_404(db, job_id), utcnow())
    return render_template("admin/_job_state.html", job=view, live=True)


@bp.get("/jobs/<job_id>/at/<int:millis>")
def job_frame_view(job_id: str, millis: int):
    """One sampled time large, with every box and the items behind them."""
    with session_scope() as db:
        job = _job_or_404(db, job_id)
        view = job_view(job, utcnow())
        frame = timeline.frames(db, job, [millis])[0]
        before, after = timeline.neighbours(db, job, millis)
        meta = job.video_metadata or {}
    return render_template("admin/frame.html", job=view, frame=frame, summary=timeline.summary,
                           before=before, after=after,
                           width=meta.get("FrameWidth") or 16, height=meta.get("FrameHeight") or 9,
                           items=[(name, timeline.caption(item), json.dumps(item, indent=2)) for name, item in frame.items])


@bp.get("/jobs/<job_id>/frame.jpg")
def job_frame(job_id: str):
    try:
        millis = int(request.args.get("t", ""))
        width = int(request.args.get("w", WIDTHS[0]))
    except ValueError:
        abort(400, description="t (milliseconds) and w (pixels) are whole numbers.")
    if width not in WIDTHS or millis < 0:
        abort(400, description=f"w is one of {', '.join(map(str, WIDTHS))}; t is not negative.")
    with session_scope() as db:
        job = _job_or_404(db, job_id)
        duration = timeline.duration_millis(job)
        db.expunge(job)
    if duration is not None and millis > duration:
        abort(404, description="The video ends before that time.")
    data = thumbnails.frame_jpeg(job, millis, width)
    if data is None:
        abort(404, description="No frame at that time.")
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/jobs/<job_id>/results.jsonl")
def job_results(job_id: str):
    """Every result of every analysis, one JSON object a line: {"analysis", "aggregate", "item"},
    in each analysis's default order, read page by page through the Get service's keyset query."""
    with session_scope() as db:
        job = _job_or_404(db, job_id)
        names = [a.analysis for a in job.analyses]

    def lines():
        db = new_session()
        try:
            for name in names:
                chosen = analyses.get(name)
                order = next(iter(chosen.sorts.values()))
                for aggregate in chosen.aggregations:
                    after = None
                    while True:
                        page = services.results_page(db, job_id, name, order=order, aggregate=aggregate,
                                                     after=after, limit=500)
                        for row in page.rows:
                            yield json.dumps({"analysis": name, "aggregate": aggregate,
                                              "item": chosen.item(row)}, separators=(",", ":")) + "\n"
                        if page.next_key is None:
                            break
                        after = page.next_key
        finally:
            db.close()

    response = Response(stream_with_context(lines()), mimetype="application/x-ndjson")
    response.headers["Content-Disposition"] = f'attachment; filename="{job_id[:12]}-results.jsonl"'
    return response
