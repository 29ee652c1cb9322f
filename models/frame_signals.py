"""Per-frame measurements for segment detection, taken on every decoded frame of one chunk.

Shot boundaries and technical cues must be frame-exact, so segment detection looks at every
frame, not at the 2 fps samples the other analyses use. What it needs from a frame is tiny:
how much it differs from the frame before (pixel by pixel, and as a colour histogram), what
fraction of it is black, and whether it shows colour bars. A chunk measures exactly its own frames [start, end) and keeps these numbers
(`FrameSignals`, plain JSON); cuts and cues are found once the chunks are merged
(models/shots.py, models/technical_cues.py). A cut exactly on a chunk edge is the difference
of the edge frame from the one before it, which the chunk owning the edge frame measures
(it is handed the previous chunk's last frame, or decodes one frame early), so it is counted
once and never lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from models.technical_cues import black_coverage, color_bars_score

SIGNAL_WIDTH = 128  # frames are measured at this width (height by aspect): enough for shots and bars


def downscale(frame: np.ndarray, width: int = SIGNAL_WIDTH) -> np.ndarray:
    """An RGB frame at `width` pixels wide (area-averaged), unchanged when already that small."""
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    height = max(1, round(h * width / w))
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def content_difference(previous_hsv: np.ndarray, current_hsv: np.ndarray) -> float:
    """Mean absolute change of hue, saturation and value between two frames (0..255 scale).

    PySceneDetect's "content value": it sees any change, including a cut between two shots of
    the same colours, but also motion.
    """
    diff = np.abs(current_hsv.astype(np.int16) - previous_hsv.astype(np.int16))
    return float(diff.mean())


def colour_histogram(hsv: np.ndarray) -> np.ndarray:
    """A normalised 16x4x4 hue/saturation/value histogram (256 bins)."""
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return hist / max(float(hist.sum()), 1.0)


def histogram_distance(previous: np.ndarray, current: np.ndarray) -> float:
    """1 - histogram intersection (0 = same colours, 1 = none shared).

    Blind to where things are, so camera and subject motion barely move it while a cut to
    another scene does.
    """
    return float(1.0 - np.minimum(previous, current).sum())


@dataclass
class FrameSignals:
    """What one stretch of frames [start_frame, start_frame + len) measured, frame by frame.

    content[k]      content difference of frame start_frame+k from the frame before it
    histogram[k]    histogram distance of that frame from the frame before it
                    (both 0.0 for the video's first frame, which has none)
    black[k]        fraction of the frame's pixels at or below the black level (0..1)
    bars[k]         colour-bars score (0 = no bars, else 0..1 how clean the bars are)
    """

    start_frame: int
    content: list[float] = field(default_factory=list)
    histogram: list[float] = field(default_factory=list)
    black: list[float] = field(default_factory=list)
    bars: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.content)

    @property
    def end_frame(self) -> int:
        """One past the last frame measured."""
        return self.start_frame + len(self)

    def to_json(self) -> dict:
        return {"start_frame": self.start_frame, **{name: [round(v, 5) for v in getattr(self, name)]
                                                     for name in _SERIES}}

    @classmethod
    def from_json(cls, data: dict) -> FrameSignals:
        return cls(int(data["start_frame"]), **{name: [float(v) for v in data[name]] for name in _SERIES})


_SERIES = ("content", "histogram", "black", "bars")


class SignalMeter:
    """Measures consecutive frames of one chunk.

    `previous` is the frame just before `start_frame` (the last frame of the previous chunk), so
    that the chunk's first frame gets its difference; leave it None only for frame 0.
    `max_pixel_threshold` is the job's BlackFrame.MaxPixelThreshold (Rekognition default 0.2).
    """

    def __init__(self, start_frame: int, previous: np.ndarray | None = None, max_pixel_threshold: float = 0.2):
        if start_frame > 0 and previous is None:
            raise ValueError("a chunk that does not start at frame 0 needs the frame before it")
        self.signals = FrameSignals(start_frame)
        self.max_pixel_threshold = max_pixel_threshold
        self._previous = None if previous is None else self._describe(downscale(previous))

    @staticmethod
    def _describe(small_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hsv = cv2.cvtColor(np.ascontiguousarray(small_rgb), cv2.COLOR_RGB2HSV)
        return hsv, colour_histogram(hsv)

    def add(self, frame: np.ndarray) -> None:
        """Measure the next frame (uint8 RGB, any size)."""
        small = downscale(frame)
        hsv, hist = current = self._describe(small)
        if self._previous is None or self._previous[0].shape != hsv.shape:
            content = distance = 0.0
        else:
            content = content_difference(self._previous[0], hsv)
            distance = histogram_distance(self._previous[1], hist)
        self._previous = current
        self.signals.content.append(content)
        self.signals.histogram.append(distance)
        self.signals.black.append(black_coverage(small, self.max_pixel_threshold))
        self.signals.bars.append(color_bars_score(small))


def merge_signals(chunks: list[FrameSignals]) -> FrameSignals:
    """One series from chunks measured separately, in frame order.

    Chunks may overlap (a chunk that decoded a few frames early): each frame keeps the value of
    the first chunk that measured it. A gap between chunks is an error, since a cut inside it
    would be lost.
    """
    if not chunks:
        return FrameSignals(0)
    ordered = sorted(chunks, key=lambda c: c.start_frame)
    merged = FrameSignals(ordered[0].start_frame)
    for chunk in ordered:
        if chunk.start_frame > merged.end_frame:
            raise ValueError(f"frames {merged.end_frame}..{chunk.start_frame - 1} were never measured")
        skip = merged.end_frame - chunk.start_frame
        for name in _SERIES:
            getattr(merged, name).extend(getattr(chunk, name)[skip:])
    return merged
