"""The label path for a batch of frames: detector, classifier, crop verification, fusion.

The one call an analysis (or DetectLabels) needs: `label_frames(frames, detector, classifier,
min_confidence=...)` runs the COCO detector and the ImageNet classifier on every frame, shows
the classifier the crops of the boxes it should verify (models/label_fusion.boxes_to_verify:
verifiable classes, confident enough to be returned, not already supported by the whole frame),
and merges everything into each frame's Rekognition labels with models/label_fusion.frame_labels.
Models are passed in (loaded by models.registry), so this module loads nothing itself.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.base import Model, check_frames
from models.calibration import curve
from models.label_fusion import boxes_to_verify, crop, frame_labels
from models.outputs import ClassScores, ObjectBox
from models.taxonomy import LabelInfo


def verify_crops(frame: np.ndarray, boxes: list[ObjectBox], scores: ClassScores, classifier: Model, *,
                 min_confidence: float, detector_name: str) -> dict[int, ClassScores]:
    """The classifier's scores on the crops of one frame's boxes worth verifying (box index ->
    scores); crops differ in size, so they go through the classifier one by one."""
    chosen = boxes_to_verify(boxes, scores, min_confidence=min_confidence, detector_curve=curve(detector_name))
    return {i: classifier.predict(crop(frame, boxes[i].box)[None])[0] for i in chosen}


def frame_evidence(frames: np.ndarray, detector: Model, classifier: Model, *, min_confidence: float
                   ) -> list[tuple[list[ObjectBox], ClassScores, dict[int, ClassScores]]]:
    """Per frame: the detector's boxes, the classifier's scores, and its scores on the crops of
    the boxes worth verifying (box index -> scores)."""
    frames = check_frames(frames)
    detections = detector.predict(frames)
    scores = classifier.predict(frames)
    return [(boxes, frame_scores, verify_crops(frame, boxes, frame_scores, classifier,
                                               min_confidence=min_confidence, detector_name=detector.name))
            for frame, boxes, frame_scores in zip(frames, detections, scores, strict=True)]


def label_frames(frames: np.ndarray, detector: Model, classifier: Model, *, min_confidence: float,
                 admits: Callable[[LabelInfo], bool] | None = None) -> list[list[dict]]:
    """Each frame's Rekognition `Label`s (name, calibrated confidence, instances, parents,
    aliases, categories), sorted by name, at `min_confidence` (percent). Each model's own
    calibration curve (models/data/calibration.json, by model name) makes its confidences."""
    curves = {"detector_curve": curve(detector.name), "classifier_curve": curve(classifier.name)}
    return [frame_labels(boxes, scores, min_confidence=min_confidence, admits=admits, crop_scores=crop_scores,
                         **curves)
            for boxes, scores, crop_scores in frame_evidence(frames, detector, classifier,
                                                             min_confidence=min_confidence)]
