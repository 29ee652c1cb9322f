"""What models return, typed by kind: boxes, faces (box + landmarks), embeddings, text, scores,
age and gender.

Pure data, no torch: the job engine, the analyses and the tests read these without loading a
model. Geometry is always in ratios of the image's width and height (Rekognition's convention,
origin top-left); scores are the model's own 0..1 values (analyses turn them into calibrated
percent confidences).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class BoundingBox:
    """A box as ratios of the frame's width and height, as Rekognition reports it."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def clamped(self) -> BoundingBox:
        left, top = min(max(self.left, 0.0), 1.0), min(max(self.top, 0.0), 1.0)
        right, bottom = min(max(self.right, 0.0), 1.0), min(max(self.bottom, 0.0), 1.0)
        return BoundingBox(left, top, max(right - left, 0.0), max(bottom - top, 0.0))

    def iou(self, other: BoundingBox) -> float:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        inter = width * height
        return inter / (self.area + other.area - inter)

    def to_wire(self) -> dict:
        return {"Width": self.width, "Height": self.height, "Left": self.left, "Top": self.top}

    @classmethod
    def from_corners(cls, x1: float, y1: float, x2: float, y2: float) -> BoundingBox:
        return cls(left=x1, top=y1, width=x2 - x1, height=y2 - y1)


@dataclass(frozen=True)
class ObjectBox:
    """kind "boxes": one object a detector found. `name` is the model's own class name (COCO's
    "cell phone"); mapping it to Rekognition's names is the taxonomy's job."""

    name: str
    score: float
    box: BoundingBox


@dataclass(frozen=True)
class Face:
    """kind "faces": one face a face detector found, with named landmarks as (x, y) ratios.

    Landmark names are Rekognition's (`eyeLeft`, `eyeRight`, `nose`, `mouthLeft`, `mouthRight`, …).
    """

    score: float
    box: BoundingBox
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Embedding:
    """kind "embeddings": a unit-length vector describing one input (a face crop, a person crop)."""

    vector: np.ndarray  # float32, (D,), L2-normalised

    def similarity(self, other: Embedding) -> float:
        return float(np.dot(self.vector, other.vector))


@dataclass(frozen=True)
class TextWord:
    text: str
    score: float
    polygon: tuple[tuple[float, float], ...]  # clockwise from top-left, ratios


@dataclass(frozen=True)
class TextLine:
    """kind "text": one line of text with its polygon and, where the model splits them, words."""

    text: str
    score: float
    polygon: tuple[tuple[float, float], ...]
    words: tuple[TextWord, ...] = ()


@dataclass(frozen=True)
class ClassScores:
    """kind "scores": a classifier's scores for one input, best first (all classes, or the top few)."""

    names: tuple[str, ...]
    scores: np.ndarray  # float32, same length as names, descending

    def top(self, k: int) -> list[tuple[str, float]]:
        return [(self.names[i], float(self.scores[i])) for i in range(min(k, len(self.names)))]

    def get(self, name: str, default: float = 0.0) -> float:
        try:
            return float(self.scores[self.names.index(name)])
        except ValueError:
            return default


@dataclass(frozen=True)
class AgeGender:
    """kind "age_gender": a face's apparent age and gender, as one model estimates them.

    `ages` is the model's probability for each whole year of age (index = years), so an age
    range is read off its quantiles rather than invented around a point estimate; `male` is the
    model's probability that the face looks male (1 - male: female)."""

    age: float  # the model's own point estimate, in years
    ages: np.ndarray  # float32, (100,), sums to 1
    male: float

    def age_range(self, mass: float = 0.8) -> tuple[int, int]:
        """The central interval of whole years holding `mass` of the age distribution."""
        cumulative = np.cumsum(self.ages, dtype=np.float64)
        tail = (1.0 - mass) / 2
        low = int(np.searchsorted(cumulative, tail, side="left"))
        high = int(np.searchsorted(cumulative, 1.0 - tail, side="left"))
        return low, max(low, min(high, len(self.ages) - 1))
