"""Calibrated confidence: a model's raw 0..1 score -> a 0..100 confidence that means the same
thing whichever model produced it ("of labels returned at 70, about 70 % are right").

Each label source has its own monotone curve, fitted by isotonic regression on hand-labelled
images (scripts/fit_calibration.py, data: benchmarks/label_set.json) and stored as knots in
models/data/calibration.json: `raw` values and the share of labels that were right at each,
joined by straight lines and flat beyond the ends. A raw score is a label's evidence on one
image: for a detector the best box score of that label, for a classifier the summed probability
of the classes mapped to that label (models/label_fusion.py). Isotonic rather than temperature
(Platt) scaling because the measured relation is not logistic: a classifier's summed
probability of 0.02-0.1 is right about a quarter of the time and then rises steeply, which a
two-parameter sigmoid fitted to every sample flattens into "0.2 is 50 %". The data, the curves
and what they mean for MinConfidence are in models/data/CALIBRATION.md.

Pure Python, no torch: the fusion step and the web tier can import it.
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DATA_FILE = "calibration.json"


@dataclass(frozen=True)
class Curve:
    """A monotone piecewise-linear map from raw score to confidence (percent)."""

    raw: tuple[float, ...]  # increasing
    confidence: tuple[float, ...]  # non-decreasing, percent

    def __post_init__(self) -> None:
        if not self.raw or len(self.raw) != len(self.confidence):
            raise ValueError("a curve needs as many confidences as raw knots, at least one")
        if any(b <= a for a, b in zip(self.raw, self.raw[1:], strict=False)) or any(
                b < a for a, b in zip(self.confidence, self.confidence[1:], strict=False)):
            raise ValueError("a curve's raw knots must increase and its confidences must not decrease")

    def __call__(self, raw: float) -> float:
        i = bisect.bisect_right(self.raw, raw)
        if i == 0:
            return self.confidence[0]
        if i == len(self.raw):
            return self.confidence[-1]
        x0, x1, y0, y1 = self.raw[i - 1], self.raw[i], self.confidence[i - 1], self.confidence[i]
        return y0 + (y1 - y0) * (raw - x0) / (x1 - x0)

    def raw_for(self, confidence: float) -> float:
        """The lowest raw score that reaches `confidence` (1.0 when none does): a model's own
        pre-filter can drop what could never pass a MinConfidence."""
        if self.confidence[0] >= confidence:
            return 0.0
        for i in range(1, len(self.raw)):
            y0, y1 = self.confidence[i - 1], self.confidence[i]
            if y1 >= confidence:
                x0, x1 = self.raw[i - 1], self.raw[i]
                return x0 + (x1 - x0) * (confidence - y0) / (y1 - y0)
        return 1.0


IDENTITY = Curve((0.0, 1.0), (0.0, 100.0))  # confidence = 100 x raw, as before calibration


@cache
def curves() -> dict[str, Curve]:
    """Model name -> its fitted curve, from models/data/calibration.json."""
    text = resources.files("models").joinpath("data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return {name: Curve(tuple(entry["raw"]), tuple(entry["confidence"]))
            for name, entry in json.loads(text)["models"].items()}


def curve(model_name: str) -> Curve:
    try:
        return curves()[model_name]
    except KeyError:
        raise KeyError(f"no calibration for {model_name!r} in models/data/{_DATA_FILE}; "
                       "fit one with scripts/fit_calibration.py") from None


def fit_isotonic(raws, rights) -> Curve:
    """The curve that best fits (raw score, 1 if right else 0) samples under the constraint that
    confidence never falls as the raw score rises (pool-adjacent-violators, scipy's). Knots sit
    at each pooled block's mean raw score, valued at the block's share of right labels."""
    import numpy as np
    from scipy.optimize import isotonic_regression

    order = np.argsort(raws, kind="stable")
    x = np.asarray(raws, dtype=float)[order]
    y = np.asarray(rights, dtype=float)[order]
    fitted = isotonic_regression(y, increasing=True)
    knots_raw: list[float] = []
    knots_confidence: list[float] = []
    for start, end in zip(fitted.blocks[:-1], fitted.blocks[1:], strict=True):
        knots_raw.append(round(float(x[start:end].mean()), 4))
        knots_confidence.append(round(100.0 * float(fitted.x[start]), 2))
    # Blocks can share a mean raw score after rounding; keep the later (higher) one.
    curve_raw, curve_confidence = [], []
    for raw, confidence in zip(knots_raw, knots_confidence, strict=True):
        if curve_raw and raw <= curve_raw[-1]:
            curve_confidence[-1] = max(curve_confidence[-1], confidence)
            continue
        curve_raw.append(raw)
        curve_confidence.append(confidence)
    return Curve(tuple(curve_raw), tuple(curve_confidence))
