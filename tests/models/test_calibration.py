"""models/calibration.py: the curves, how they are fitted, and the shipped ones."""
from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from jobs.analyses.labels import CLASSIFIERS
from models.calibration import IDENTITY, Curve, curve, curves, fit_isotonic
from models.catalog import SPECS


def test_a_curve_interpolates_and_is_flat_beyond_its_knots():
    c = Curve((0.2, 0.4, 0.8), (10.0, 50.0, 90.0))
    assert c(0.0) == 10.0 and c(0.2) == 10.0
    assert c(0.3) == pytest.approx(30.0) and c(0.6) == pytest.approx(70.0)
    assert c(0.9) == 90.0 and c(1.0) == 90.0
    assert c.raw_for(50.0) == pytest.approx(0.4) and c.raw_for(30.0) == pytest.approx(0.3)
    assert c.raw_for(5.0) == 0.0 and c.raw_for(95.0) == 1.0
    assert IDENTITY(0.42) == pytest.approx(42.0)


def test_a_curve_must_be_monotone():
    with pytest.raises(ValueError):
        Curve((0.2, 0.1), (10.0, 20.0))
    with pytest.raises(ValueError):
        Curve((0.1, 0.2), (30.0, 20.0))
    with pytest.raises(ValueError):
        Curve((), ())


def test_isotonic_fit_recovers_a_known_relation():
    rng = np.random.default_rng(7)
    raws = rng.uniform(0, 1, 4000)
    rights = (rng.uniform(0, 1, 4000) < raws**2).astype(float)  # P(right) = raw squared
    fitted = fit_isotonic(raws, rights)
    for raw in (0.2, 0.5, 0.8):
        assert fitted(raw) == pytest.approx(100 * raw**2, abs=6)
    assert list(fitted.confidence) == sorted(fitted.confidence)


def test_isotonic_fit_pools_what_is_out_of_order():
    fitted = fit_isotonic([0.1, 0.2, 0.3, 0.4], [0.0, 1.0, 0.0, 1.0])
    assert fitted.raw == (0.1, 0.25, 0.4) and fitted.confidence == (0.0, 50.0, 100.0)


def test_every_label_model_has_a_shipped_curve():
    # the models whose scores become label confidences: COCO detectors and the ImageNet classifiers
    # (emotion and NSFW scores are "scores" too, but they are not labels and have no curve)
    label_models = {name for name, s in SPECS.items() if s.kind == "boxes"} | set(CLASSIFIERS)
    assert label_models <= set(curves())
    text = resources.files("models").joinpath("data").joinpath("calibration.json").read_text(encoding="utf-8")
    for name, entry in json.loads(text)["models"].items():
        assert entry["method"] == "isotonic" and entry["samples"] > 100, name
        assert len(entry["raw"]) == len(entry["confidence"]) >= 3, name


def test_the_shipped_curves_say_what_was_measured():
    yolox, centernet = curve("yolox-nano-coco"), curve("centernet-coco")
    # YOLOX's boxes above 0.9 were right on the labelled set; below 0.2 mostly not
    assert yolox(0.95) >= 90 and yolox(0.15) < 25
    assert 0.3 < yolox.raw_for(50) < 0.5
    # CenterNet's scores are low for what it gets right: 0.3 already means more often right than not
    assert centernet(0.3) > 50 and centernet.raw_for(50) < 0.3
    effnet = curve("efficientnet-lite3-imagenet")
    assert effnet(0.9) > 90 and effnet(0.05) < 40
    with pytest.raises(KeyError, match="no calibration"):
        curve("no-such-model")
