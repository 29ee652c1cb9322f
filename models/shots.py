"""Shot boundaries (hard cuts) from the per-frame signals of models/frame_signals.py.

A frame starts a new shot when its change from the frame before stands out from its
neighbours' changes (the adaptive test of PySceneDetect's AdaptiveDetector) in two measures
at once:

* the colour-histogram distance is large (>= 0.2) and at least twice the largest distance
  among the two frames either side. Histograms ignore where things are, so camera and subject
  motion leave it low (handheld close-ups: <= 0.27 but never twice their neighbours) while a
  cut to another scene moves it (0.26-0.84 on the clips measured);
* the pixel-wise content difference is at least 1.5 x the largest of its neighbours. This
  keeps out a frame whose colours jump for another reason (a bird's wing filling the frame).

Comparing against the neighbours' *largest* value, not their mean, matters for telecined
video: every fifth frame of a 3:2 pull-down is a repeat with difference ~0, which would drag a
mean down and turn ordinary motion into false cuts.

Not detected: gradual transitions (dissolves, fades, wipes), whose change is spread over many
frames; two cuts closer than the window (5 frames).

Cut frame = the first frame of the new shot. Shots are frame-exact because every frame is
measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.frame_signals import FrameSignals

# Measured on the project's real clips (cuts_text/, faces/short_hamilton_clip.mp4, the NASA
# clip): every visible cut passes, no frame of the uncut clips does.
MIN_HISTOGRAM = 0.2
HISTOGRAM_RATIO = 2.0
CONTENT_RATIO = 1.5
WINDOW = 2  # neighbours on each side
MIN_SHOT_SECONDS = 0.2  # a second spike closer than this to the last cut is a flash, not a shot
_FLOOR = {"histogram": 0.01, "content": 1.0}  # below these a neighbour counts as "no change"


@dataclass(frozen=True)
class Cut:
    frame: int  # first frame of the new shot
    confidence: float  # 50..100


def neighbour_ratio(values: np.ndarray, window: int, floor: float) -> np.ndarray:
    """values[k] / max(values of the `window` frames either side of k, floor); NaNs are ignored."""
    padded = np.pad(values, window, constant_values=np.nan)
    ratios = np.empty(len(values))
    for k in range(len(values)):
        around = np.concatenate([padded[k : k + window], padded[k + window + 1 : k + 2 * window + 1]])
        around = around[~np.isnan(around)]
        ratios[k] = values[k] / max(float(around.max()) if len(around) else 0.0, floor)
    return ratios


def _confidence(histogram_ratio: float, content_ratio: float) -> float:
    """50 at the weaker test's threshold, 100 once both pass with twice their threshold: a margin
    score, not a probability."""
    margin = min((histogram_ratio - HISTOGRAM_RATIO) / HISTOGRAM_RATIO, (content_ratio - CONTENT_RATIO) / CONTENT_RATIO)
    return float(50.0 + 50.0 * np.clip(margin, 0.0, 1.0))


def detect_cuts(signals: FrameSignals, fps: float, *, min_histogram: float = MIN_HISTOGRAM,
                window: int = WINDOW, min_shot_seconds: float = MIN_SHOT_SECONDS) -> list[Cut]:
    """Cuts in a merged signal series, each the first frame of a new shot."""
    histogram = np.array(signals.histogram, dtype=np.float64)
    content = np.array(signals.content, dtype=np.float64)
    if signals.start_frame == 0 and len(histogram):
        histogram[0] = content[0] = np.nan  # frame 0 has no frame before it: not a measurement
    histogram_ratio = neighbour_ratio(histogram, window, _FLOOR["histogram"])
    content_ratio = neighbour_ratio(content, window, _FLOOR["content"])
    min_gap = max(1, round(min_shot_seconds * fps))
    cuts: list[Cut] = []
    for k in np.flatnonzero((histogram >= min_histogram) & (histogram_ratio >= HISTOGRAM_RATIO)
                            & (content_ratio >= CONTENT_RATIO)):
        cut = Cut(signals.start_frame + int(k), _confidence(histogram_ratio[k], content_ratio[k]))
        if cuts and cut.frame - cuts[-1].frame < min_gap:
            if cut.confidence > cuts[-1].confidence:
                cuts[-1] = cut  # keep the stronger of two spikes too close together
            continue
        cuts.append(cut)
    return cuts


@dataclass(frozen=True)
class Shot:
    index: int
    first: int  # first frame
    last: int  # last frame (inclusive)
    confidence: float


def shots(cuts: list[Cut], frame_count: int) -> list[Shot]:
    """The shots between cuts, covering frames 0..frame_count-1.

    A shot is as certain as its less certain boundary; the video's own start and end are certain.
    """
    bounds = [Cut(0, 100.0), *[c for c in cuts if 0 < c.frame < frame_count]]
    found = []
    for index, start in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else Cut(frame_count, 100.0)
        found.append(Shot(index, start.frame, end.frame - 1, min(start.confidence, end.confidence)))
    return found
