"""The face crop human's face-attribute models take, and the base class that runs one of them.

In @vladmandic/human 3.3.6 every face model after detection (emotion, faceres, ...) reads one
tensor per face, made in src/face/facemeshutil.ts: the detector's box enlarged 1.4 times
about its centre (`enlargeBox`, config `face.detector.scale`), made square on its longer side
(`squarifyBox`), cut out and resized to 192x192 (facemesh's input size) with
`tf.image.cropAndResize`, values divided by 255, not rotated (`face.detector.rotation` is
false by default). Each model then resizes that tensor to its own input size.

Here the box is YuNet's. BlazeFace's box is square and about as wide as the face, while YuNet's
runs from hairline to chin (about 1.4 times taller than wide), so the square is 1.4 times
YuNet's *width*: on the shared photos that is within a few pixels of YuNet's height, and
taking 1.4 times the height instead shrank faceres' ages by ~10 years and its gender
confidence (Obama 38.8 -> 28.6 years, p(male) 0.96 -> 0.93). The crop is kept as uint8 RGB, so
it travels like a frame.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from models.base import LazyModel, check_frames
from models.outputs import Face

CROP_SIZE = 192  # human's facemesh input size, the size of its face tensor
ENLARGE = 1.4  # human config.ts face.detector.scale


def crop_box(face: Face, width: int, height: int, enlarge: float = ENLARGE) -> tuple[float, ...]:
    """The square (x1, y1, x2, y2) in pixels human would cut around this face."""
    box = face.box
    cx, cy = (box.left + box.width / 2) * width, (box.top + box.height / 2) * height
    half = enlarge * box.width * width / 2
    # squarifyBox rounds the corners to whole pixels
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


def face_crop(image: np.ndarray, face: Face, size: int = CROP_SIZE) -> np.ndarray:
    """human's face tensor for one face, as uint8 RGB (size, size, 3).

    `tf.image.cropAndResize` samples the box's first and last pixel rows/columns exactly
    (source = y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (size - 1) in normalised coordinates,
    with y1 = top / H) and fills outside the image with 0; the same affine map in warpAffine
    does the same.
    """
    import cv2

    height, width = image.shape[:2]
    x1, y1, x2, y2 = crop_box(face, width, height)
    sx = (x2 - x1) * (width - 1) / width / (size - 1)
    sy = (y2 - y1) * (height - 1) / height / (size - 1)
    ox = x1 * (width - 1) / width
    oy = y1 * (height - 1) / height
    # dst -> src map; WARP_INVERSE_MAP says the matrix maps destination to source pixels.
    matrix = np.array([[sx, 0.0, ox], [0.0, sy, oy]], dtype=np.float64)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def face_crops(image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
    """human's face tensors for every face in one image, (N, 192, 192, 3) uint8."""
    if not faces:
        return np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    return np.stack([face_crop(image, face) for face in faces])


@contextlib.contextmanager
def _denormals_flushed():
    """These graphs' float16-quantised weights drive activations into denormal floats, which x86
    CPUs compute ~5x slower (faceres 2.9 s -> 0.58 s per face measured here); flushing them to
    zero changes no output above 1e-30. Only for the forward pass: left on, the CPU state leaks
    into everything else in the process (hypothesis, for one, refuses to run under it)."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class HumanFaceGraph(LazyModel):
    """One of human's TF.js face graphs, run in PyTorch on face crops (from `face_crops`).

    Subclasses name the graph file and its outputs, turn a batch of crops into the graph's
    input (`prepare`) and its outputs into results (`results`)."""

    model_file: str
    outputs: tuple[str, ...]

    def build(self):
        from models.tfjs_graph import GraphModule, load_graph_model

        graph = load_graph_model(Path(self.files[self.model_file]))
        return GraphModule(graph, self.outputs).eval().to(torch.device(self.device))

    def prepare(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 RGB crops (N, 192, 192, 3) -> the graph's input, as human makes it."""
        raise NotImplementedError

    def results(self, outputs: tuple[np.ndarray, ...]) -> list:
        raise NotImplementedError

    @torch.inference_mode()
    def raw(self, crops: np.ndarray) -> tuple[np.ndarray, ...]:
        """The graph's outputs for a batch of crops, as numpy arrays."""
        x = self.prepare(torch.from_numpy(np.ascontiguousarray(crops)).to(self.device))
        with _denormals_flushed():
            return tuple(t.float().cpu().numpy() for t in self.built(x))

    def predict(self, crops: np.ndarray) -> list:
        crops = check_frames(crops)
        out: list = []
        for start in range(0, len(crops), self.batch_size):
            out.extend(self.results(self.raw(crops[start : start + self.batch_size])))
        return out
