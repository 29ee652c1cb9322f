"""The hand-labelled image set (benchmarks/label_set.json): loading its images, and scoring labels.

Used by benchmarks/bench_label_quality.py (precision, recall, F1 per model) and by
scripts/fit_calibration.py (the confidence curves). The set has two folds, 'a' and 'b', that
share no clip or photo: a curve fitted on one fold is scored on the other. Images come from scikit-image's bundled
photos and from the shared test media; nothing is downloaded.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "benchmarks" / "label_set.json"
SHARED_MEDIA = REPO.parent / "shared" / "media"


@dataclass(frozen=True)
class Item:
    source: str
    at: float | None
    fold: str
    expected: frozenset[str]
    allowed: tuple[str, ...]

    @property
    def title(self) -> str:
        return self.source if self.at is None else f"{self.source}@{self.at:g}s"


FOLDS = ("a", "b")


def items(fold: str | None = None) -> list[Item]:
    """The labelled images, all of them or one fold's."""
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    out = [Item(i["source"], i["at"], i["fold"], frozenset(i["expected"]), tuple(i["allowed"])) for i in data["items"]]
    return [item for item in out if fold is None or item.fold == fold]


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds - 1e-3:
                return frame.to_ndarray(format="rgb24")
    raise ValueError(f"{path} has no frame at {seconds} s")


@cache
def image(item: Item) -> np.ndarray:
    """The item's image as uint8 RGB (H, W, 3)."""
    kind, _, name = item.source.partition("/")
    if kind == "skimage":
        from skimage import data

        picture = data.stereo_motorcycle()[0] if name == "stereo_motorcycle" else getattr(data, name)()
    elif kind == "media":
        path = SHARED_MEDIA / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: the shared test media are not in this checkout")
        if item.at is None:
            from PIL import Image

            picture = np.asarray(Image.open(path).convert("RGB"))
        else:
            picture = _frame_at(path, item.at)
    else:
        raise ValueError(f"unknown source {item.source!r}")
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    return np.ascontiguousarray(picture[..., :3].astype(np.uint8))


def _matches(pattern: str, name: str) -> bool:
    from models.taxonomy import label_info

    if pattern.endswith("/*"):
        root = pattern[:-2]
        if name == root:
            return True
        try:
            return root in label_info(name).parents
        except KeyError:
            return False
    return name == pattern


def _ancestors(name: str) -> set[str]:
    from models.taxonomy import label_info

    try:
        return set(label_info(name).parents)
    except KeyError:
        return set()


def is_true(item: Item, name: str) -> bool:
    """Is a returned label right for this image: an expected or allowed one, or an ancestor of one."""
    if name in item.expected or any(_matches(p, name) for p in item.allowed):
        return True
    return any(name in _ancestors(e) for e in item.expected) or any(
        name in _ancestors(p.removesuffix("/*")) for p in item.allowed)


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def add(self, item: Item, returned: set[str]) -> list[str]:
        """Count one image's returned label names; the false ones are returned for the report."""
        false = sorted(name for name in returned if not is_true(item, name))
        self.false_positives += len(false)
        self.true_positives += len(item.expected & returned)
        self.false_negatives += len(item.expected - returned)
        return false

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# Evidence below this is never worth a label, so it takes no part in fitting a curve either.
MIN_RAW = 0.02


def samples(outputs: dict[Item, object]) -> tuple[list[float], list[float]]:
    """(raw evidence, 1.0 if the label is right else 0.0) for every label one model gives on the
    images in `outputs` (item -> that model's output for it)."""
    from models.label_fusion import raw_evidence

    raws, rights = [], []
    for item, output in outputs.items():
        for name, raw in raw_evidence(output).items():
            if raw >= MIN_RAW:
                raws.append(raw)
                rights.append(1.0 if is_true(item, name) else 0.0)
    return raws, rights
