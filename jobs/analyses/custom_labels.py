"""A trained Custom Labels version on images and videos: DetectCustomLabels' worker half (the web
half, jobs/custom_projects.py, checks the version is RUNNING and passes where its model file is),
and the `custom_labels` analysis, which runs a RUNNING version along a video in a REST job."""
from __future__ import annotations

import functools
import io
import json
from typing import ClassVar

import numpy as np
from sqlalchemy.orm import Session

from jobs import errors, storage
from jobs.analyses import Analysis, Order, Row, register
from jobs.custom_projects import DETECT_FUNCTION
from jobs.custom_training import BACKBONE, detect_objects, image_features
from jobs.images import worker_function
from models.custom_detector import PROPOSER

MAX_MODEL_BYTES = 64 * 1024 * 1024


@functools.lru_cache(maxsize=16)
def load_head(bucket: str, name: str, arn: str):
    """A version's head and label map, cached by version: a version's files never change, and a
    version made again under the same name (same files' names) has another ARN."""
    from models.custom_head import LinearHead

    data = storage.read_object(storage.VideoRef(bucket, name), max_bytes=MAX_MODEL_BYTES)
    head = LinearHead.from_arrays(np.load(io.BytesIO(data)))
    label_map = json.loads(storage.read_object(storage.VideoRef(bucket, name.rsplit("/", 1)[0] + "/labels.json"),
                                               max_bytes=MAX_MODEL_BYTES))
    if label_map.get("ProjectVersionArn", arn) != arn:
        raise errors.ResourceNotReady(f"The model files at s3://{bucket}/{name} now belong to "
                                      f"{label_map['ProjectVersionArn']}; train this version again.")
    return head, label_map


def custom_labels(head, label_map: dict, frame: np.ndarray, infer, min_confidence: float | None) -> list[dict]:
    """A version's labels on one frame (with Geometry for a detector), above `min_confidence`
    (percent) or, when None, above each label's assumed threshold, most confident first."""
    thresholds = label_map["Thresholds"]

    def floor(label: str) -> float:
        return min_confidence / 100 if min_confidence is not None else thresholds.get(label, 0.5)

    found = []
    if label_map.get("Kind") == "detection":
        for box, label, probability in detect_objects(infer, head, frame):
            if probability >= floor(label):
                x1, y1, x2, y2 = (float(v) for v in box)
                found.append({"Name": label, "Confidence": round(100 * probability, 3), "Geometry": {
                    "BoundingBox": {"Width": x2 - x1, "Height": y2 - y1, "Left": x1, "Top": y1}}})
    else:
        (probabilities,) = head.probabilities(image_features(infer, [frame]))
        for label, probability in zip(head.labels, probabilities.tolist(), strict=True):
            if probability >= floor(label):
                found.append({"Name": label, "Confidence": round(100 * probability, 3)})
    return sorted(found, key=lambda label: -label["Confidence"])


@worker_function(DETECT_FUNCTION)
def detect_custom_labels(images: dict, params: dict, infer) -> dict:
    """Rekognition's MinConfidence default: each label's assumed threshold."""
    head, label_map = load_head(params["Model"]["Bucket"], params["Model"]["Name"], params["Model"]["Arn"])
    found = custom_labels(head, label_map, images["Image"], infer, params.get("MinConfidence"))
    if params.get("MaxResults"):
        found = found[: params["MaxResults"]]
    return {"CustomLabels": found}


@register
class CustomLabelDetection(Analysis):
    """A trained Custom Labels version along a video's timeline (REST jobs; Rekognition has no
    video operation for it, so its Start/Get names exist only in this registry)."""

    name = "custom_labels"
    start_op = "StartCustomLabelDetection"
    get_op = "GetCustomLabelDetection"
    items_key = "CustomLabels"
    models = (BACKBONE, PROPOSER)
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "NAME": Order.GROUP}

    def options(self, request: dict, settings) -> dict:
        if not isinstance(request.get("ProjectVersionArn"), str):
            raise errors.InvalidParameter("custom_labels needs a ProjectVersionArn.")
        options = {"ProjectVersionArn": request["ProjectVersionArn"],
                   "SampleFps": float(request.get("SampleFps") or settings.sample_fps)}
        if request.get("MinConfidence") is not None:
            options["MinConfidence"] = float(request["MinConfidence"])
        return options

    def check_start(self, session: Session, account: str, options: dict) -> None:
        from jobs.custom_projects import find_version

        version = find_version(session, account, options["ProjectVersionArn"])
        if version.status != "RUNNING":
            raise errors.ResourceNotReady(f"ProjectVersion {version.version_arn} is {version.status}, not RUNNING.")

    def start_chunk(self, options: dict, start_millis: int, end_millis: int):
        from sqlalchemy import select

        from jobs.database import session_scope
        from jobs.records import CustomProjectVersion

        arn = options["ProjectVersionArn"]
        with session_scope() as session:
            version = session.scalar(select(CustomProjectVersion).where(CustomProjectVersion.version_arn == arn))
            if version is None or not version.evaluation:
                raise errors.ResourceNotFound(f"The project version {arn} is gone.")
            where = (version.output_bucket, version.evaluation["Model"], arn)
        return load_head(*where)

    def rows(self, frames, infer, options: dict, state) -> list[Row]:
        head, label_map = state
        out = []
        for timestamp, frame in zip(frames.timestamps_millis, frames.images, strict=True):
            for label in custom_labels(head, label_map, frame, infer, options.get("MinConfidence")):
                out.append(Row(timestamp, {"Timestamp": timestamp, "CustomLabel": label}, group_key=label["Name"],
                               rank=100 - label["Confidence"]))
        return out
