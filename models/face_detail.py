"""Rekognition's `FaceDetail` for one face, assembled from what the face models produced.

Pure: no model runs here. The DEFAULT members (BoundingBox, Confidence, Landmarks, Pose,
Quality) are always present; the extra ones appear only when asked for and only when a model
here really produces them:

    AGE_RANGE -> AgeRange   human faceres' age distribution, its central AGE_RANGE_MASS
    GENDER    -> Gender     human faceres' p(male)
    EMOTIONS  -> Emotions   human emotion's 7 classes (CONFUSED and UNKNOWN never appear)

Every other attribute Rekognition defines (`UNAVAILABLE`) has no model behind it and is left
out of the response, as the API allows for any member, rather than guessed.
"""
from __future__ import annotations

from collections.abc import Iterable

from models.outputs import AgeGender, ClassScores, Face

# Rekognition's Attribute enum value -> the FaceDetail member it adds, for those we produce.
PRODUCED = {"AGE_RANGE": "AgeRange", "GENDER": "Gender", "EMOTIONS": "Emotions"}
UNAVAILABLE = {
    "BEARD": "Beard", "MUSTACHE": "Mustache", "EYEGLASSES": "Eyeglasses", "SUNGLASSES": "Sunglasses",
    "EYES_OPEN": "EyesOpen", "MOUTH_OPEN": "MouthOpen", "SMILE": "Smile",
    "FACE_OCCLUDED": "FaceOccluded", "EYE_DIRECTION": "EyeDirection",
}
ATTRIBUTES = frozenset({"DEFAULT", "ALL", *PRODUCED, *UNAVAILABLE})
# Which model each produced attribute needs (catalog names).
MODEL_FOR = {"AGE_RANGE": "human-faceres", "GENDER": "human-faceres", "EMOTIONS": "human-emotion"}
# faceres' age distribution is broad: its central 80 % spans ~20-35 years on the shared photos;
# 0.5 gives ranges of 10-25 years, close to the widths Rekognition reports.
AGE_RANGE_MASS = 0.5
EMOTION_NAMES = {"angry": "ANGRY", "disgust": "DISGUSTED", "fear": "FEAR", "happy": "HAPPY",
                 "sad": "SAD", "surprise": "SURPRISED", "neutral": "CALM"}


def requested(attributes: Iterable[str] | None) -> frozenset[str]:
    """The produced extras asked for by a request's `Attributes` / `DetectionAttributes` list
    (or a video job's `FaceAttributes`: "DEFAULT" or "ALL"). Unknown names raise ValueError;
    names of attributes nobody produces are accepted and yield nothing."""
    names = ["DEFAULT"] if attributes is None else [attributes] if isinstance(attributes, str) else list(attributes)
    unknown = sorted(set(names) - ATTRIBUTES)
    if unknown:
        raise ValueError(f"unknown face attribute(s): {', '.join(unknown)}")
    if "ALL" in names:
        return frozenset(PRODUCED)
    return frozenset(name for name in names if name in PRODUCED)


def models_needed(extras: Iterable[str]) -> tuple[str, ...]:
    """Catalog names of the attribute models `extras` need, each once, in a stable order."""
    return tuple(sorted({MODEL_FOR[name] for name in extras}))


def landmarks(face: Face) -> list[dict]:
    return [{"Type": name, "X": float(x), "Y": float(y)} for name, (x, y) in face.landmarks.items()]


def age_range(age_gender: AgeGender) -> dict[str, int]:
    low, high = age_gender.age_range(AGE_RANGE_MASS)
    return {"Low": int(low), "High": int(high)}


def gender(age_gender: AgeGender) -> dict:
    male = age_gender.male >= 0.5
    return {"Value": "Male" if male else "Female",
            "Confidence": 100.0 * (age_gender.male if male else 1.0 - age_gender.male)}


def emotions(scores: ClassScores) -> list[dict]:
    """All seven emotions, most likely first, confidences in percent (they sum to 100)."""
    return [{"Type": EMOTION_NAMES[name], "Confidence": 100.0 * float(score)}
            for name, score in zip(scores.names, scores.scores, strict=True)]


def face_detail(
    face: Face,
    pose: dict[str, float],
    quality: dict[str, float],
    *,
    extras: Iterable[str] = (),
    age_gender: AgeGender | None = None,
    emotion: ClassScores | None = None,
) -> dict:
    """One `FaceDetail` dict, members in the reference's order.

    `face` comes from the detector, `pose` from models.face_pose.pose, `quality` from
    models.face_quality.quality; `extras` from `requested(...)`, and for each of them the
    model output it needs (a missing one is a programming error, not an absent attribute).
    """
    extras = frozenset(extras)
    detail: dict = {"BoundingBox": face.box.to_wire()}
    if "AGE_RANGE" in extras:
        detail["AgeRange"] = age_range(_needed(age_gender, "AGE_RANGE"))
    if "GENDER" in extras:
        detail["Gender"] = gender(_needed(age_gender, "GENDER"))
    if "EMOTIONS" in extras:
        detail["Emotions"] = emotions(_needed(emotion, "EMOTIONS"))
    detail["Landmarks"] = landmarks(face)
    detail["Pose"] = {key: float(pose[key]) for key in ("Roll", "Yaw", "Pitch")}
    detail["Quality"] = {key: float(quality[key]) for key in ("Brightness", "Sharpness")}
    detail["Confidence"] = 100.0 * float(face.score)
    return detail


def _needed(value, attribute: str):
    if value is None:
        raise ValueError(f"{attribute} was requested but its model ({MODEL_FOR[attribute]}) gave no output")
    return value
