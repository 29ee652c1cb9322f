"""Rekognition's `Similarity` (0..100) from SFace's cosine, so that a `FaceMatchThreshold` is
a false-match rate.

The scale is defined by false matches: a pair scores S when a different person's face would
reach its cosine with probability 10^(-S/20). So every 20 points is ten times fewer false
matches:

    FaceMatchThreshold   50      70      80 (default)   90       95       99      100
    false-match rate    3.2e-3  3.2e-4  1.0e-4         3.2e-5   1.8e-5   1.1e-5   1e-5

The probability comes from a normal fit to SFace's cosine between faces of different people
(IMPOSTOR_MEAN, IMPOSTOR_STD), measured by benchmarks/calibrate_face_similarity.py on the
pairs described in models/data/FACE_SIMILARITY.md, which also gives the measured false and
true matches at each threshold. Below 1e-5 nothing is resolved: similarities stop at 100.

`cosine_threshold(T)` is the inverse, for turning a FaceMatchThreshold into a bound on the
cosine (or on pgvector's cosine distance, 1 - cosine) before searching.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

# benchmarks/calibrate_face_similarity.py, see models/data/FACE_SIMILARITY.md
IMPOSTOR_MEAN = 0.0516
IMPOSTOR_STD = 0.0924
POINTS_PER_DECADE = 20.0  # similarity points per tenfold drop in false matches
FLOOR = 1e-5  # the false-match rate similarity 100 stands for
THRESHOLDS = (50, 70, 80, 90, 95, 99)  # the table FACE_SIMILARITY.md documents


@dataclass(frozen=True)
class SimilarityScale:
    """The mapping for one fitted impostor distribution (the module's functions use ours)."""

    impostor_mean: float = IMPOSTOR_MEAN
    impostor_std: float = IMPOSTOR_STD

    @property
    def _impostors(self) -> NormalDist:
        return NormalDist(self.impostor_mean, self.impostor_std)

    def false_match_rate(self, cosine: float) -> float:
        """Modelled share of different-person pairs whose cosine is at least `cosine`."""
        return 1.0 - self._impostors.cdf(cosine)

    def similarity(self, cosine: float) -> float:
        rate = max(self.false_match_rate(cosine), FLOOR)
        return min(100.0, max(0.0, -POINTS_PER_DECADE * math.log10(rate)))

    def cosine_threshold(self, similarity: float) -> float:
        """The smallest cosine whose similarity is at least `similarity` (0..100)."""
        rate = 10.0 ** (-min(max(similarity, 0.0), 100.0) / POINTS_PER_DECADE)
        if rate >= 1.0:
            return -1.0
        return self._impostors.inv_cdf(1.0 - rate)


_SCALE = SimilarityScale()


def similarity(cosine: float) -> float:
    """Rekognition `Similarity` (0..100) for an SFace cosine."""
    return _SCALE.similarity(cosine)


def cosine_threshold(similarity_threshold: float) -> float:
    """The SFace cosine a `FaceMatchThreshold` (0..100) requires."""
    return _SCALE.cosine_threshold(similarity_threshold)


def false_match_rate(cosine: float) -> float:
    return _SCALE.false_match_rate(cosine)
