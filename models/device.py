"""Device and batch size, chosen in one place for every model."""
from __future__ import annotations

import functools

from models.specs import ModelSpec


@functools.cache
def resolve_device(requested: str | None = None) -> str:
    """The torch device to run on: the one asked for, else CUDA when present, else the CPU.

    Imports torch, so only workers call it (after their fork)."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def batch_size(spec: ModelSpec, device: str) -> int:
    cpu, gpu = spec.batch
    return gpu if device.startswith("cuda") else cpu
