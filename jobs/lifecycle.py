"""A job's life after Start: plan it into chunks, record each chunk's results, finish it.

Every step is safe to run twice (a Redis broker redelivers unacknowledged tasks): a chunk's
rows are replaced, never appended; the done-counter moves only on a chunk's first completion;
a finished job never changes again.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import delete, func, select, update

from jobs import analyses, notify, progress
from jobs.database import session_scope
from jobs.decode import VideoDecodeError, plan_chunks, probe
from jobs.engine import Cancelled, Inference, Planned, analyze_span
from jobs.errors import InvalidS3Object
from jobs.records import Chunk, Job, Phase, Result, utcnow
from jobs.settings import get_settings
from jobs.storage import VideoRef, drop_cache, open_video
from jobs.transient import TRANSIENT

log = logging.getLogger(__name__)


def _ref(job: Job) -> VideoRef:
    return VideoRef(job.video_bucket, job.video_name, job.video_version)


def _cache_dir(job_id: str) -> Path:
    return get_settings().video_cache_dir / job_id


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


UNREADABLE = (InvalidS3Object, VideoDecodeError)


def fail_unreadable(job_id: str, error: InvalidS3Object | VideoDecodeError) -> None:
    """End the job FAILED with a reason the user can act on (StatusMessage)."""
    if isinstance(error, InvalidS3Object):
        finish(job_id, Phase.FAILED, f"Unable to read the video from storage: {error.message}")
    else:
        finish(job_id, Phase.FAILED, error.message)


def end(session, job: Job, phase: Phase, message: str | None) -> None:
    """End a locked job in the caller's transaction, with its completion notice."""
    _end(session, job, phase, message)


def _end(session, job: Job, phase: Phase, message: str | None) -> None:
    job.phase = phase.value
    job.status_message = message
    job.finished_at = utcnow()
    notify.record_completion(session, job)


def finish(job_id: str, phase: Phase, message: str | None = None) -> bool:
    """End a job and write its completion notice in the same transaction. False if it had ended."""
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None or job.phase_enum.finished:
            return False
        _end(session, job, phase, message)
    drop_cache(_cache_dir(job_id))
    return True


@dataclass(frozen=True)
class Plan:
    chunk_indexes: list[int]


def _expected_frames(job: Job, duration_millis: int, frame_rate: float) -> int:
    """Roughly how many frames the union of the job's samplings decodes (for progress)."""
    rates = [a.sample_fps if a.sample_fps is not None else frame_rate for a in job.analyses]
    return max(1, int(duration_millis / 1000 * max(rates or [frame_rate or 1.0])))


def plan(job_id: str) -> Plan:
    """Probe the video, enforce the limits that need the file, and split it into chunks.

    Returns the chunks still to analyse (all of them, unless this is a redelivery)."""
    settings = get_settings()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.phase_enum.finished:
            return Plan([])
        existing = session.scalars(select(Chunk.index).where(Chunk.job_id == job_id, Chunk.state != "done")).all()
        if job.chunks_total:
            return Plan(list(existing))  # planned before: re-send what is not done
        # Spent up front, like a chunk's: a probe that crashes FFmpeg or is OOM-killed never
        # gets to count itself, and acks_late would redeliver it for ever.
        job.plan_attempts += 1
        if job.plan_attempts > settings.max_chunk_attempts:
            _end(session, job, Phase.FAILED,
                 f"The video could not be read: probing it crashed or timed out {settings.max_chunk_attempts} "
                 f"times. Check that it plays, or re-encode it (for example to H.264 in MP4) and start again.")
            return Plan([])
        job.phase = Phase.PROBING.value
        ref = _ref(job)

    try:
        with open_video(ref, _cache_dir(job_id), ranged=True) as path:  # headers and tail only
            info = probe(path)
    except UNREADABLE as error:
        fail_unreadable(job_id, error)
        return Plan([])
    except TRANSIENT as error:
        if not isinstance(error, SoftTimeLimitExceeded):  # an outage is not the video's fault
            with contextlib.suppress(*TRANSIENT), session_scope() as session:
                session.execute(update(Job).where(Job.id == job_id).values(plan_attempts=Job.plan_attempts - 1))
        raise
    if info.duration_millis > settings.max_video_seconds * 1000:
        finish(job_id, Phase.FAILED, f"Video duration {info.duration_millis / 1000:.0f} s is more than the "
                                     f"maximum of {settings.max_video_seconds:.0f} s.")
        return Plan([])

    spans = plan_chunks(info.duration_millis, int(settings.chunk_seconds * 1000))
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.chunks_total or job.phase_enum.finished:
            # A duplicate plan_job got here first; answer with what is still to do.
            pending = session.scalars(select(Chunk.index).where(Chunk.job_id == job_id, Chunk.state != "done"))
            return Plan(list(pending))
        job.video_metadata = {
            "Codec": info.codec, "DurationMillis": info.duration_millis, "Format": info.format_name,
            "FrameRate": info.frame_rate, "FrameHeight": info.height, "FrameWidth": info.width,
        }
        if info.color_range:
            job.video_metadata["ColorRange"] = info.color_range
        job.chunks_total = len(spans)
        job.frames_total = _expected_frames(job, info.duration_millis, info.frame_rate)
        job.phase = Phase.ANALYZING.value
        job.started_at = utcnow()
        notify.record_event(session, job, "job.started", progress.of(session, job).as_dict())
        for index, (start, end) in enumerate(spans):
            session.add(Chunk(job_id=job_id, index=index, start_millis=start, end_millis=end))
    return Plan(list(range(len(spans))))


class ChunkOutcome:
    SKIPPED = "skipped"
    DONE = "done"
    LAST = "last"  # this chunk completed the job: finalize now


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _held_elsewhere(chunk: Chunk) -> bool:
    """Whether another live worker is analysing this chunk right now (a duplicate delivery).

    A claim is a lease renewed after every batch; it lapses after the hard time limit. On this
    host we can also see at once that the claiming process died (SIGKILL, OOM) and take over."""
    if chunk.state != "running" or not chunk.claimed_by:
        return False
    lease = dt.timedelta(seconds=get_settings().task_time_limit + 60)
    if chunk.updated_at < utcnow() - lease:
        return False
    host, _, pid = chunk.claimed_by.rpartition(":")
    if host == socket.gethostname():
        return pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid))
    return True


def _claim(job_id: str, index: int) -> tuple[Job, Chunk] | None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        chunk = session.scalar(select(Chunk).where(Chunk.job_id == job_id, Chunk.index == index)
                               .with_for_update())
        if job is None or chunk is None or job.phase_enum.finished or chunk.state == "done":
            return None
        if _held_elsewhere(chunk):
            return None  # not an attempt: the live holder finishes it, or its redelivery does
        me = worker_identity()
        if not (chunk.state == "running" and chunk.claimed_by == me):
            # An attempt is spent here, up front, because a lost worker cannot spend it later.
            # Our own claim still standing means our last try failed and could not release it
            # (the database was down): that try was not lost, so it costs nothing.
            chunk.attempts += 1
        chunk.state = "running"
        chunk.claimed_by = me
        return job, chunk


def release(job_id: str, index: int, *, spent: bool) -> None:
    """Give a chunk back after a failure this process survived, so its retry (here or on any
    worker) runs at once instead of waiting for the lease to lapse. A transient failure (an
    outage) gives the attempt back; a time-out keeps it spent, so a video that always times out
    still ends."""
    values = {"state": "pending", "claimed_by": None}
    if not spent:
        values["attempts"] = Chunk.attempts - 1
    with session_scope() as session:
        session.execute(update(Chunk).where(Chunk.job_id == job_id, Chunk.index == index,
                                            Chunk.state == "running", Chunk.claimed_by == worker_identity())
                        .values(**values))


def _check_progress(job_id: str, index: int, frames: int) -> None:
    with session_scope() as session:
        session.execute(update(Chunk).where(Chunk.job_id == job_id, Chunk.index == index)
                        .values(frames=frames, updated_at=utcnow()))
        cancelled = session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    if cancelled:
        raise Cancelled()


def analyze(job_id: str, index: int) -> str:
    """Analyse one chunk and replace its rows. Raises on a transient failure (the task retries)."""
    settings = get_settings()
    claimed = _claim(job_id, index)
    if claimed is None:
        return ChunkOutcome.SKIPPED
    job, chunk = claimed
    if job.cancel_requested:
        finish(job_id, Phase.CANCELLED, "The job was cancelled.")
        return ChunkOutcome.SKIPPED
    if chunk.attempts > settings.max_chunk_attempts:
        finish(job_id, Phase.FAILED, f"Analysis of {chunk.start_millis / 1000:.0f}-{chunk.end_millis / 1000:.0f} s "
                                     f"failed {settings.max_chunk_attempts} times; the worker was lost or timed out.")
        return ChunkOutcome.SKIPPED

    try:  # from here on whatever stops the work (a soft time limit in an import, say) frees the claim
        planned = [Planned(analyses.get(a.analysis), a.options, a.sample_fps) for a in job.analyses]
        inference = Inference(settings.models_dir, settings.device, settings.cpu_threads)
        ranged = settings.decoder == "pyav" and settings.chunk_range_reads  # decord needs a file
        with open_video(_ref(job), _cache_dir(job_id), ranged=ranged) as path:
            span = analyze_span(path, chunk.start_millis, chunk.end_millis, planned, inference,
                                batch_size=settings.batch_size, backend=settings.decoder,
                                max_side=settings.decode_max_side,
                                on_batch=lambda n: _check_progress(job_id, index, n))
    except Cancelled:
        finish(job_id, Phase.CANCELLED, "The job was cancelled.")
        return ChunkOutcome.SKIPPED
    except UNREADABLE as error:
        fail_unreadable(job_id, error)
        return ChunkOutcome.SKIPPED
    except TRANSIENT as error:
        with contextlib.suppress(*TRANSIENT):  # the database may be what is down
            release(job_id, index, spent=isinstance(error, SoftTimeLimitExceeded))
        raise
    return _commit_chunk(job_id, index, span)


def _commit_chunk(job_id: str, index: int, span) -> str:
    with session_scope() as session:
        # The row lock makes a second delivery of this chunk wait for the first to commit, then
        # see it done and write nothing: the chunk's rows are written exactly once.
        chunk = session.scalar(select(Chunk).where(Chunk.job_id == job_id, Chunk.index == index)
                               .with_for_update())
        if chunk is None or chunk.state == "done":
            return ChunkOutcome.DONE
        # Replace, never append: this is the only writer of a chunk's rows, and it runs once.
        session.execute(delete(Result).where(Result.job_id == job_id, Result.chunk_index == index))
        session.add_all(
            Result(job_id=job_id, analysis=name, chunk_index=index, aggregate=row.aggregate,
                   timestamp_millis=row.timestamp_millis, group_key=row.group_key, rank=row.rank, item=row.item)
            for name, rows in span.rows.items() for row in rows)
        chunk.state = "done"
        chunk.frames = span.frames
        chunk.decodes += span.decode.passes
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        job.chunks_done += 1
        frames_before = job.frames_done
        job.frames_done = session.scalar(select(func.coalesce(func.sum(Chunk.frames), 0))
                                         .where(Chunk.job_id == job_id, Chunk.state == "done"))
        for milestone in progress.crossed(frames_before, job.frames_done, job.frames_total):
            notify.record_event(session, job, "job.progress", {**progress.of(session, job).as_dict(),
                                                               "milestone": milestone})
        if job.chunks_done >= job.chunks_total:
            job.phase = Phase.FINALIZING.value
            return ChunkOutcome.LAST
    return ChunkOutcome.DONE


def finalize(job_id: str) -> bool:
    """Once every chunk is done: run each analysis's finalize hook (segments, tracks stitched
    across chunk edges), mark the job SUCCEEDED and write its notice, all in one transaction."""
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None or job.phase_enum.finished or job.chunks_done < job.chunks_total:
            return False
        for record in job.analyses:
            analyses.get(record.analysis).finalize(session, job, record)
        _end(session, job, Phase.SUCCEEDED, None)
    drop_cache(_cache_dir(job_id))
    return True


@dataclass(frozen=True)
class Stalled:
    plan: list[str]
    chunks: list[tuple[str, int]]
    finalize: list[str]


@dataclass(frozen=True)
class Liveness:
    """What the sweep knows beyond the database: whether a queue is empty (so a message for a
    waiting row cannot be sitting in it) and which worker processes still beat."""

    idle_queues: frozenset[str]
    beats: dict[str, float]


def _holder_dead(claimed_by: str | None, beats: dict[str, float], now: dt.datetime) -> bool:
    """Whether the process holding a claim is gone: on this host we ask the kernel (at once);
    elsewhere, its heartbeat stopped. A process that never beat (no Redis) is not judged."""
    from jobs import heartbeat

    host, _, pid = (claimed_by or "").rpartition(":")
    if not pid.isdigit():
        return True
    if host == socket.gethostname():
        return not _pid_alive(int(pid))
    return bool(beats) and not heartbeat.alive(beats, claimed_by, now.timestamp())


def find_stalled(now: dt.datetime | None = None, liveness: Liveness | None = None) -> Stalled:
    """Work that no live task holds any more: a lost enqueue (the broker was down at Start, or
    restarted without its data), or a worker that died.

    Re-sending is safe because every step is idempotent, and cheap: a waiting row is re-sent only
    when its queue is empty (under a backlog its message is still queued; re-sending it there
    would multiply messages), and a running chunk at once when its holder is dead."""
    from jobs.celery_app import GPU_QUEUE, IO_QUEUE

    settings = get_settings()
    now = now or utcnow()
    liveness = liveness or Liveness(frozenset(), {})
    waited = now - dt.timedelta(seconds=settings.resend_after_seconds)
    quiet = now - dt.timedelta(minutes=settings.stale_job_minutes)
    lost = now - dt.timedelta(seconds=settings.task_time_limit + 120)
    io_idle, gpu_idle = IO_QUEUE in liveness.idle_queues, GPU_QUEUE in liveness.idle_queues
    with session_scope() as session:
        plan_ids = []
        if io_idle:
            # QUEUED: its plan_job was lost. PROBING: a planner is at work (a long download), so
            # only once it has been silent past any time limit.
            plan_ids = session.scalars(select(Job.id).where(
                ((Job.phase == Phase.QUEUED.value) & (Job.updated_at < waited))
                | ((Job.phase == Phase.PROBING.value) & (Job.updated_at < quiet)))).all()
        candidates = session.execute(
            select(Chunk.job_id, Chunk.index, Chunk.state, Chunk.claimed_by, Chunk.updated_at)
            .join(Job, Job.id == Chunk.job_id)
            .where(Job.phase == Phase.ANALYZING.value, Chunk.state != "done")).all()
        chunks, released = [], []
        for job_id, index, state, claimed_by, updated_at in candidates:
            if state == "running":
                if updated_at < lost or _holder_dead(claimed_by, liveness.beats, now):
                    chunks.append((job_id, index))
                    released.append((job_id, index, claimed_by))
            elif gpu_idle and updated_at < waited:
                chunks.append((job_id, index))
        finalize_ids = []
        if io_idle:
            finalize_ids = session.scalars(select(Job.id).where(
                Job.phase == Phase.FINALIZING.value, Job.updated_at < waited)).all()
        # Touch what is re-sent so the next sweep waits again before re-sending it.
        if plan_ids or finalize_ids:
            session.execute(update(Job).where(Job.id.in_([*plan_ids, *finalize_ids])).values(updated_at=now))
        for job_id, index in chunks:
            session.execute(update(Chunk).where(Chunk.job_id == job_id, Chunk.index == index)
                            .values(updated_at=now))
        for job_id, index, claimed_by in released:
            # The dead holder's claim goes (its attempt stays spent), so a worker on any host takes it.
            session.execute(update(Chunk).where(Chunk.job_id == job_id, Chunk.index == index,
                                                Chunk.state == "running", Chunk.claimed_by == claimed_by)
                            .values(state="pending", claimed_by=None))
    return Stalled(list(plan_ids), chunks, list(finalize_ids))


def purge_expired(now: dt.datetime | None = None) -> int:
    """Forget jobs past their retention (7 days by default), results and tokens with them."""
    with session_scope() as session:
        return session.execute(delete(Job).where(Job.expires_at < (now or utcnow()))).rowcount
