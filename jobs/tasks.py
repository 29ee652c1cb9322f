"""Celery tasks: thin wrappers that parse ids and call jobs.lifecycle.

Task arguments are a message format: ids only, new parameters as keyword arguments with
defaults, so messages already queued keep running after an upgrade.
"""
from __future__ import annotations

import functools
import logging

from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import ChannelError
from sqlalchemy import event
from sqlalchemy.orm import Session

from jobs import custom_training, images, lifecycle, notify
from jobs.celery_app import GPU_QUEUE, IO_QUEUE, app
from jobs.records import Phase
from jobs.settings import get_settings
from jobs.transient import TRANSIENT

log = logging.getLogger(__name__)

# Outages are retried with backoff for about five minutes (1+2+4+…+60 s over ten tries) before
# the job fails; a chunk's own attempt counter (in the database) bounds lost workers and time-outs.
RETRIES = 10


def enqueue_after_commit(session: Session, task, *args) -> None:
    """Send a task only once the rows it reads are committed (never for a rolled-back one).

    A broker that is down does not undo the commit nor fail the call: the row is the record, and
    the dispatcher's sweep sends what was never queued (jobs.lifecycle.find_stalled)."""
    def send(_session) -> None:
        try:
            # One quick try: the caller is waiting, and the sweep is the retry.
            task.apply_async(args, retry_policy={"max_retries": 1, "interval_start": 0.2})
        except Exception as error:  # noqa: BLE001 - kombu/redis raise many kinds when the broker is down
            log.warning("could not queue %s%s now (the dispatcher will): %s", task.name, args, error)

    event.listen(session, "after_commit", send, once=True)


def _give_up(job_id: str, error: Exception) -> None:
    """End the job FAILED. The user reads StatusMessage: it says what happened in their terms
    and never carries our exception text (hosts, SQL, paths); the log has the details."""
    log.error("job %s failed: %s: %s", job_id, type(error).__name__, error)
    if isinstance(error, SoftTimeLimitExceeded):
        message = ("The analysis timed out on every try; the video may be too long or too large for one task "
                   "(see FRAMEWISE_CHUNK_SECONDS and FRAMEWISE_TASK_SOFT_TIME_LIMIT).")
    elif isinstance(error, TRANSIENT):
        message = ("A service the analysis depends on (database, storage or queue) stayed unavailable; "
                   "start the job again later.")
    else:
        message = "Internal error while analysing the video; start the job again, or report it if it recurs."
    lifecycle.finish(job_id, Phase.FAILED, message)
    dispatch_notifications.delay()


@app.task(name="framewise.plan_job", bind=True, max_retries=RETRIES)
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


@app.task(name="framewise.analyze_chunk", bind=True, max_retries=RETRIES)
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


@app.task(name="framewise.finalize_job", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=RETRIES)
def finalize_job(job_id: str) -> None:
    lifecycle.finalize(job_id)
    dispatch_notifications.delay()


@app.task(name="framewise.dispatch_notifications", autoretry_for=TRANSIENT, retry_backoff=True)
def dispatch_notifications() -> int:
    return notify.deliver_pending()


@app.task(name="framewise.recover_stalled")
def recover_stalled() -> None:
    """Re-send work nothing holds any more, forget expired jobs, and flush the outbox."""
    stalled = lifecycle.find_stalled(liveness=_liveness())
    for job_id in stalled.plan:
        plan_job.delay(job_id)
    for job_id, index in stalled.chunks:
        analyze_chunk.delay(job_id, index)
    for job_id in stalled.finalize:
        finalize_job.delay(job_id)
    for version_id in custom_training.stalled(get_settings().task_time_limit + 120):
        train_project_version.delay(version_id)
    lifecycle.purge_expired()
    notify.deliver_pending()


def _queue_empty(name: str) -> bool:
    with app.connection_for_read() as connection:
        try:
            _name, count, _consumers = connection.default_channel.queue_declare(queue=name, passive=True)
        except ChannelError:  # never declared: nothing was ever sent to it
            return True
    return count == 0


def _liveness() -> lifecycle.Liveness:
    from jobs import heartbeat

    idle = frozenset(name for name in (GPU_QUEUE, IO_QUEUE) if _queue_empty(name))
    try:
        beats = heartbeat.seen()
    except Exception as error:  # noqa: BLE001 - without beats the sweep judges by time alone
        log.warning("cannot read worker heartbeats: %s", error)
        beats = {}
    return lifecycle.Liveness(idle, beats)


@functools.cache
def _image_inference():
    from jobs.engine import Inference

    settings = get_settings()
    return Inference(settings.models_dir, settings.device, settings.cpu_threads)


# Not acks_late: a lost image call is the caller's timeout to retry, never a redelivery later.
@app.task(name="framewise.run_image", ignore_result=False, acks_late=False, reject_on_worker_lost=False)
def run_image(name: str, params: dict, inputs: dict) -> dict:
    return images.run(name, params, inputs, _image_inference())


@app.task(name="framewise.train_project_version", bind=True, max_retries=RETRIES)
def train_project_version(self, version_id: int) -> None:
    """Custom Labels training (jobs.custom_training); outages retried, anything else ends it FAILED."""
    try:
        custom_training.train(version_id, _image_inference())
    except TRANSIENT as error:
        if self.request.retries >= self.max_retries:
            custom_training.fail(version_id, "A service training depends on (database or storage) stayed "
                                             "unavailable; train the version again later.")
            return
        raise self.retry(exc=error, countdown=min(60, 2 ** self.request.retries)) from error
    except SoftTimeLimitExceeded:
        custom_training.fail(version_id, "Training took longer than a worker task may run "
                                         "(FRAMEWISE_TASK_SOFT_TIME_LIMIT); train on fewer images or raise it.")
    except Exception:
        log.exception("training project version %s failed", version_id)
        custom_training.fail(version_id, "Internal error while training; train the version again, or report it.")
