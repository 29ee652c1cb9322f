"""What a model is: the one small interface every vision model sits behind."""
from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.specs import ModelSpec


class Model(abc.ABC):
    """A model behind a batch interface.

    Built by models.registry from its spec with the verified files and a device; `load()` must
    be safe to call twice and runs lazily in the worker process, never at import time (CUDA must
    not be initialised before a fork). `predict` takes a batch of inputs (uint8 RGB frames
    shaped (N, H, W, 3), or a list of differently sized crops) and returns one output per input,
    of the spec's kind (models/outputs.py).
    """

    def __init__(self, spec: ModelSpec, files: dict[str, Path], device: str, batch_size: int):
        self.spec = spec
        self.files = files
        self.device = device
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @abc.abstractmethod
    def load(self) -> None: ...

    @abc.abstractmethod
    def predict(self, inputs: np.ndarray | Sequence[np.ndarray]) -> list[Any]:
        """One output per input, of the kind the spec declares."""


class LazyModel(Model):
    """A Model whose heavy part (an inference session, a network) is built on first use, once,
    even when several threads ask at the same time. Subclasses implement `build()` and use
    `self.built`."""

    def __init__(self, spec: ModelSpec, files: dict[str, Path], device: str, batch_size: int):
        super().__init__(spec, files, device, batch_size)
        self._built: Any = None
        self._build_lock = threading.Lock()

    @abc.abstractmethod
    def build(self) -> Any:
        """Create the heavy part from self.files on self.device."""

    def load(self) -> None:
        if self._built is None:
            with self._build_lock:
                if self._built is None:
                    self._built = self.build()

    @property
    def built(self) -> Any:
        self.load()
        return self._built


def check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 RGB shaped (N, H, W, 3), got {frames.dtype} {frames.shape}")
    return frames
