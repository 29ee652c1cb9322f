"""Label filters (StartLabelDetection's Settings.GeneralLabels) and labels into segments.

Pure functions: no database, no model. A frame's labels themselves are made by
models/label_fusion.py (detector and classifier evidence, calibrated and merged).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.taxonomy import LabelInfo


@dataclass(frozen=True)
class LabelFilters:
    """StartLabelDetection's Settings.GeneralLabels, matched case-insensitively."""

    include: frozenset[str] = field(default_factory=frozenset)
    exclude: frozenset[str] = field(default_factory=frozenset)
    include_categories: frozenset[str] = field(default_factory=frozenset)
    exclude_categories: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_request(cls, settings: dict | None) -> LabelFilters:
        general = (settings or {}).get("GeneralLabels") or {}

        def names(key: str) -> frozenset[str]:
            return frozenset(n.lower() for n in general.get(key) or ())

        return cls(names("LabelInclusionFilters"), names("LabelExclusionFilters"),
                   names("LabelCategoryInclusionFilters"), names("LabelCategoryExclusionFilters"))

    def admits(self, info: LabelInfo) -> bool:
        name = info.name.lower()
        categories = {c.lower() for c in info.categories}
        if name in self.exclude or categories & self.exclude_categories:
            return False
        if self.include or self.include_categories:
            return name in self.include or bool(categories & self.include_categories)
        return True


@dataclass(frozen=True)
class LabelSegment:
    name: str
    start_millis: int
    end_millis: int
    label: dict  # the highest-confidence Label seen in the segment, without Instances


def label_segments(rows: Sequence[tuple[int, dict]], *, max_gap_millis: int) -> list[LabelSegment]:
    """Merge each label's detections into segments of continuous presence.

    rows are (timestamp, Label) in timestamp order. A label stays in one segment while its
    sightings are at most max_gap_millis apart; Confidence is the segment's maximum.
    """
    open_segments: dict[str, list] = {}
    done: list[LabelSegment] = []
    for timestamp, label in rows:
        name = label["Name"]
        current = open_segments.get(name)
        if current is not None and timestamp - current[1] > max_gap_millis:
            done.append(_close(name, current))
            current = None
        if current is None:
            open_segments[name] = [timestamp, timestamp, label]
        else:
            current[1] = timestamp
            if label["Confidence"] > current[2]["Confidence"]:
                current[2] = label
    done.extend(_close(name, current) for name, current in open_segments.items())
    done.sort(key=lambda s: (s.start_millis, s.name))
    return done


def _close(name: str, current: list) -> LabelSegment:
    start, end, label = current
    bare = {key: value for key, value in label.items() if key != "Instances"}
    return LabelSegment(name=name, start_millis=start, end_millis=end, label=bare)


def rebuild_label_segments(session, job, record, analysis: str, item_key: str, extra: dict | None = None) -> None:
    """AggregateBy=SEGMENTS rows of a label-like analysis (labels, moderation), built once at
    finalize from its TIMESTAMPS rows: replaced, never appended, so finalizing twice is safe.
    A label stays in one segment while its sightings are at most 1.5 sampling intervals apart."""
    from sqlalchemy import delete, select

    from jobs.records import Result

    gap = int(1000 / (record.sample_fps or 2.0) * 1.5)
    session.execute(delete(Result).where(Result.job_id == job.id, Result.analysis == analysis,
                                         Result.aggregate == "SEGMENTS"))
    sightings = session.execute(
        select(Result.timestamp_millis, Result.item[item_key])
        .where(Result.job_id == job.id, Result.analysis == analysis, Result.aggregate == "TIMESTAMPS")
        .order_by(Result.timestamp_millis, Result.id).execution_options(yield_per=2000))
    for segment in label_segments(((ts, label) for ts, label in sightings), max_gap_millis=gap):
        item = {"Timestamp": segment.start_millis, item_key: segment.label,
                "StartTimestampMillis": segment.start_millis, "EndTimestampMillis": segment.end_millis,
                "DurationMillis": segment.end_millis - segment.start_millis, **(extra or {})}
        session.add(Result(job_id=job.id, analysis=analysis, chunk_index=None, aggregate="SEGMENTS",
                           timestamp_millis=segment.start_millis, group_key=segment.name,
                           rank=100.0 - segment.label["Confidence"], item=item))
