"""What an analyzer is: the one small interface every vision model sits behind."""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BoundingBox:
    """A box as ratios of the frame's width and height, as Rekognition reports it."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Detection:
    """One object the model saw in one frame.

    `name` is the model's own class name (e.g. COCO's "car"); mapping it to Rekognition's
    label names is the taxonomy's job, not the model's.
    """

    name: str
    confidence: float  # percent, 0..100
    box: BoundingBox | None = None


class Analyzer(abc.ABC):
    """A model behind a batch interface.

    `load()` must be safe to call twice and is called lazily in the worker process, never
    at import time (CUDA must not be initialised before a fork).
    """

    name: str
    version: str

    @abc.abstractmethod
    def load(self) -> None: ...

    @abc.abstractmethod
    def predict(self, frames: np.ndarray) -> list[list[Detection]]:
        """frames: uint8 RGB array shaped (N, H, W, 3). Returns one list of detections per frame."""
