"""Faces in decoded frames through the shared Inference: what every face operation runs on a worker.

The detector's output is asked of the engine's `Inference`, so two analyses of one job (face
detection and face search) detect each frame once; vectors and attributes come from the face
pipeline (models/face_pipeline.py) with the models the request needs.
"""
from __future__ import annotations

from collections.abc import Iterable

from jobs.analyses import Frames
from models.face_detail import MODEL_FOR

DETECTOR = "yunet-face"
EMBEDDER = "sface"


def face_model_version() -> str:
    """What a collection records as its FaceModelVersion: vectors depend on the detector's
    landmarks (alignment) as much as on the identity network, so both are named."""
    from models.catalog import spec

    return f"{spec(DETECTOR).version},{spec(EMBEDDER).version}"


def model_names(extras: Iterable[str] = (), embed: bool = False) -> tuple[str, ...]:
    names = {DETECTOR, *(MODEL_FOR[e] for e in extras)}
    if embed:
        names.add(EMBEDDER)
    return tuple(sorted(names))


def found_faces(frames: Frames, infer, extras: Iterable[str] = (), embed: bool = False) -> list[list]:
    """Per frame, its faces (models.face_pipeline.FoundFace, largest first) with FaceDetails and,
    if `embed`, unit SFace vectors."""
    from models.face_pipeline import FacePipeline  # imports torch: only ever on a worker

    extras = frozenset(extras)
    detections = infer(DETECTOR, frames)
    pipeline = FacePipeline(
        detector=infer.model(DETECTOR),
        embedder=infer.model(EMBEDDER) if embed else None,
        faceres=infer.model("human-faceres") if extras & {"AGE_RANGE", "GENDER"} else None,
        emotion=infer.model("human-emotion") if "EMOTIONS" in extras else None,
    )
    return [pipeline.describe(image, faces, extras)
            for image, faces in zip(frames.images, detections, strict=True)]


def image_faces(image, infer, extras: Iterable[str] = (), embed: bool = False, *, key: int = 0) -> list:
    """The faces of one decoded image (the synchronous image path). Inference remembers outputs
    by frame key until its next batch, so two images of one call need two keys."""
    (faces,) = found_faces(Frames(images=image[None], timestamps_millis=[0], keys=[key]), infer, extras, embed)
    return faces
