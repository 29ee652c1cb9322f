"""Analysing one span of a video: sampled decoding, batched inference, Rekognition labels.

Shared by the Celery task and the benchmark so both measure and run the same path.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jobs.decode import iter_sampled_frames
from jobs.labels import LabelFilters, frame_labels
from models.base import Model


class Cancelled(Exception):
    """The job's cancel flag was seen between batches."""


@dataclass(frozen=True)
class SpanOptions:
    sample_fps: float
    batch_size: int
    backend: str
    min_confidence: float
    filters: LabelFilters
    max_side: int | None = None


def analyze_span(path: Path, start_millis: int, end_millis: int, analyzer: Model, options: SpanOptions,
                 on_batch: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[dict]]]:
    """Yield (timestamp, labels) for every sampled frame in [start_millis, end_millis).

    on_batch(frames_so_far) runs after each batch; it may raise Cancelled to stop early.
    """
    frames_seen = 0
    for batch in iter_sampled_frames(path, start_millis=start_millis, end_millis=end_millis,
                                     sample_fps=options.sample_fps, batch_size=options.batch_size,
                                     backend=options.backend, max_side=options.max_side):
        detections = analyzer.predict(batch.frames)
        for timestamp, found in zip(batch.timestamps_millis, detections, strict=True):
            yield timestamp, frame_labels(found, min_confidence=options.min_confidence, filters=options.filters)
        frames_seen += len(batch.timestamps_millis)
        if on_batch is not None:
            on_batch(frames_seen)
