"""Analysing one span of a video for every analysis a job runs: one decode, many analyses.

The span is decoded once, at the union of the sampling instants the analyses ask for; each
decoded batch is handed to every analysis that wants some of its frames, and a model that two
analyses both run on the same frame runs once. Shared by the Celery chunk task, the image path
and the benchmarks, so all of them run and measure the same code.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jobs.analyses import Analysis, Frames, Row
from jobs.decode import DecodeStats, iter_frames


class Cancelled(Exception):
    """The job's cancel flag was seen between batches."""


class Inference:
    """Loaded models, and what they said about the current batch's frames.

    `infer(model, frames)` runs a model on the frames it has not seen in this batch yet and
    returns one output per frame; `new_batch()` forgets the previous batch."""

    def __init__(self, models_dir: Path, device: str | None = None, cpu_threads: int = 1):
        self.models_dir = Path(models_dir)
        self.device = device
        self.cpu_threads = cpu_threads
        self._seen: dict[tuple[str, int], Any] = {}

    def model(self, name: str):
        from models.device import set_cpu_threads
        from models.registry import load  # imports torch: only ever on a worker

        set_cpu_threads(self.cpu_threads)
        return load(name, self.models_dir, self.device)

    def new_batch(self) -> None:
        self._seen.clear()

    def __call__(self, name: str, frames: Frames) -> list[Any]:
        todo = [i for i, key in enumerate(frames.keys) if (name, key) not in self._seen]
        if todo:
            outputs = self.model(name).predict(np.ascontiguousarray(frames.images[todo]))
            for i, output in zip(todo, outputs, strict=True):
                self._seen[(name, frames.keys[i])] = output
        return [self._seen[(name, key)] for key in frames.keys]


@dataclass(frozen=True)
class Planned:
    """One analysis of a job, with the options pinned at Start and its sampling rate."""

    analysis: Analysis
    options: dict
    sample_fps: float | None


@dataclass
class SpanResult:
    rows: dict[str, list[Row]] = field(default_factory=dict)  # analysis name -> rows
    frames: int = 0  # frames decoded (the union of every analysis's sampling)
    decode: DecodeStats = field(default_factory=DecodeStats)


def analyze_span(path: Path, start_millis: int, end_millis: int, planned: list[Planned], inference: Inference, *,
                 batch_size: int, backend: str, max_side: int | None,
                 on_batch: Callable[[int], None] | None = None) -> SpanResult:
    """Every analysis's rows for [start_millis, end_millis), from one decode pass.

    on_batch(frames_so_far) runs after each batch; it may raise Cancelled to stop early."""
    result = SpanResult(rows={p.analysis.name: [] for p in planned})
    states = {p.analysis.name: p.analysis.start_chunk(p.options, start_millis, end_millis) for p in planned}
    rates = {p.analysis.name: p.sample_fps for p in planned}
    for batch in iter_frames(path, start_millis=start_millis, end_millis=end_millis, rates=rates,
                             batch_size=batch_size, backend=backend, max_side=max_side, stats=result.decode):
        inference.new_batch()
        for p in planned:
            positions = batch.wanted.get(p.analysis.name)
            if not positions:
                continue
            frames = Frames(images=batch.frames[positions],
                            timestamps_millis=[batch.timestamps_millis[i] for i in positions], keys=positions)
            result.rows[p.analysis.name].extend(p.analysis.rows(frames, inference, p.options, states[p.analysis.name]))
        result.frames += len(batch)
        if on_batch is not None:
            on_batch(result.frames)
    for p in planned:
        result.rows[p.analysis.name].extend(p.analysis.end_chunk(p.options, states[p.analysis.name]))
    return result
