"""What an operator can do to a job: cancel, resubmit, delete its results. Each is a CSRF-checked
POST that calls the same service the REST API calls (jobs/services.py), acting as the job's own
tenant, so the rules (what can be cancelled when, what can be resubmitted) live in one place.

admin.js sends these forms with fetch and refreshes the live regions, so the page follows the
job without a reload; without script the form posts and the answer redirects back."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, jsonify, redirect, request, url_for

from jobs import services
from jobs.database import session_scope
from jobs.errors import ClientError
from jobs.records import Job
from web.admin import bp


def answer(message: str, *, ok: bool, to: str, status: int = 200):
    """JSON for admin.js (it shows `message` in the form's status line), else flash and redirect."""
    if request.accept_mimetypes.best == "application/json":
        if ok and to != urlsplit(request.referrer or "").path:
            flash(message, "info")  # admin.js goes to `to`: the message waits for it there
        return jsonify(message=message, ok=ok, location=to), status if ok else 409
    flash(message, "info" if ok else "error")
    return redirect(to, 303)


def _act(job_id: str, action) -> tuple[str, bool, str]:
    here = url_for("admin.job_detail", job_id=job_id)
    try:
        with session_scope() as db:
            job = db.get(Job, job_id)
            if job is None:
                return "No such job.", False, url_for("admin.jobs_list")
            message, to = action(db, job)
        return message, True, to or here
    except ClientError as error:
        return str(error), False, here


@bp.post("/jobs/<job_id>/cancel")
def job_cancel(job_id: str):
    def cancel(db, job):
        job = services.cancel_job(db, job.account, job.id)
        if job.phase_enum.finished:
            return "Cancelled.", None
        return "Cancelling: the workers stop after the batch in hand.", None
    message, ok, to = _act(job_id, cancel)
    return answer(message, ok=ok, to=to)


@bp.post("/jobs/<job_id>/resubmit")
def job_resubmit(job_id: str):
    def resubmit(db, job):
        new_id = services.resubmit_job(db, job.account, job.id)
        return f"Resubmitted as job {new_id[:12]}.", url_for("admin.job_detail", job_id=new_id)
    message, ok, to = _act(job_id, resubmit)
    return answer(message, ok=ok, to=to)


@bp.post("/jobs/<job_id>/delete")
def job_delete(job_id: str):
    def delete(db, job):
        services.delete_job_results(db, job.account, job.id)
        return f"Deleted job {job.id[:12]} and its results.", url_for("admin.jobs_list")
    message, ok, to = _act(job_id, delete)
    return answer(message, ok=ok, to=to)
