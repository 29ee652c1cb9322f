"""COCO-80 object detection with the MobileNetV3-CenterNet that `@vladmandic/human@3.3.6` ships.

The model is the package's own TF.js graph (`models/centernet.json` + `centernet.bin`), run by
`models.tfjs_graph` in PyTorch up to its two raw heads, `tower_0/keypoints` (per-class centre
heatmaps, sigmoid, stride 4) and `tower_0/wh` (distances from the centre to the box sides in
input pixels). The in-graph decode (`tower_0/detections`) hard-codes batch 1, so the same decode
is done here in torch for a whole batch, followed by the package's own post-processing.

What human 3.3.6 does, and what this module mirrors (package/src/...):

* image/image.ts `process()`: a tensor input is only cast to float32; no normalisation (values
  stay 0..255, RGB). `config.filter` defaults leave tensor inputs untouched.
* object/centernet.ts `predict()`: `tf.image.resizeBilinear(input, [512, 512])` with TF.js's
  defaults (alignCorners=false, halfPixelCenters=false: TF's legacy sampling), no letterboxing,
  then `model.execute(resize, ['tower_0/detections'])`.
* the graph's decode: 3x3 max-pool peak mask on the heatmap, top-100 over the flattened NHWC
  heatmap, class = index % 80, x = (index // 80) % 128, y = index // 80 // 128; box =
  (4x - wh0, 4y - wh1, 4x + wh2, 4y + wh3) in 512-pixel input space, score = heatmap value.
* object/centernet.ts `process()`: class-agnostic `tf.image.nonMaxSuppressionAsync` with
  maxOutputSize = config.object.maxDetected, iouThreshold = 0.4, scoreThreshold =
  config.object.minConfidence (0.2; strictly greater), label = labels[class] (labels.ts), box
  as ratios = coordinate / 512 (the stretch resize makes those ratios of the original frame).

Differences on purpose: confidences are not truncated to two decimals (human does
`Math.trunc(100 * score) / 100` for display), boxes are clamped to [0, 1], and
`max_detections` defaults to 100 rather than human's `maxDetected: 10`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from models.base import LazyModel, check_frames
from models.outputs import BoundingBox, ObjectBox

# package/src/object/labels.ts, in order: index == class id the model emits (labels[classVal]).
COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

MODEL_FILE = "centernet.json"
INPUT_NAME = "tower_0/images"
HEAD_OUTPUTS = ("tower_0/keypoints", "tower_0/wh")
INPUT_SIZE = 512  # the graph's input signature; human reads it from there too
TOP_K = 100  # the graph's tower_0/TopKV2/k
IOU_THRESHOLD = 0.4  # human config.ts: object.iouThreshold
MIN_SCORE = 0.2  # human config.ts: object.minConfidence


# --------------------------------------------------------------------------------------------
# Pure pre/post-processing


def preprocess(frames: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 RGB frames (N, H, W, 3) -> float32 (N, size, size, 3), values 0..255.

    TF.js `tf.image.resizeBilinear(x, [size, size])` with its defaults (TF legacy sampling),
    the only preprocessing human applies to this model.
    """
    from models.tfjs_graph import resize_bilinear

    if frames.dim() != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (N, H, W, 3), got {tuple(frames.shape)}")
    return resize_bilinear(frames, (size, size), align_corners=False, half_pixel_centers=False)


def decode_heads(
    heatmap: torch.Tensor, wh: torch.Tensor, input_size: int = INPUT_SIZE, top_k: int = TOP_K
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The graph's peak decode, batched: (boxes (N,K,4) x1y1x2y2 in input pixels, scores (N,K),
    classes (N,K) int64), best first.

    heatmap: (N, H, W, C) sigmoid class heatmaps; wh: (N, H, W, 4) left/top/right/bottom
    distances from the peak in input pixels.
    """
    n, h, w, c = heatmap.shape
    stride = input_size / h
    nchw = heatmap.permute(0, 3, 1, 2)
    peaks = F.max_pool2d(nchw, 3, stride=1, padding=1)  # TF SAME 3x3/1 pads 1 each side
    masked = heatmap * (peaks.permute(0, 2, 3, 1) == heatmap).to(heatmap.dtype)
    scores, index = torch.topk(masked.reshape(n, -1), min(top_k, h * w * c), dim=1, sorted=True)
    classes = index % c
    pixel = index // c
    xs = (pixel % w).to(heatmap.dtype) * stride
    ys = (pixel // w).to(heatmap.dtype) * stride
    sides = torch.gather(wh.reshape(n, h * w, 4), 1, pixel.unsqueeze(-1).expand(-1, -1, 4))
    boxes = torch.stack(
        [xs - sides[..., 0], ys - sides[..., 1], xs + sides[..., 2], ys + sides[..., 3]], dim=-1
    )
    return boxes, scores, classes


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU exactly as TF.js's NMS computes it (corners may come in any order)."""
    ay1, ax1, ay2, ax2 = min(a[1], a[3]), min(a[0], a[2]), max(a[1], a[3]), max(a[0], a[2])
    by1, bx1, by2, bx2 = min(b[1], b[3]), min(b[0], b[2]), max(b[1], b[3]), max(b[0], b[2])
    area_a = (ay2 - ay1) * (ax2 - ax1)
    area_b = (by2 - by1) * (bx2 - bx1)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = max(min(ay2, by2) - max(ay1, by1), 0.0) * max(min(ax2, bx2) - max(ax1, bx1), 0.0)
    return inter / (area_a + area_b - inter)


def non_max_suppression(
    boxes: np.ndarray, scores: np.ndarray, max_output: int, iou_threshold: float, score_threshold: float
) -> list[int]:
    """Indices kept by TF.js `tf.image.nonMaxSuppressionAsync` (hard NMS), in selection order.

    Candidates need score > score_threshold; they are visited by descending score (ties: lower
    index first); one is dropped when its IoU with an already kept box is >= iou_threshold.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    order = [
        i for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)) if scores[i] > score_threshold
    ]
    kept: list[int] = []
    for i in order:
        if len(kept) >= max_output:
            break
        if all(_iou(boxes[i], boxes[j]) < iou_threshold for j in kept):
            kept.append(i)
    return kept


def to_detections(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, keep: list[int], input_size: int = INPUT_SIZE
) -> list[ObjectBox]:
    """Kept peaks -> ObjectBoxes: COCO label, the model's 0..1 score, box as clamped frame ratios."""
    detections = []
    for i in keep:
        x1, y1, x2, y2 = (float(v) / input_size for v in boxes[i])
        box = BoundingBox.from_corners(x1, y1, x2, y2).clamped()
        detections.append(ObjectBox(name=COCO_LABELS[int(classes[i])], score=float(scores[i]), box=box))
    return detections


def postprocess(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    *,
    min_score: float = MIN_SCORE,
    iou_threshold: float = IOU_THRESHOLD,
    max_detections: int = TOP_K,
    input_size: int = INPUT_SIZE,
) -> list[ObjectBox]:
    """One frame's decoded peaks -> its detections, as human's centernet.ts `process()`."""
    keep = non_max_suppression(boxes, scores, max_detections, iou_threshold, min_score)
    return to_detections(boxes, scores, classes, keep, input_size)


# --------------------------------------------------------------------------------------------
# The model


class CenterNet(LazyModel):
    """MobileNetV3-CenterNet (COCO-80) from human 3.3.6, batched in PyTorch."""

    min_score = MIN_SCORE
    max_detections = TOP_K
    iou_threshold = IOU_THRESHOLD

    def build(self):
        from models.tfjs_graph import GraphModule, load_graph_model

        model_json = Path(self.files[MODEL_FILE])
        if not model_json.exists():
            raise FileNotFoundError(f"{model_json} is missing; run `framewise models fetch` first")
        graph = load_graph_model(model_json)
        return GraphModule(graph, HEAD_OUTPUTS, inputs=[INPUT_NAME]).eval().to(torch.device(self.device))

    @torch.inference_mode()
    def decode(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw decoded peaks for a batch (on CPU): boxes (N,100,4) in 512-pixel input space,
        scores (N,100), classes (N,100); no thresholds, no NMS."""
        frames = check_frames(frames)
        x = preprocess(torch.from_numpy(np.ascontiguousarray(frames)).to(self.device))
        heatmap, wh = self.built(x)
        return tuple(t.cpu() for t in decode_heads(heatmap, wh, INPUT_SIZE, TOP_K))

    def predict(self, frames: np.ndarray) -> list[list[ObjectBox]]:
        frames = check_frames(frames)
        results: list[list[ObjectBox]] = []
        for start in range(0, len(frames), self.batch_size):
            boxes, scores, classes = (t.numpy() for t in self.decode(frames[start : start + self.batch_size]))
            for b, s, c in zip(boxes, scores, classes, strict=True):
                results.append(postprocess(b, s, c, min_score=self.min_score, iou_threshold=self.iou_threshold,
                                           max_detections=self.max_detections))
        return results
