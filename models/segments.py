"""Rekognition `SegmentDetection` items from a video's merged frame signals: shots and technical cues.

The one place that turns frame runs (models/shots.py, models/technical_cues.py) into the wire
shape of GetSegmentDetection, with the request's filters applied:

* `SegmentTypes` order decides the output order; within a type, items are by start time.
* `ShotFilter.MinSegmentConfidence` and `TechnicalCueFilter.MinSegmentConfidence` (50..100,
  default 50) drop weaker segments. Shot `Index` values are given before that filter, so an
  index always names the same shot.
* `TechnicalCueFilter.BlackFrame.MinCoveragePercentage` is applied here;
  `MaxPixelThreshold` is applied where frames are measured (`SignalMeter(max_pixel_threshold=)`).

Cues detected: `BlackFrames` and `ColorBars`. Not detected, because nothing here can tell them
soundly: `OpeningCredits`, `EndCredits`, `StudioLogo`, `Slate`, `Content`.
"""
from __future__ import annotations

from dataclasses import dataclass

from models.frame_signals import FrameSignals
from models.shots import detect_cuts, shots
from models.technical_cues import Run, black_frame_runs, color_bars_runs
from models.timecode import segment_times

SHOT_MODEL_VERSION = "framewise-shots-1.0"
TECHNICAL_CUE_MODEL_VERSION = "framewise-cues-1.0"
SEGMENT_TYPES = ("TECHNICAL_CUE", "SHOT")


@dataclass(frozen=True)
class SegmentFilters:
    """StartSegmentDetection's Filters, with Rekognition's defaults."""

    shot_min_confidence: float = 50.0
    cue_min_confidence: float = 50.0
    max_pixel_threshold: float = 0.2  # used by SignalMeter, kept here so the job pins one object
    min_coverage_percentage: float = 99.0

    @classmethod
    def from_request(cls, filters: dict | None) -> SegmentFilters:
        filters = filters or {}
        cue = filters.get("TechnicalCueFilter") or {}
        black = cue.get("BlackFrame") or {}
        shot = filters.get("ShotFilter") or {}
        return cls(
            shot_min_confidence=float(shot.get("MinSegmentConfidence", 50.0)),
            cue_min_confidence=float(cue.get("MinSegmentConfidence", 50.0)),
            max_pixel_threshold=float(black.get("MaxPixelThreshold", 0.2)),
            min_coverage_percentage=float(black.get("MinCoveragePercentage", 99.0)),
        )


def selected_segment_types(segment_types: list[str]) -> list[dict]:
    """`SelectedSegmentTypes`: the request's types, echoed with the version that found them."""
    versions = {"SHOT": SHOT_MODEL_VERSION, "TECHNICAL_CUE": TECHNICAL_CUE_MODEL_VERSION}
    return [{"Type": kind, "ModelVersion": versions[kind]} for kind in segment_types]


def _cue(run: Run, kind: str, fps: float) -> dict:
    return {"Type": "TECHNICAL_CUE", **segment_times(run.first, run.last, fps),
            "TechnicalCueSegment": {"Type": kind, "Confidence": run.confidence}}


def segment_detections(signals: FrameSignals, fps: float, segment_types: list[str],
                       filters: SegmentFilters = SegmentFilters()) -> list[dict]:
    """Every `SegmentDetection` of the video, in GetSegmentDetection's order.

    `signals` must be the whole video's merged signals (models.frame_signals.merge_signals),
    starting at frame 0.
    """
    unknown = set(segment_types) - set(SEGMENT_TYPES)
    if unknown or not segment_types:
        raise ValueError(f"SegmentTypes must be some of {SEGMENT_TYPES}, got {segment_types}")
    if signals.start_frame != 0:
        raise ValueError("segment detection needs the whole video's signals, from frame 0")
    found: dict[str, list[dict]] = {}
    if "SHOT" in segment_types:
        cuts = detect_cuts(signals, fps)
        found["SHOT"] = [
            {"Type": "SHOT", **segment_times(shot.first, shot.last, fps),
             "ShotSegment": {"Index": shot.index, "Confidence": shot.confidence}}
            for shot in shots(cuts, len(signals)) if shot.confidence >= filters.shot_min_confidence
        ]
    if "TECHNICAL_CUE" in segment_types:
        cues = [_cue(run, "BlackFrames", fps)
                for run in black_frame_runs(signals.black, signals.start_frame, filters.min_coverage_percentage)]
        cues += [_cue(run, "ColorBars", fps) for run in color_bars_runs(signals.bars, signals.start_frame)]
        found["TECHNICAL_CUE"] = sorted(
            (cue for cue in cues if cue["TechnicalCueSegment"]["Confidence"] >= filters.cue_min_confidence),
            key=lambda cue: (cue["StartFrameNumber"], cue["TechnicalCueSegment"]["Type"]))
    return [item for kind in dict.fromkeys(segment_types) for item in found[kind]]
