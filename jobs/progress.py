"""How far a job has got: sampled frames done of the expected total, percent, and an ETA from the
measured rate. Read from the job row and its chunk rows (each running chunk records its frames
after every batch), so a status call never waits on a worker."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.records import Chunk, Job, Phase, utcnow

# Webhook "job.progress" events fire as a job passes each of these percentages.
MILESTONES = (25, 50, 75)


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int
    percent: float
    eta_seconds: float | None

    def as_dict(self) -> dict:
        return {"frames_done": self.frames_done, "frames_total": self.frames_total,
                "percent": self.percent, "eta_seconds": self.eta_seconds}

    def sentence(self) -> str:
        return f"Analysed {self.frames_done} of about {self.frames_total} sampled frames ({self.percent:.0f}%)."


def percent(done: int, total: int) -> float:
    return round(min(100.0, 100.0 * done / total), 1) if total else 0.0


def of(session: Session, job: Job, now: dt.datetime | None = None) -> Progress:
    phase = job.phase_enum
    total = job.frames_total
    if phase is Phase.SUCCEEDED:
        done = max(job.frames_done, 0)
        return Progress(done, max(total, done), 100.0, 0.0)
    done = job.frames_done
    if phase is Phase.ANALYZING:
        # Running chunks report their frames per batch; done chunks hold their final count.
        done = session.scalar(select(func.coalesce(func.sum(Chunk.frames), 0)).where(Chunk.job_id == job.id))
    total = max(total, done)
    eta = None
    if phase is Phase.ANALYZING and job.started_at and done:
        elapsed = ((now or utcnow()) - job.started_at).total_seconds()
        if elapsed > 0:
            eta = round((total - done) / (done / elapsed), 1)
    return Progress(done, total, percent(done, total), eta)


def crossed(before: int, after: int, total: int) -> list[int]:
    """The milestones a step from `before` to `after` frames passes."""
    if not total:
        return []
    return [m for m in MILESTONES if percent(before, total) < m <= percent(after, total)]
