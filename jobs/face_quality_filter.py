"""IndexFaces' and SearchFacesByImage's `QualityFilter`: which faces are too poor to index or search.

Rekognition does not publish its bars; these are ours, on our own scales (Confidence is YuNet's
score in percent, never below 60; Sharpness and Brightness as models/face_quality.py measures
them; Yaw from models/face_pose.py, which runs about twice AWS's on turned faces). AUTO is LOW.
"""
from __future__ import annotations

# reason -> (LOW, MEDIUM, HIGH) bar
BARS = {
    "LOW_CONFIDENCE": (60.0, 75.0, 85.0),  # Confidence below
    "SMALL_BOUNDING_BOX": (20, 40, 64),  # face height in pixels below
    "EXTREME_POSE": (90.0, 70.0, 50.0),  # |Yaw| or |Pitch| above (degrees)
    "LOW_SHARPNESS": (2.0, 8.0, 20.0),  # Sharpness below
    "LOW_BRIGHTNESS": (5.0, 15.0, 25.0),  # Brightness below
}
LEVELS = {"LOW": 0, "AUTO": 0, "MEDIUM": 1, "HIGH": 2}


def reasons(detail: dict, image_height: int, level: str) -> list[str]:
    """Why this face fails the `level` bar (empty: it passes). `NONE` passes every face."""
    if level == "NONE":
        return []
    i = LEVELS[level]
    pose, quality = detail["Pose"], detail["Quality"]
    out = []
    if detail["Confidence"] < BARS["LOW_CONFIDENCE"][i]:
        out.append("LOW_CONFIDENCE")
    if detail["BoundingBox"]["Height"] * image_height < BARS["SMALL_BOUNDING_BOX"][i]:
        out.append("SMALL_BOUNDING_BOX")
    if max(abs(pose["Yaw"]), abs(pose["Pitch"])) > BARS["EXTREME_POSE"][i]:
        out.append("EXTREME_POSE")
    if quality["Sharpness"] < BARS["LOW_SHARPNESS"][i]:
        out.append("LOW_SHARPNESS")
    if quality["Brightness"] < BARS["LOW_BRIGHTNESS"][i]:
        out.append("LOW_BRIGHTNESS")
    return out
