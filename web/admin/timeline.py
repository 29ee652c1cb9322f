"""What one job's timeline shows, read generically from its stored results: for every analysis
the job ran, the times it has items at (ticks) and its time spans (bands: any item with
StartTimestampMillis/EndTimestampMillis, e.g. shots, black frames, label segments), and a
filmstrip of sampled times with each frame's boxes (web/admin/overlays.py).

Only each analysis's default aggregation is read (labels' SEGMENTS rows repeat its TIMESTAMPS
ones), through the registry, so a new analysis appears here without a change.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.orm import Session

from jobs import analyses
from jobs.records import Job, Result
from web.admin.overlays import Box, boxes

FILMSTRIP = 24  # thumbnails on a job's page
MAX_TICKS = 2000  # per analysis
MAX_BANDS = 500


def _default_aggregate(name: str) -> str:
    try:
        return analyses.get(name).aggregations[0]
    except KeyError:  # an analysis this build does not know (a newer worker wrote it)
        return "TIMESTAMPS"


def _item(name: str, row: Result) -> dict:
    try:
        return analyses.get(name).item(row)
    except KeyError:
        return row.item


def _rows_of(job: Job):
    """The job's result rows in each analysis's default aggregation."""
    return and_(Result.job_id == job.id, or_(*[
        and_(Result.analysis == a.analysis, Result.aggregate == _default_aggregate(a.analysis))
        for a in job.analyses] or [literal(False)]))


@dataclass
class Track:
    analysis: str
    count: int
    ticks: list[int]
    bands: list[tuple[int, int, str]]  # start, end, caption


@dataclass
class Frame:
    millis: int
    boxes: list[Box] = field(default_factory=list)
    items: list[tuple[str, dict]] = field(default_factory=list)  # (analysis, item)


def duration_millis(job: Job) -> int | None:
    meta = job.video_metadata or {}
    return meta.get("DurationMillis") if isinstance(meta, dict) else None


def tracks(session: Session, job: Job) -> list[Track]:
    out = []
    for record in job.analyses:
        where = and_(Result.job_id == job.id, Result.analysis == record.analysis,
                     Result.aggregate == _default_aggregate(record.analysis))
        count = session.scalar(select(func.count()).select_from(Result).where(where)) or 0
        ticks = list(session.scalars(select(Result.timestamp_millis).where(where).distinct()
                                     .order_by(Result.timestamp_millis).limit(MAX_TICKS)))
        spans = session.scalars(select(Result).where(
            where, Result.item.has_key("StartTimestampMillis"), Result.item.has_key("EndTimestampMillis"))
            .order_by(Result.timestamp_millis).limit(MAX_BANDS))
        bands = []
        for row in spans:
            item = _item(record.analysis, row)
            name = next((b.caption for b in boxes(item, record.analysis)), None) or caption(item)
            bands.append((int(item["StartTimestampMillis"]), int(item["EndTimestampMillis"]), name))
        out.append(Track(record.analysis, count, ticks, bands))
    return out


def caption(item: dict) -> str:
    """A short name for an item without boxes: the first Name or Type found in it."""
    stack = [item]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            for key in ("Name", "DetectedText", "Type"):
                if isinstance(node.get(key), str):
                    return node[key]
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)
    return ""


def sampled_times(session: Session, job: Job, count: int = FILMSTRIP) -> list[int]:
    """Up to `count` result times spread over the video, each the first time in its stretch that
    has something boxed (when any has). Without results: times evenly over the duration."""
    has_box = func.bool_or(func.jsonb_path_exists(Result.item, cast(literal("$.**.BoundingBox"), JSONPATH)))
    rows = session.execute(select(Result.timestamp_millis, has_box).where(_rows_of(job))
                           .group_by(Result.timestamp_millis).order_by(Result.timestamp_millis)).all()
    if not rows:
        duration = duration_millis(job)
        if not duration:
            return []
        return [round(duration * (k + 0.5) / count) for k in range(count)]
    chosen = []
    for k in range(min(count, len(rows))):
        stretch = rows[len(rows) * k // count: len(rows) * (k + 1) // count] or [rows[-1]]
        chosen.append(next((t for t, boxed in stretch if boxed), stretch[0][0]))
    return sorted(set(chosen))


def frames(session: Session, job: Job, times: list[int]) -> list[Frame]:
    """Each time's items and boxes, over every analysis the job ran."""
    by_time: dict[int, Frame] = {t: Frame(t) for t in times}
    if times:
        rows = session.scalars(select(Result).where(_rows_of(job), Result.timestamp_millis.in_(times))
                               .order_by(Result.timestamp_millis, Result.analysis, Result.id))
        for row in rows:
            item = _item(row.analysis, row)
            frame = by_time[row.timestamp_millis]
            frame.items.append((row.analysis, item))
            frame.boxes.extend(boxes(item, row.analysis))
    return [by_time[t] for t in times]


def neighbours(session: Session, job: Job, millis: int) -> tuple[int | None, int | None]:
    """The result times just before and just after `millis`, for stepping through frames."""
    before = session.scalar(select(func.max(Result.timestamp_millis)).where(_rows_of(job),
                                                                           Result.timestamp_millis < millis))
    after = session.scalar(select(func.min(Result.timestamp_millis)).where(_rows_of(job),
                                                                          Result.timestamp_millis > millis))
    return before, after


def summary(frame: Frame, limit: int = 6) -> str:
    """The frame's names, most boxes first: an alt text and a caption."""
    counts: dict[str, int] = defaultdict(int)
    for box in frame.boxes:
        counts[box.caption] += 1
    names = sorted(counts, key=lambda c: -counts[c])[:limit]
    return ", ".join(names)
