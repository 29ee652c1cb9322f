"""DetectCustomLabels' worker half: a trained version's head (jobs/custom_training.py) on the
backbone features of the image. The web half (jobs/custom_projects.py) checks the version is
RUNNING and passes where its model file is."""
from __future__ import annotations

import functools
import io
import json

import numpy as np

from jobs import errors, storage
from jobs.custom_projects import DETECT_FUNCTION
from jobs.custom_training import detect_objects, image_features
from jobs.images import worker_function

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


@worker_function(DETECT_FUNCTION)
def detect_custom_labels(images: dict, params: dict, infer) -> dict:
    """Labels (with Geometry for a detector) above MinConfidence, or, without it, above each
    label's assumed threshold (as Rekognition does), most confident first, at most MaxResults."""
    head, label_map = load_head(params["Model"]["Bucket"], params["Model"]["Name"], params["Model"]["Arn"])
    thresholds = label_map["Thresholds"]

    def floor(label: str) -> float:
        return params["MinConfidence"] / 100 if "MinConfidence" in params else thresholds.get(label, 0.5)

    found = []
    if label_map.get("Kind") == "detection":
        for box, label, probability in detect_objects(infer, head, images["Image"]):
            if probability >= floor(label):
                x1, y1, x2, y2 = (float(v) for v in box)
                found.append({"Name": label, "Confidence": round(100 * probability, 3), "Geometry": {
                    "BoundingBox": {"Width": x2 - x1, "Height": y2 - y1, "Left": x1, "Top": y1}}})
    else:
        (probabilities,) = head.probabilities(image_features(infer, [images["Image"]]))
        for label, probability in zip(head.labels, probabilities.tolist(), strict=True):
            if probability >= floor(label):
                found.append({"Name": label, "Confidence": round(100 * probability, 3)})
    found.sort(key=lambda label: -label["Confidence"])
    if params.get("MaxResults"):
        found = found[: params["MaxResults"]]
    return {"CustomLabels": found}
