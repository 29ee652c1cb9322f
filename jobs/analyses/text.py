"""Text detection: StartTextDetection / GetTextDetection, and DetectText on images.

Each sampled frame is read by PP-OCRv6 (models/ocr.py); models/text_results.py turns its lines
and words into Rekognition `TextDetection`s (LINEs, then WORDs with their line's `ParentId`)
with the request's `Filters` (WordFilter, RegionsOfInterest) applied. Items are in time order;
within a frame the row id keeps the Id order.
"""
from __future__ import annotations

from jobs.analyses import Analysis, Frames, Row, register
from jobs.images import image_operation
from models.text_results import TextFilters, text_detections

MODEL = "ppocr-v6"


def text_for(frames: Frames, infer, filters: dict | None) -> list[list[dict]]:
    """Each frame's `TextDetection` dicts after the request's filters."""
    chosen = TextFilters.from_request(filters)
    return [text_detections(lines, chosen) for lines in infer(MODEL, frames)]


@register
class TextDetection(Analysis):
    name = "text"
    start_op = "StartTextDetection"
    get_op = "GetTextDetection"
    items_key = "TextDetections"
    model_version_key = "TextModelVersion"
    models = (MODEL,)

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": settings.sample_fps, "Filters": request.get("Filters") or {}}

    def rows(self, frames: Frames, infer, options: dict, state) -> list[Row]:
        per_frame = text_for(frames, infer, options.get("Filters"))
        return [Row(timestamp, {"Timestamp": timestamp, "TextDetection": detection})
                for timestamp, detections in zip(frames.timestamps_millis, per_frame, strict=True)
                for detection in detections]


@image_operation("DetectText")
def detect_text(images: dict, params: dict, infer) -> dict:
    """DetectText: the video path's text on one image."""
    frames = Frames(images=images["Image"][None], timestamps_millis=[0], keys=[0])
    (detections,) = text_for(frames, infer, params.get("Filters"))
    versions = TextDetection().model_versions()
    return {"TextDetections": detections, "TextModelVersion": ",".join(sorted(versions.values()))}
