"""Which analyzer serves which analysis, and one loaded instance of each per worker process."""
from __future__ import annotations

import functools
from pathlib import Path

from models.base import Analyzer

# analysis -> (analyzer name, version) without importing torch: the web tier and the planner
# record model versions but never load a model.
ANALYSES: dict[str, tuple[str, str]] = {
    "labels": ("centernet-coco", "human-3.3.6-centernet"),
}


def model_version(analysis: str) -> str:
    return ANALYSES[analysis][1]


@functools.cache
def get_analyzer(analysis: str, models_dir: Path, device: str | None = None) -> Analyzer:
    """The loaded analyzer for an analysis, built once per process (lazily, after fork)."""
    if analysis != "labels":
        raise KeyError(f"No analyzer is registered for {analysis!r}")
    from models.centernet import CenterNetAnalyzer
    from models.fetch import centernet_dir

    analyzer = CenterNetAnalyzer(centernet_dir(models_dir), device=device)
    assert (analyzer.name, analyzer.version) == ANALYSES[analysis], "registry and analyzer disagree"
    analyzer.load()
    return analyzer
