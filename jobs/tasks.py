"""Celery tasks: thin wrappers that parse ids and call jobs.lifecycle.

Task arguments are a message format: ids only, new parameters as keyword arguments with
defaults, so messages already queued keep running after an upgrade.
"""
from __future__ import annotations

import functools
import logging

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import event
from sqlalchemy.orm import Session

from jobs import images, lifecycle, notify
from jobs.celery_app import app
from jobs.records import Phase
from jobs.settings import get_settings

log = logging.getLogger(__name__)

# Failures worth another try: lost connections, a full disk that may clear, a timed-out decode.
TRANSIENT = (ConnectionError, TimeoutError, OSError, SoftTimeLimitExceeded)


def enqueue_after_commit(session: Session, task, *args) -> None:
    """Send a task only once the rows it reads are committed (never for a rolled-back one)."""
    event.listen(session, "after_commit", lambda _s: task.delay(*args), once=True)


def _give_up(job_id: str, error: Exception) -> None:
    lifecycle.finish(job_id, Phase.FAILED, f"Internal error while analysing the video: "
                                           f"{type(error).__name__}: {error}")
    dispatch_notifications.delay()


@app.task(name="framewise.plan_job", bind=True, max_retries=5)
def plan_job(self, job_id: str) -> None:
    try:
        plan = lifecycle.plan(job_id)
    except TRANSIENT as error:
        if self.request.retries >= self.max_retries:
            _give_up(job_id, error)
            return
        raise self.retry(exc=error, countdown=min(60, 2 ** self.request.retries)) from error
    except Exception as error:
        log.exception("planning %s failed", job_id)
        _give_up(job_id, error)
        return
    if not plan.chunk_indexes:
        dispatch_notifications.delay()  # it ended while planning (unreadable, too long…)
    for index in plan.chunk_indexes:
        analyze_chunk.delay(job_id, index)


@app.task(name="framewise.analyze_chunk", bind=True, max_retries=5)
def analyze_chunk(self, job_id: str, index: int) -> None:
    try:
        outcome = lifecycle.analyze(job_id, index)
    except TRANSIENT as error:
        # The chunk's attempt counter (in the database) also bounds redeliveries.
        if self.request.retries >= self.max_retries:
            _give_up(job_id, error)
            return
        log.warning("chunk %s/%s failed, retrying: %s", job_id, index, error)
        raise self.retry(exc=error, countdown=min(60, 2 ** self.request.retries)) from error
    except Exception as error:
        log.exception("chunk %s/%s failed", job_id, index)
        _give_up(job_id, error)
        return
    if outcome == lifecycle.ChunkOutcome.LAST:
        finalize_job.delay(job_id)
    elif outcome == lifecycle.ChunkOutcome.SKIPPED:
        dispatch_notifications.delay()  # the job may have ended here (failed or cancelled)


@app.task(name="framewise.finalize_job", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def finalize_job(job_id: str) -> None:
    lifecycle.finalize(job_id)
    dispatch_notifications.delay()


@app.task(name="framewise.dispatch_notifications", autoretry_for=TRANSIENT, retry_backoff=True)
def dispatch_notifications() -> int:
    return notify.deliver_pending()


@app.task(name="framewise.recover_stalled")
def recover_stalled() -> None:
    """Re-send work nothing holds any more, forget expired jobs, and flush the outbox."""
    stalled = lifecycle.find_stalled()
    for job_id in stalled.plan:
        plan_job.delay(job_id)
    for job_id, index in stalled.chunks:
        analyze_chunk.delay(job_id, index)
    for job_id in stalled.finalize:
        finalize_job.delay(job_id)
    lifecycle.purge_expired()
    notify.deliver_pending()


@functools.cache
def _image_inference():
    from jobs.engine import Inference

    settings = get_settings()
    return Inference(settings.models_dir, settings.device, settings.cpu_threads)


# Not acks_late: a lost image call is the caller's timeout to retry, never a redelivery later.
@app.task(name="framewise.run_image", ignore_result=False, acks_late=False, reject_on_worker_lost=False)
def run_image(name: str, params: dict, inputs: dict) -> dict:
    return images.run(name, params, inputs, _image_inference())
