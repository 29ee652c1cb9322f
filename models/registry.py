"""Loaded models, one instance of each per worker process, built from their specs on first use."""
from __future__ import annotations

import functools
import importlib
import threading
from pathlib import Path

from models.base import Model
from models.catalog import spec as spec_named
from models.device import batch_size, resolve_device

_lock = threading.Lock()


@functools.cache
def _factory(path: str) -> type[Model]:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def load(name: str, models_dir: Path, device: str | None = None) -> Model:
    """The loaded model called `name`, built once per process (lazily, after fork)."""
    with _lock:
        return _load(name, Path(models_dir), device)


@functools.cache
def _load(name: str, models_dir: Path, device: str | None) -> Model:
    from models.fetch import missing

    spec = spec_named(name)
    if missing([spec], models_dir):
        raise FileNotFoundError(f"model {name!r} is missing or altered in {models_dir}; "
                                "run `framewise models fetch` first")
    chosen = resolve_device(device)
    model = _factory(spec.factory)(spec, spec.paths(models_dir), chosen, batch_size(spec, chosen))
    model.load()
    return model
