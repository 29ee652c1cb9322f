"""Segment detection: StartSegmentDetection / GetSegmentDetection (shots and technical cues).

Shots must be frame-exact, so this analysis takes every decoded frame (sample_fps None), which
the engine decodes once for every analysis of the job. Per chunk it keeps only tiny per-frame
signals (models/frame_signals.py): difference from the frame before, colour-histogram distance,
black coverage, colour-bar score, plus the chunk's first and last frame at 128 px wide. Those go
into one internal row per chunk (aggregate "SIGNALS", never served). Chunks run in parallel, so
the difference of a chunk's first frame from the previous chunk's last one is measured at
finalize from the two stored edge frames: a cut exactly on a chunk edge is found like any other.

finalize merges the chunks' signals into one series from frame 0 (frame numbers are positions
in it, since every frame is measured), finds shots and cues (models/segments.py) and writes the
`SegmentDetection` items, ordered by the request's `SegmentTypes`, then by start frame. It also
reads the file's audio streams for `AudioMetadata`; `VideoMetadata` is a list here.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from jobs.analyses import Analysis, Frames, Order, Row, register
from jobs.records import Job, JobAnalysis, Result
from models.frame_signals import FrameSignals, SignalMeter, downscale, merge_signals
from models.segments import SegmentFilters, segment_detections, selected_segment_types

log = logging.getLogger(__name__)

SIGNALS = "SIGNALS"  # one internal row per chunk: its frame signals and edge frames
AUDIO = "AUDIO"  # one internal row per job: the file's audio streams


def _pack(frame: np.ndarray) -> dict:
    return {"shape": list(frame.shape), "data": base64.b64encode(np.ascontiguousarray(frame).tobytes()).decode()}


def _unpack(packed: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed["data"]), np.uint8).reshape(packed["shape"])


@dataclass
class ChunkState:
    meter: SignalMeter
    start_millis: int
    end_millis: int
    timestamps: list[int] = field(default_factory=list)
    first: np.ndarray | None = None
    last: np.ndarray | None = None


def edge_difference(previous_last: np.ndarray, first: np.ndarray) -> tuple[float, float]:
    """(content difference, histogram distance) of a chunk's first frame from the frame before it."""
    meter = SignalMeter(1, previous=previous_last)
    meter.add(first)
    return meter.signals.content[0], meter.signals.histogram[0]


def join_chunks(chunks: list[dict]) -> FrameSignals:
    """The whole video's signals from the chunks' internal rows, in chunk order."""
    parts, previous, start = [], None, 0
    for chunk in chunks:
        signals = FrameSignals.from_json(chunk["Signals"])
        signals.start_frame = start
        if previous is not None and len(signals):
            signals.content[0], signals.histogram[0] = edge_difference(_unpack(previous), _unpack(chunk["First"]))
        parts.append(signals)
        start += len(signals)
        previous = chunk["Last"] if len(signals) else previous
    return merge_signals(parts)


def audio_metadata(path) -> list[dict]:
    """`AudioMetadata`: one entry per audio stream of the file, as far as its container says."""
    import av

    out = []
    with av.open(str(path)) as container:
        for stream in container.streams.audio:
            context = stream.codec_context
            duration = stream.duration * stream.time_base * 1000 if stream.duration and stream.time_base else 0
            channels = getattr(getattr(context, "layout", None), "nb_channels", None) or getattr(context, "channels", 0)
            out.append({"Codec": context.name, "DurationMillis": int(duration),
                        "SampleRate": int(context.sample_rate or 0), "NumberOfChannels": int(channels or 0)})
    return out


@register
class SegmentDetection(Analysis):
    name = "segments"
    start_op = "StartSegmentDetection"
    get_op = "GetSegmentDetection"
    items_key = "Segments"
    # GetSegmentDetection has no SortBy: items come by the requested type order, then start frame.
    sorts: ClassVar = {"SEGMENT": Order.GROUP}

    def options(self, request: dict, settings) -> dict:
        return {"SegmentTypes": list(dict.fromkeys(request["SegmentTypes"])), "Filters": request.get("Filters") or {}}

    def sample_fps(self, options: dict) -> float | None:
        return None  # every frame

    def start_chunk(self, options: dict, start_millis: int, end_millis: int) -> ChunkState:
        threshold = SegmentFilters.from_request(options.get("Filters")).max_pixel_threshold
        # Frame numbers are given at finalize; the first frame's difference is measured there too.
        return ChunkState(SignalMeter(0, max_pixel_threshold=threshold), start_millis, end_millis)

    def rows(self, frames: Frames, infer, options: dict, state: ChunkState) -> list[Row]:
        for image, timestamp in zip(frames.images, frames.timestamps_millis, strict=True):
            if timestamp >= state.end_millis:
                continue  # a frame a hair before the edge, rounded onto it: the next chunk measures it
            small = downscale(image)
            state.meter.add(small)
            state.timestamps.append(timestamp)
            if state.first is None:
                state.first = small
            state.last = small
        return []

    def end_chunk(self, options: dict, state: ChunkState) -> list[Row]:
        if state.first is None:
            return []
        item = {"Signals": state.meter.signals.to_json(), "Timestamps": state.timestamps,
                "First": _pack(state.first), "Last": _pack(state.last)}
        return [Row(state.timestamps[0], item, aggregate=SIGNALS)]

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        session.execute(delete(Result).where(Result.job_id == job.id, Result.analysis == self.name,
                                             Result.aggregate.in_(["TIMESTAMPS", AUDIO])))
        chunks = session.scalars(select(Result.item).where(
            Result.job_id == job.id, Result.analysis == self.name, Result.aggregate == SIGNALS)
            .order_by(Result.chunk_index, Result.timestamp_millis)).all()
        signals = join_chunks(list(chunks))
        types = record.options["SegmentTypes"]
        fps = float((job.video_metadata or {}).get("FrameRate") or 0)
        if len(signals) and fps > 0:
            filters = SegmentFilters.from_request(record.options.get("Filters"))
            for item in segment_detections(signals, fps, types, filters):
                session.add(Result(job_id=job.id, analysis=self.name, chunk_index=None, aggregate="TIMESTAMPS",
                                   timestamp_millis=item["StartTimestampMillis"],
                                   group_key=str(types.index(item["Type"])), rank=item["StartFrameNumber"],
                                   item=item))
        session.add(Result(job_id=job.id, analysis=self.name, chunk_index=None, aggregate=AUDIO,
                           timestamp_millis=0, item={"AudioMetadata": self._audio(job)}))

    @staticmethod
    def _audio(job: Job) -> list[dict]:
        from jobs.settings import get_settings
        from jobs.storage import VideoRef, open_local

        ref = VideoRef(job.video_bucket, job.video_name, job.video_version)
        try:
            with open_local(ref, get_settings().video_cache_dir / job.id) as path:
                return audio_metadata(path)
        except Exception:
            log.warning("could not read the audio streams of job %s", job.id, exc_info=True)
            return []

    def decorate(self, response: dict, job: Job, record: JobAnalysis) -> None:
        response["SelectedSegmentTypes"] = selected_segment_types(record.options["SegmentTypes"])
        if "VideoMetadata" in response:
            response["VideoMetadata"] = [response["VideoMetadata"]]
        session = object_session(record)
        audio = session.scalar(select(Result.item).where(
            Result.job_id == job.id, Result.analysis == self.name, Result.aggregate == AUDIO)) if session else None
        response["AudioMetadata"] = (audio or {}).get("AudioMetadata", [])
