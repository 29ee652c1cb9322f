"""One frame's evidence -> its Rekognition labels: detector boxes and classifier scores merged.

Pure functions, no torch. What happens to a frame:

0. Box verification (the known hard case). A detector box of a class ImageNet also covers
   (Car, Dog, Mobile Phone, ... not Person) is shown to the classifier as a crop when it could be
   returned and the whole frame does not already support its class; if the classifier gives
   another detector class at least 0.3 and the box's own class at most 0.1, the box is dropped
   (YOLOX's top-down "cell phone" is a minivan to the classifier; its close-up "teddy bear" is a
   cockatoo). Classes are never renamed: a contradicted box is evidence for nothing.
1. Evidence per label name. A detector box counts for its class's label (COCO "dog" -> Dog);
   the label's raw evidence is its best box score. A classifier counts for the label each class
   maps to and for that label's direct parent: a label's raw evidence is the summed probability
   of those classes, so 30 % "golden retriever" + 40 % "Labrador retriever" is 70 % Dog, and the
   breeds keep their own 30 % and 40 % (models/taxonomy.py knows the names and parents).
2. Calibration. Each source's raw evidence becomes a 0..100 confidence through that model's
   curve (models/calibration.py), so a detector's 0.6 and a classifier's 0.6 mean what they
   measurably mean on held-apart images.
3. Merging. Evidence from both sources for the same name is one label; its Confidence is the
   stronger of the two (not a product or a noisy-OR: the sources are not independent, and max
   keeps "70" meaning what the calibration measured). Instances (boxes) only come from the
   detector, each with its own calibrated confidence; a classifier-only label (a scene, a breed)
   has none, as Rekognition's scene labels have none.
4. Ancestors. Every parent of a returned label is a label too (Car -> Vehicle, Transportation),
   with the best confidence among its own evidence and its returned descendants'.

`MinConfidence` then filters labels and instances alike, and the caller's filters
(StartLabelDetection's GeneralLabels) decide which names may appear at all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from models.calibration import Curve, curve
from models.outputs import BoundingBox, ClassScores, ObjectBox
from models.taxonomy import (
    LabelInfo,
    all_labels,
    imagenet_class_names,
    imagenet_label_for,
    label_for,
    label_info,
)

DETECTOR = "yolox-nano-coco"
CLASSIFIER = "efficientnet-lite3-imagenet"

# Box verification (`contradicted`): a box is dropped when the classifier, shown the box's crop,
# gives at least this much to another object class the detector knows ...
CONTRADICTION_MIN_OTHER = 0.3
# ... and at most this much to the box's own class.
CONTRADICTION_MAX_OWN = 0.1
CROP_MARGIN = 0.1  # each side, as a share of the box: a little context helps a classifier


@dataclass
class Evidence:
    """What the models say about one label name on one frame (confidences in percent)."""

    info: LabelInfo
    confidence: float = 0.0
    instances: list[tuple[float, ObjectBox]] = field(default_factory=list)  # (confidence, box)
    sources: set[str] = field(default_factory=set)

    def support(self, confidence: float, source: str) -> None:
        self.confidence = max(self.confidence, confidence)
        self.sources.add(source)


def detector_evidence(detections: Iterable[ObjectBox]) -> dict[str, tuple[LabelInfo, list[ObjectBox]]]:
    """Label name -> (its label, its boxes best first) for one frame's COCO detections."""
    out: dict[str, tuple[LabelInfo, list[ObjectBox]]] = {}
    for detection in detections:
        info = label_for(detection.name)
        out.setdefault(info.name, (info, []))[1].append(detection)
    for _, boxes in out.values():
        boxes.sort(key=lambda d: -d.score)
    return out


def classifier_evidence(scores: ClassScores) -> dict[str, tuple[LabelInfo, float]]:
    """Label name -> (its label, summed probability of the classes mapped to it or directly below
    it): breeds add up to Dog, kinds of car to Car. Not to remoter ancestors: a sum over the
    hundreds of classes below Animal is mostly the long tail of unlikely classes, and would make
    "Animal" on a frame with no animal."""
    out: dict[str, tuple[LabelInfo, float]] = {}
    for key, probability in zip(scores.names, scores.scores.tolist(), strict=True):
        info = imagenet_label_for(key)
        for name in (info.name, *info.parents[:1]):
            described = info if name == info.name else label_info(name)
            previous = out.get(name, (described, 0.0))[1]
            out[name] = (described, previous + probability)
    return out


@cache
def _detector_labels() -> frozenset[str]:
    return frozenset(info.name for info in all_labels().values())


@cache
def _imagenet_covers() -> frozenset[str]:
    """Detector labels that ImageNet has classes at or below (Car: sports car, cab, ...). Not
    Person: ImageNet has no class for a person, only roles (groom, scuba diver), so a crop of a
    person is scored as clothes or props and says nothing about whether it is one."""
    covered = set()
    for key in imagenet_class_names():
        info = imagenet_label_for(key)
        covered.update(name for name in (info.name, *info.parents) if name in _detector_labels())
    return frozenset(covered - {"Person"})


def verifiable(detection: ObjectBox) -> bool:
    """Can a classifier shown this box's crop confirm or contradict its class?"""
    return label_for(detection.name).name in _imagenet_covers()


def crop(frame: np.ndarray, box: BoundingBox, margin: float = CROP_MARGIN) -> np.ndarray:
    """The frame's pixels inside `box` widened by `margin` of its size on each side (uint8 RGB)."""
    height, width = frame.shape[:2]
    left = max(int((box.left - margin * box.width) * width), 0)
    top = max(int((box.top - margin * box.height) * height), 0)
    right = min(int(np.ceil((box.right + margin * box.width) * width)), width)
    bottom = min(int(np.ceil((box.bottom + margin * box.height) * height)), height)
    return np.ascontiguousarray(frame[top:max(bottom, top + 1), left:max(right, left + 1)])


def detector_label_evidence(scores: ClassScores) -> dict[str, float]:
    """Detector label name -> the summed probability of every ImageNet class at or below it
    (Car: sports car + cab + minivan + ...), for a classifier's view of one crop."""
    out: dict[str, float] = {}
    for key, probability in zip(scores.names, scores.scores.tolist(), strict=True):
        info = imagenet_label_for(key)
        for name in {info.name, *info.parents} & _detector_labels():
            out[name] = out.get(name, 0.0) + probability
    return out


def contradicted(detection: ObjectBox, crop_scores: ClassScores) -> bool:
    """Does the classifier, on the box's crop, name another object the detector knows with some
    conviction while giving the box's own class next to nothing? (A top-down car the detector
    calls "cell phone" is a minivan to the classifier.) Unverifiable classes are never
    contradicted."""
    if not verifiable(detection):
        return False
    own = label_for(detection.name).name
    evidence = detector_label_evidence(crop_scores)
    other = max((p for name, p in evidence.items() if name != own and name not in label_info(own).parents),
                default=0.0)
    return other >= CONTRADICTION_MIN_OTHER and evidence.get(own, 0.0) <= CONTRADICTION_MAX_OWN


def boxes_to_verify(detections: Sequence[ObjectBox], scores: ClassScores | None = None, *,
                    min_confidence: float, detector_curve: Curve | None = None) -> list[int]:
    """Indices of the boxes worth a crop classification: verifiable ones that could be returned
    (calibrated confidence at least `min_confidence`) and whose class the classifier's view of
    the whole frame (`scores`) does not already support, since each crop costs a classifier
    pass."""
    detector_curve = detector_curve or curve(DETECTOR)
    frame_support = detector_label_evidence(scores) if scores is not None else {}
    return [i for i, d in enumerate(detections)
            if verifiable(d) and detector_curve(d.score) >= min_confidence
            and frame_support.get(label_for(d.name).name, 0.0) <= CONTRADICTION_MAX_OWN]


def raw_evidence(output: Iterable[ObjectBox] | ClassScores) -> dict[str, float]:
    """Label name -> raw 0..1 evidence in one model output (boxes or class scores): what a
    calibration curve maps to a confidence."""
    if isinstance(output, ClassScores):
        return {name: probability for name, (_, probability) in classifier_evidence(output).items()}
    return {name: boxes[0].score for name, (_, boxes) in detector_evidence(output).items()}


def fuse(detections: Sequence[ObjectBox] = (), scores: ClassScores | None = None, *,
         crop_scores: Mapping[int, ClassScores] | None = None,
         detector_curve: Curve | None = None, classifier_curve: Curve | None = None) -> dict[str, Evidence]:
    """Label name -> its merged, calibrated evidence (leaves and ancestors), before any threshold.

    `crop_scores` maps a box's index in `detections` to the classifier's scores on its crop
    (see boxes_to_verify and crop); boxes it contradicts are left out."""
    detector_curve = detector_curve or curve(DETECTOR)
    crop_scores = crop_scores or {}
    detections = [d for i, d in enumerate(detections) if i not in crop_scores or not contradicted(d, crop_scores[i])]
    labels: dict[str, Evidence] = {}

    def evidence(info: LabelInfo) -> Evidence:
        return labels.setdefault(info.name, Evidence(info))

    for info, boxes in detector_evidence(detections).values():
        entry = evidence(info)
        for box in boxes:
            entry.instances.append((detector_curve(box.score), box))
        entry.support(entry.instances[0][0], "detector")
    if scores is not None:
        classifier_curve = classifier_curve or curve(CLASSIFIER)
        for info, probability in classifier_evidence(scores).values():
            evidence(info).support(classifier_curve(probability), "classifier")
    # Ancestors are at least as sure as their surest descendant.
    for entry in list(labels.values()):
        for parent in entry.info.parents:
            evidence(label_info(parent)).support(entry.confidence, "descendant")
    return labels


def _wire(entry: Evidence, min_confidence: float) -> dict:
    info = entry.info
    return {
        "Name": info.name,
        "Confidence": entry.confidence,
        "Instances": [{"BoundingBox": box.box.to_wire(), "Confidence": confidence}
                      for confidence, box in entry.instances if confidence >= min_confidence],
        "Parents": [{"Name": p} for p in info.parents],
        "Aliases": [{"Name": a} for a in info.aliases],
        "Categories": [{"Name": c} for c in info.categories],
    }


def frame_labels(detections: Sequence[ObjectBox] = (), scores: ClassScores | None = None, *,
                 min_confidence: float, admits: Callable[[LabelInfo], bool] | None = None,
                 crop_scores: Mapping[int, ClassScores] | None = None,
                 detector_curve: Curve | None = None, classifier_curve: Curve | None = None) -> list[dict]:
    """One sampled frame's Rekognition `Label`s, sorted by name: every label (and ancestor) whose
    calibrated confidence is at least `min_confidence`, and that `admits` lets through (e.g.
    jobs.labels.LabelFilters.admits); instances below `min_confidence` are dropped too."""
    fused = fuse(detections, scores, crop_scores=crop_scores, detector_curve=detector_curve,
                 classifier_curve=classifier_curve)
    return [_wire(entry, min_confidence) for name, entry in sorted(fused.items())
            if entry.confidence >= min_confidence and (admits is None or admits(entry.info))]
