"""Label detection: StartLabelDetection / GetLabelDetection, and DetectLabels on images.

Each sampled frame goes through the label path (models/label_path.py, models/label_fusion.py): the
COCO detector's boxes, the ImageNet classifier's scores on the whole frame, the classifier's
verdict on the crops of boxes worth checking, each source's calibrated confidence, merged into
Rekognition `Label`s with parents, aliases and categories (each ancestor a label of its own).
finalize builds the `AggregateBy=SEGMENTS` rows once from the stored per-frame rows.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from sqlalchemy.orm import Session

from jobs.analyses import Analysis, Frames, Order, Row, register
from jobs.images import image_operation
from jobs.labels import LabelFilters, rebuild_label_segments
from jobs.records import Job, JobAnalysis
from models.calibration import curve
from models.label_fusion import frame_labels

DETECTOR = "yolox-nano-coco"
CLASSIFIERS = ("efficientnet-lite3-imagenet", "mobilenet-v2-imagenet")


def _confidence_rank(label: dict) -> float:
    return 100.0 - label["Confidence"]  # NAME order: within a name, the most confident first


def labels_for(frames: Frames, infer, *, classifier: str, min_confidence: float,
               filters: LabelFilters) -> list[list[dict]]:
    """Each frame's Rekognition labels from the shared inference (a detector run for another
    analysis on the same frame is reused)."""
    from models.label_path import verify_crops

    boxes = infer(DETECTOR, frames)
    scores = infer(classifier, frames)
    curves = {"detector_curve": curve(DETECTOR), "classifier_curve": curve(classifier)}
    out = []
    for image, frame_boxes, frame_scores in zip(frames.images, boxes, scores, strict=True):
        crop_scores = verify_crops(image, frame_boxes, frame_scores, infer.model(classifier),
                                   min_confidence=min_confidence, detector_name=DETECTOR)
        out.append(frame_labels(frame_boxes, frame_scores, min_confidence=min_confidence, admits=filters.admits,
                                crop_scores=crop_scores, **curves))
    return out


@register
class LabelDetection(Analysis):
    name = "labels"
    start_op = "StartLabelDetection"
    get_op = "GetLabelDetection"
    items_key = "Labels"
    model_version_key = "LabelModelVersion"
    request_metadata_key = "GetRequestMetadata"
    models = (DETECTOR, CLASSIFIERS[0])
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "NAME": Order.GROUP}
    aggregations = ("TIMESTAMPS", "SEGMENTS")

    def options(self, request: dict, settings) -> dict:
        options = {"SampleFps": settings.sample_fps, "MinConfidence": float(request.get("MinConfidence", 50.0)),
                   "Classifier": settings.label_classifier}
        if request.get("Settings"):
            options["Settings"] = request["Settings"]
        return options

    def model_names(self, options: dict | None = None) -> tuple[str, ...]:
        return (DETECTOR, (options or {}).get("Classifier", CLASSIFIERS[0]))

    def rows(self, frames: Frames, infer, options: dict, state) -> list[Row]:
        per_frame = labels_for(frames, infer, classifier=options.get("Classifier", CLASSIFIERS[0]),
                               min_confidence=options["MinConfidence"],
                               filters=LabelFilters.from_request(options.get("Settings")))
        return [Row(timestamp, {"Timestamp": timestamp, "Label": label}, group_key=label["Name"],
                    rank=_confidence_rank(label))
                for timestamp, labels in zip(frames.timestamps_millis, per_frame, strict=True) for label in labels]

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        rebuild_label_segments(session, job, record, self.name, "Label")


@image_operation("DetectLabels")
def detect_labels(images: dict, params: dict, infer) -> dict:
    """DetectLabels: the video path's labels on one image (Rekognition's image default
    MinConfidence is 55, the video default 50)."""
    from jobs.settings import get_settings

    image = images["Image"]
    frames = Frames(images=image[None], timestamps_millis=[0], keys=[0])
    general = (params.get("Settings") or {}).get("GeneralLabels")
    features = params.get("Features") or ["GENERAL_LABELS"]
    classifier = get_settings().label_classifier
    out: dict = {}
    if "GENERAL_LABELS" in features:
        (labels,) = labels_for(frames, infer, classifier=classifier,
                               min_confidence=float(params.get("MinConfidence", 55.0)),
                               filters=LabelFilters.from_request({"GeneralLabels": general} if general else None))
        labels.sort(key=lambda label: (-label["Confidence"], label["Name"]))
        if params.get("MaxLabels") is not None:
            labels = labels[:int(params["MaxLabels"])]
        out["Labels"] = labels
    if "IMAGE_PROPERTIES" in features:
        from jobs.image_properties import image_properties

        wanted = ((params.get("Settings") or {}).get("ImageProperties") or {}).get("MaxDominantColors", 10)
        out["ImageProperties"] = image_properties(np.asarray(image), max_colors=int(wanted))
    versions = LabelDetection().model_versions({"Classifier": classifier})
    out["LabelModelVersion"] = ",".join(sorted(versions.values()))
    return out
