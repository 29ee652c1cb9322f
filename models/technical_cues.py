"""Technical cues: black frames (Rekognition's BlackFrame filter) and colour bars, per frame and as runs.

Black frames follow Rekognition's definition exactly: a pixel is black when its BT.709 luma is
at most `min_luma + MaxPixelThreshold * luma_range`, and a frame is black when at least
`MinCoveragePercentage` of its pixels are. Frames reach us as RGB that the decoder has already
expanded to full range (limited-range Y 16 becomes 0), so min_luma is 0 and the range 255 for
every video; that is the same test as applying the limited-range formula to the native Y plane.

Colour bars are detected only where it is sound: the SMPTE / EBU / HD bar charts put six
saturated, vertically uniform bars side by side in a fixed order (yellow, cyan, green, magenta,
red, blue). Natural pictures do not, so requiring that exact sequence over at least half the
width keeps false positives out. Opening/end credits, slates and studio logos have no such
signature and are not detected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# BT.709 luma weights (Rekognition: "Luminance is calculated using the BT.709 matrix").
BT709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

BAR_SEQUENCE = ("yellow", "cyan", "green", "magenta", "red", "blue")
# Which of R, G, B is lit in each bar colour.
_COLOURS = {
    (1, 1, 1): "white", (1, 1, 0): "yellow", (0, 1, 1): "cyan", (0, 1, 0): "green",
    (1, 0, 1): "magenta", (1, 0, 0): "red", (0, 0, 1): "blue", (0, 0, 0): "black",
}  # fmt: skip
_MAX_BAR_STD = 18.0  # a bar's column is flat (compressed video adds a little noise)
_MIN_BAR_LEVEL = 60  # a lit channel; bars are at 75 % or 100 % (191 or 255)


def black_coverage(frame: np.ndarray, max_pixel_threshold: float = 0.2) -> float:
    """Fraction of the frame's pixels whose BT.709 luma is at most max_pixel_threshold * 255."""
    luma = frame.reshape(-1, 3).astype(np.float32) @ BT709
    # The weights sum to 1 only up to float error: grey 51 must stay "at most 51".
    return float(np.count_nonzero(luma <= max_pixel_threshold * 255.0 + 1e-3)) / luma.size


def is_black(coverage: float, min_coverage_percentage: float = 99.0) -> bool:
    return coverage * 100.0 >= min_coverage_percentage


def _column_colour(mean: np.ndarray) -> str:
    top = float(mean.max())
    if top < _MIN_BAR_LEVEL:
        return "black"
    lit = tuple(int(channel > 0.5 * top) for channel in mean)
    return _COLOURS[lit]


def color_bars_score(frame: np.ndarray) -> float:
    """0.0 unless the frame shows a colour-bar chart; then 0..1, higher for cleaner (flatter) bars.

    Looks at the top half of the frame (every chart has its main bars there), column by column.
    """
    h, w = frame.shape[:2]
    top = frame[: max(1, h // 2)].astype(np.float32)
    means = top.mean(axis=0)  # (w, 3)
    spread = top.std(axis=0).max(axis=1)  # (w,)
    runs: list[tuple[str, int, float]] = []  # colour, width, worst spread
    for column in range(w):
        colour = _column_colour(means[column]) if spread[column] <= _MAX_BAR_STD else "mixed"
        if runs and runs[-1][0] == colour:
            name, width, worst = runs[-1]
            runs[-1] = (name, width + 1, max(worst, float(spread[column])))
        else:
            runs.append((colour, 1, float(spread[column])))
    # Edges between bars blur into a column or two of "mixed" or odd colours: drop thin runs.
    wide = [run for run in runs if run[1] >= max(2, w // 40)]
    names = [run[0] for run in wide]
    for start in range(len(names) - len(BAR_SEQUENCE) + 1):
        if tuple(names[start : start + len(BAR_SEQUENCE)]) != BAR_SEQUENCE:
            continue
        bars = wide[start : start + len(BAR_SEQUENCE)]
        widths = [run[1] for run in bars]
        if sum(widths) < w / 2 or max(widths) > 1.6 * min(widths):
            continue  # too narrow, or not the equal-width bars of a chart
        return float(np.clip(1.0 - max(run[2] for run in bars) / (2 * _MAX_BAR_STD), 0.0, 1.0))
    return 0.0


@dataclass(frozen=True)
class Run:
    """Frames first..last (inclusive) that share a cue, with a 50..100 confidence."""

    first: int
    last: int
    confidence: float


def runs(flags: list[bool], start_frame: int, confidences: list[float]) -> list[Run]:
    """Maximal runs of consecutive True flags; each run's confidence is its frames' mean."""
    found: list[Run] = []
    begin = None
    for k, flag in enumerate([*flags, False]):
        if flag and begin is None:
            begin = k
        elif not flag and begin is not None:
            found.append(Run(start_frame + begin, start_frame + k - 1, float(np.mean(confidences[begin:k]))))
            begin = None
    return found


def black_frame_runs(coverage: list[float], start_frame: int, min_coverage_percentage: float = 99.0) -> list[Run]:
    """Runs of black frames. Confidence rises from 50 at MinCoveragePercentage to 100 at full coverage."""
    floor = min_coverage_percentage / 100.0
    flags = [is_black(c, min_coverage_percentage) for c in coverage]
    confidences = [100.0 if floor >= 1.0 else 50.0 + 50.0 * min(1.0, (c - floor) / (1.0 - floor)) for c in coverage]
    return runs(flags, start_frame, confidences)


def color_bars_runs(scores: list[float], start_frame: int) -> list[Run]:
    """Runs of colour-bar frames. Confidence is 50 + 50 x the bars' flatness score."""
    return runs([s > 0 for s in scores], start_frame, [50.0 + 50.0 * s for s in scores])
