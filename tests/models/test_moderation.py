"""Rekognition moderation labels from scores: taxonomy, parents, calibration (pure)."""
from __future__ import annotations

import numpy as np
import pytest

from models.moderation import (
    NOT_COVERED,
    TAXONOMY,
    calibrated_confidence,
    frame_moderation_labels,
    moderation_labels,
    taxonomy_level,
)
from models.outputs import ClassScores


def test_taxonomy_levels():
    assert taxonomy_level("Explicit") == 1
    assert taxonomy_level("Explicit Nudity") == 2
    assert taxonomy_level("Exposed Female Nipple") == 3
    assert max(taxonomy_level(name) for name in TAXONOMY) == 3
    assert all(parent == "" or parent in TAXONOMY for parent in TAXONOMY.values())


def test_a_child_brings_its_parents_at_its_confidence():
    labels = moderation_labels({"Exposed Female Nipple": 91.0, "Explicit Sexual Activity": 60.0})
    assert labels == [
        {"Name": "Exposed Female Nipple", "ParentName": "Explicit Nudity", "TaxonomyLevel": 3, "Confidence": 91.0},
        {"Name": "Explicit Nudity", "ParentName": "Explicit", "TaxonomyLevel": 2, "Confidence": 91.0},
        {"Name": "Explicit Sexual Activity", "ParentName": "Explicit", "TaxonomyLevel": 2, "Confidence": 60.0},
        {"Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1, "Confidence": 91.0},
    ]
    assert [l["Name"] for l in moderation_labels({"Exposed Female Nipple": 91.0, "Explicit Sexual Activity": 60.0},
                                                 min_confidence=70)] == [
        "Exposed Female Nipple", "Explicit Nudity", "Explicit"]
    with pytest.raises(KeyError):
        moderation_labels({"Suggestive": 99.0})  # the old v6 name is not in the taxonomy


def test_calibration_moves_the_decision_point_to_p_0_9():
    assert calibrated_confidence(0.9) == pytest.approx(50.0)
    assert calibrated_confidence(0.5) == pytest.approx(10.0)
    assert calibrated_confidence(0.99) == pytest.approx(91.67, abs=0.01)
    assert calibrated_confidence(0.999) > 99.0
    assert calibrated_confidence(0.83) < 36.0  # the highest everyday frame measured
    assert calibrated_confidence(0.0) >= 0.0 and calibrated_confidence(1.0) <= 100.0
    grid = [calibrated_confidence(p) for p in np.linspace(0, 1, 101)]
    assert grid == sorted(grid)


def test_open_nsfw_reports_explicit_only():
    explicit = ClassScores(("nsfw", "sfw"), np.array([0.995, 0.005], np.float32))
    safe = ClassScores(("sfw", "nsfw"), np.array([0.97, 0.03], np.float32))
    labels = frame_moderation_labels([explicit, safe])
    assert labels[1] == []
    assert [(l["Name"], l["ParentName"], l["TaxonomyLevel"]) for l in labels[0]] == [("Explicit", "", 1)]
    assert labels[0][0]["Confidence"] == pytest.approx(calibrated_confidence(0.995), abs=1e-3)


def test_what_no_model_covers_is_listed():
    for category in ("Violence", "Weapons", "Drugs & Tobacco", "Alcohol", "Hate Symbols", "Gambling",
                     "Swimwear or Underwear", "Explicit Nudity", "Explicit Sexual Activity"):
        assert category in NOT_COVERED
    assert "Explicit" not in NOT_COVERED
