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


def set_cpu_threads(threads: int) -> None:
    """How many CPU threads each model runs on in this process (torch, and the ONNX/LiteRT
    runtimes that read torch's setting); 0 keeps torch's default (one per core).

    Measured on a 2-core box with two worker processes: one thread each ran the detectors 3-5x
    faster than two (each process's threads fought the other's), so the default is one thread per
    process and one worker process per core."""
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
