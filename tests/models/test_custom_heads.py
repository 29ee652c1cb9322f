"""Custom Labels' metrics on hand-made numbers: the classifier's per-label threshold and counts,
and the detector's IoU >= 0.5 matching."""
from __future__ import annotations

import numpy as np
import pytest

from models import custom_detector
from models.custom_head import LinearHead, evaluate, fit


def test_fit_separates_two_clusters_and_round_trips_as_arrays():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (20, 8)), rng.normal(3, 1, (20, 8))]).astype(np.float32)
    head = fit(features, ["a"] * 20 + ["b"] * 20)
    assert (head.probabilities(features).argmax(1) == np.array([0] * 20 + [1] * 20)).all()
    again = LinearHead.from_arrays(head.to_arrays())
    assert again.labels == ["a", "b"] and np.allclose(again.probabilities(features), head.probabilities(features))


def test_classifier_metrics_per_label_at_the_f1_best_threshold():
    head = LinearHead(labels=["cat", "dog"], mean=np.zeros(1), scale=np.ones(1), weights=np.zeros((2, 1)),
                      bias=np.zeros(2))
    # dog scores: two dogs at 0.9 and 0.6, a cat at 0.7 -> best F1 keeps both dogs and the cat (t <= 0.6)
    # or only the 0.9 dog; 2TP+1FP (F1 0.8) beats 1TP+1FN (F1 0.67).
    probabilities = np.array([[0.1, 0.9], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    result = evaluate(head, probabilities, [{"dog"}, {"dog"}, {"cat"}, {"cat"}])
    dog = next(r for r in result["LabelEvaluationResults"] if r["Label"] == "dog")["Metrics"]
    assert (dog["TruePositives"], dog["FalsePositives"], dog["FalseNegatives"]) == (2, 1, 0)
    assert dog["Precision"] == pytest.approx(2 / 3) and dog["Recall"] == 1 and dog["F1Score"] == pytest.approx(0.8)
    assert dog["Threshold"] == pytest.approx(0.4)  # halfway from 0.6 down to the next score, 0.2
    assert result["AggregatedEvaluationResults"]["TruePositives"] >= 2


def test_detector_matches_at_iou_half_once_per_true_box():
    truth = [[(np.array([0.1, 0.1, 0.3, 0.5]), "bottle"), (np.array([0.6, 0.1, 0.8, 0.5]), "bottle")]]
    predicted = [[
        (np.array([0.11, 0.1, 0.31, 0.5]), "bottle", 0.95),  # TP
        (np.array([0.1, 0.12, 0.3, 0.52]), "bottle", 0.9),  # the same box again: FP
        (np.array([0.4, 0.1, 0.5, 0.5]), "bottle", 0.2),  # nothing there: FP at a low score
    ]]
    (bottle,) = custom_detector.evaluate(["bottle"], predicted, truth)["LabelEvaluationResults"]
    metrics = bottle["Metrics"]
    assert (metrics["TruePositives"], metrics["FalseNegatives"]) == (1, 1)
    assert metrics["Threshold"] == pytest.approx(0.95) and metrics["FalsePositives"] == 0
    assert custom_detector.iou([0, 0, 1, 1], [0.5, 0, 1.5, 1])[0, 0] == pytest.approx(1 / 3)


def test_training_examples_label_proposals_by_overlap():
    truth = np.array([[0.1, 0.1, 0.3, 0.5]])
    candidates = np.array([[0.11, 0.1, 0.31, 0.5], [0.6, 0.6, 0.9, 0.9], [0.2, 0.1, 0.4, 0.5]])
    examples = custom_detector.training_examples(candidates, truth, ["bottle"])
    assert [label for _, label in examples] == ["bottle", "bottle", custom_detector.BACKGROUND]
