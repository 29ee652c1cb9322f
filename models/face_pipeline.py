"""Faces in a batch of images, end to end: detect, align, embed, attributes, FaceDetail.

The one place the face models are chained, so an analysis (DetectFaces, IndexFaces,
StartFaceDetection, face search, celebrities) calls `FacePipeline.run` on decoded frames and
gets, per frame, every face with its identity vector and its Rekognition `FaceDetail`. The
models are passed in (loaded by models.registry), so this module loads nothing itself.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.face_detail import face_detail
from models.face_pose import pose
from models.face_quality import quality
from models.human_face import face_crops
from models.outputs import Embedding, Face
from models.sface import align_face


@dataclass(frozen=True)
class FoundFace:
    """One face in one frame: the detector's output, its identity vector, its FaceDetail."""

    face: Face
    embedding: Embedding | None
    detail: dict


@dataclass
class FacePipeline:
    """detector: "yunet-face"; embedder: "sface" (None: no vectors); faceres / emotion: the
    attribute models, needed only when `extras` ask for AGE_RANGE / GENDER or EMOTIONS."""

    detector: object
    embedder: object | None = None
    faceres: object | None = None
    emotion: object | None = None

    def run(self, frames: np.ndarray | Sequence[np.ndarray], extras: Iterable[str] = ()) -> list[list[FoundFace]]:
        return [self.describe(image, faces, extras)
                for image, faces in zip(frames, self.detector.predict(frames), strict=True)]

    def describe(self, image: np.ndarray, faces: Sequence[Face], extras: Iterable[str] = ()) -> list[FoundFace]:
        """Vectors and FaceDetails for faces already detected in `image` (the video engine detects
        once per frame and shares the detector's output between analyses)."""
        extras = frozenset(extras)
        want_age_gender = bool(extras & {"AGE_RANGE", "GENDER"})
        want_emotion = "EMOTIONS" in extras
        if not faces:
            return []
        height, width = image.shape[:2]
        aligned = np.stack([align_face(image, face) for face in faces])
        vectors = self.embedder.predict(aligned) if self.embedder else [None] * len(faces)
        crops = face_crops(image, faces) if want_age_gender or want_emotion else None
        ages = self.faceres.predict(crops) if crops is not None and want_age_gender else [None] * len(faces)
        moods = self.emotion.predict(crops) if crops is not None and want_emotion else [None] * len(faces)
        found = []
        for i, face in enumerate(faces):
            detail = face_detail(face, pose(face, width, height), quality(aligned[i]), extras=extras,
                                 age_gender=ages[i], emotion=moods[i])
            found.append(FoundFace(face=face, embedding=vectors[i], detail=detail))
        return found
