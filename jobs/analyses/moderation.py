"""Content moderation: StartContentModeration / GetContentModeration, and DetectModerationLabels on images.

Each sampled frame goes through Open NSFW (models/nsfw.py); models/moderation.py turns its score
into Rekognition's taxonomy: the level-1 `Explicit` label with a prior-shift calibrated
confidence, and nothing the model cannot see (`models.moderation.NOT_COVERED`, listed in the
README). `ContentTypes` (animated, illustrated) has no model here and is always empty.
finalize builds the `AggregateBy=SEGMENTS` rows from the stored per-frame rows, as labels does.
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Session

from jobs.analyses import Analysis, Frames, Order, Row, register
from jobs.images import image_operation
from jobs.labels import rebuild_label_segments
from jobs.records import Job, JobAnalysis
from models.moderation import frame_moderation_labels

MODEL = "open-nsfw"
DEFAULT_MIN_CONFIDENCE = 50.0  # Rekognition's default, for video and images alike


def moderation_for(frames: Frames, infer, min_confidence: float) -> list[list[dict]]:
    """Each frame's `ModerationLabel`s (a score another analysis already asked for is reused)."""
    return frame_moderation_labels(infer(MODEL, frames), min_confidence)


def _rank(label: dict) -> float:
    return 100.0 - label["Confidence"]  # NAME order: within a name, the most confident first


@register
class ContentModeration(Analysis):
    name = "moderation"
    start_op = "StartContentModeration"
    get_op = "GetContentModeration"
    items_key = "ModerationLabels"
    model_version_key = "ModerationModelVersion"
    request_metadata_key = "GetRequestMetadata"
    models = (MODEL,)
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "NAME": Order.GROUP}
    aggregations = ("TIMESTAMPS", "SEGMENTS")

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": settings.sample_fps,
                "MinConfidence": float(request.get("MinConfidence", DEFAULT_MIN_CONFIDENCE))}

    def rows(self, frames: Frames, infer, options: dict, state) -> list[Row]:
        per_frame = moderation_for(frames, infer, options["MinConfidence"])
        return [Row(timestamp, {"Timestamp": timestamp, "ModerationLabel": label, "ContentTypes": []},
                    group_key=label["Name"], rank=_rank(label))
                for timestamp, labels in zip(frames.timestamps_millis, per_frame, strict=True) for label in labels]

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        rebuild_label_segments(session, job, record, self.name, "ModerationLabel", extra={"ContentTypes": []})


@image_operation("DetectModerationLabels")
def detect_moderation_labels(images: dict, params: dict, infer) -> dict:
    """DetectModerationLabels: the video path's moderation labels on one image."""
    frames = Frames(images=images["Image"][None], timestamps_millis=[0], keys=[0])
    (labels,) = moderation_for(frames, infer, float(params.get("MinConfidence", DEFAULT_MIN_CONFIDENCE)))
    versions = ContentModeration().model_versions()
    return {"ModerationLabels": labels, "ModerationModelVersion": ",".join(sorted(versions.values()))}
