"""Label detection: StartLabelDetection / GetLabelDetection, and DetectLabels on images.

Each sampled frame's detector boxes become Rekognition `Label`s (jobs/labels.py shapes them: names,
parents, aliases, categories, each ancestor a label of its own); finalize builds the
`AggregateBy=SEGMENTS` rows once from the stored per-frame rows.
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobs.analyses import Analysis, Frames, Order, Row, register
from jobs.images import image_operation
from jobs.labels import LabelFilters, frame_labels, label_segments
from jobs.records import Job, JobAnalysis, Result

DETECTOR = "centernet-coco"


def _confidence_rank(label: dict) -> float:
    return 100.0 - label["Confidence"]  # NAME order: within a name, the most confident first


@register
class LabelDetection(Analysis):
    name = "labels"
    start_op = "StartLabelDetection"
    get_op = "GetLabelDetection"
    items_key = "Labels"
    model_version_key = "LabelModelVersion"
    request_metadata_key = "GetRequestMetadata"
    models = (DETECTOR,)
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "NAME": Order.GROUP}
    aggregations = ("TIMESTAMPS", "SEGMENTS")

    def options(self, request: dict, settings) -> dict:
        options = {"SampleFps": settings.sample_fps, "MinConfidence": float(request.get("MinConfidence", 50.0))}
        if request.get("Settings"):
            options["Settings"] = request["Settings"]
        return options

    def rows(self, frames: Frames, infer, options: dict, state) -> list[Row]:
        filters = LabelFilters.from_request(options.get("Settings"))
        rows = []
        for timestamp, boxes in zip(frames.timestamps_millis, infer(DETECTOR, frames), strict=True):
            for label in frame_labels(boxes, min_confidence=options["MinConfidence"], filters=filters):
                rows.append(Row(timestamp, {"Timestamp": timestamp, "Label": label}, group_key=label["Name"],
                                rank=_confidence_rank(label)))
        return rows

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        # A label stays in one segment while its sightings are at most 1.5 sampling intervals apart.
        gap = int(1000 / (record.sample_fps or 2.0) * 1.5)
        session.execute(delete(Result).where(Result.job_id == job.id, Result.analysis == self.name,
                                             Result.aggregate == "SEGMENTS"))
        sightings = session.execute(
            select(Result.timestamp_millis, Result.item["Label"])
            .where(Result.job_id == job.id, Result.analysis == self.name, Result.aggregate == "TIMESTAMPS")
            .order_by(Result.timestamp_millis, Result.id).execution_options(yield_per=2000))
        for segment in label_segments(((ts, label) for ts, label in sightings), max_gap_millis=gap):
            item = {"Timestamp": segment.start_millis, "Label": segment.label,
                    "StartTimestampMillis": segment.start_millis, "EndTimestampMillis": segment.end_millis,
                    "DurationMillis": segment.end_millis - segment.start_millis}
            session.add(Result(job_id=job.id, analysis=self.name, chunk_index=None, aggregate="SEGMENTS",
                               timestamp_millis=segment.start_millis, group_key=segment.name,
                               rank=_confidence_rank(segment.label), item=item))


@image_operation("DetectLabels")
def detect_labels(images: dict, params: dict, infer) -> dict:
    """DetectLabels: the same detector and label shaping as the video path, on one image."""
    import numpy as np

    image = images["Image"]
    frames = Frames(images=image[None], timestamps_millis=[0], keys=[0])
    settings = (params.get("Settings") or {}).get("GeneralLabels")
    features = params.get("Features") or ["GENERAL_LABELS"]
    out: dict = {}
    if "GENERAL_LABELS" in features:
        labels = frame_labels(infer(DETECTOR, frames)[0], min_confidence=float(params.get("MinConfidence", 55.0)),
                              filters=LabelFilters.from_request({"GeneralLabels": settings} if settings else None))
        labels.sort(key=lambda label: (-label["Confidence"], label["Name"]))
        if params.get("MaxLabels") is not None:
            labels = labels[:int(params["MaxLabels"])]
        out["Labels"] = labels
    if "IMAGE_PROPERTIES" in features:
        from jobs.image_properties import image_properties

        out["ImageProperties"] = image_properties(
            np.asarray(image), max_colors=int(((params.get("Settings") or {}).get("ImageProperties") or {})
                                              .get("MaxDominantColors", 10)))
    out["LabelModelVersion"] = LabelDetection().model_versions()[DETECTOR]
    return out
