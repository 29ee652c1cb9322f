"""Custom Labels' detector: class-agnostic proposals from the COCO YOLOX-Nano, each re-classified
by a trained linear head (models/custom_head.py) over the user's labels plus a background class.

A proposal is any box YOLOX finds with objectness x best class score >= PROPOSAL_SCORE, whatever
the COCO class, after class-agnostic NMS; so the detector finds objects COCO has no name for as
long as YOLOX sees "an object" there. Each proposal is cut out as a square around its box (with
a margin) and embedded by the same frozen MobileNetV2 the classifier uses.

Evaluation follows Rekognition: per label, a prediction is a true positive when it overlaps a
not-yet-matched true box of that label at IoU >= 0.5 (most confident first); the rest are false
positives, unmatched true boxes false negatives; the assumed threshold maximises the label's F1.
"""
from __future__ import annotations

import numpy as np

BACKGROUND = "__background__"
PROPOSER = "yolox-nano-coco"
PROPOSAL_SCORE = 0.02
PROPOSAL_NMS = 0.6
MAX_PROPOSALS = 30
MATCH_IOU = 0.5  # a proposal (or a prediction) matches a true box at this IoU
BACKGROUND_IOU = 0.3  # proposals overlapping no true box this much are background examples
DETECTION_NMS = 0.45


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) corner boxes (x1, y1, x2, y2) -> (N, M) IoU."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-12)


def proposals(yolox, frame: np.ndarray) -> np.ndarray:
    """Class-agnostic YOLOX boxes for one uint8 RGB frame, as (K, 4) ratios x1, y1, x2, y2."""
    import torch

    from models.yolox import decode_outputs, letterbox, letterbox_scale, nms

    height, width = frame.shape[:2]
    with torch.inference_mode():
        decoded = decode_outputs(yolox.forward(letterbox(torch.from_numpy(np.array(frame[None])))))[0].cpu()
    scores = decoded[:, 4] * decoded[:, 5:].max(dim=1).values
    keep = scores >= PROPOSAL_SCORE
    if not keep.any():
        return np.zeros((0, 4), np.float32)
    centre, size = decoded[keep, :2], decoded[keep, 2:4]
    corners = torch.cat([centre - size / 2, centre + size / 2], 1) / letterbox_scale(height, width)
    kept = nms(corners, scores[keep], PROPOSAL_NMS)[:MAX_PROPOSALS]
    boxes = corners[kept].numpy() / np.array([width, height, width, height], np.float32)
    return np.clip(boxes, 0, 1)


def square_crop(frame: np.ndarray, box, margin: float = 0.1) -> np.ndarray:
    """The square around a ratio box (its longer side plus a margin), clipped to the frame."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    right, bottom = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return np.ascontiguousarray(frame[top : max(bottom, top + 2), left : max(right, left + 2)])


def training_examples(candidates: np.ndarray, truth_boxes: np.ndarray, truth_labels: list[str],
                      max_background: int = 6) -> list[tuple[np.ndarray, str]]:
    """(box, label) examples of one image: every true box, each proposal matching one at
    IoU >= 0.5 with its label, and up to `max_background` proposals overlapping none (background)."""
    examples = [(box, label) for box, label in zip(truth_boxes, truth_labels, strict=True)]
    if len(candidates):
        overlaps = iou(candidates, truth_boxes) if len(truth_boxes) else np.zeros((len(candidates), 0))
        background = 0
        for i, box in enumerate(candidates):
            best = overlaps[i].max() if overlaps.shape[1] else 0.0
            if best >= MATCH_IOU:
                examples.append((box, truth_labels[int(overlaps[i].argmax())]))
            elif best < BACKGROUND_IOU and background < max_background:
                examples.append((box, BACKGROUND))
                background += 1
    return examples


def detections(head, candidates: np.ndarray, features: np.ndarray) -> list[tuple[np.ndarray, str, float]]:
    """(box, label, probability) for each proposal's best non-background label, per-label NMS."""
    if not len(candidates):
        return []
    probabilities = head.probabilities(features)
    labels = [name for name in head.labels if name != BACKGROUND]
    columns = [head.labels.index(name) for name in labels]
    out = []
    for name, column in zip(labels, columns, strict=True):
        scores = probabilities[:, column]
        best = [i for i in range(len(candidates)) if probabilities[i].argmax() == column]
        order = sorted(best, key=lambda i: -scores[i])
        kept: list[int] = []
        for i in order:
            if all(iou(candidates[i], candidates[j])[0, 0] <= DETECTION_NMS for j in kept):
                kept.append(i)
        out.extend((candidates[i], name, float(scores[i])) for i in kept)
    return sorted(out, key=lambda d: -d[2])


def evaluate(labels: list[str], predicted: list[list[tuple]], truth: list[list[tuple[np.ndarray, str]]]) -> dict:
    """Per-label and overall metrics of each test image's predictions against its true boxes."""
    per_label = []
    for label in labels:
        # every prediction of this label, with whether it is a true positive at each threshold
        scored = []
        total = sum(1 for boxes in truth for _, name in boxes if name == label)
        for found, boxes in zip(predicted, truth, strict=True):
            true_boxes = [box for box, name in boxes if name == label]
            matched = set()
            for box, name, score in sorted(found, key=lambda d: -d[2]):
                if name != label:
                    continue
                hit = None
                if true_boxes:
                    overlaps = iou(box, np.stack(true_boxes))[0]
                    for j in np.argsort(-overlaps):
                        if overlaps[j] >= MATCH_IOU and j not in matched:
                            hit = int(j)
                            break
                if hit is not None:
                    matched.add(hit)
                scored.append((score, hit is not None))
        best = (0.5, 0, 0, total, 0.0)  # threshold, tp, fp, fn, f1
        for threshold in sorted({s for s, _ in scored}, reverse=True):
            tp = sum(1 for s, hit in scored if s >= threshold and hit)
            fp = sum(1 for s, hit in scored if s >= threshold and not hit)
            f1 = 2 * tp / (2 * tp + fp + (total - tp)) if tp else 0.0
            if f1 > best[4]:
                best = (threshold, tp, fp, total - tp, f1)
        threshold, tp, fp, fn, f1 = best
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_label.append({"Label": label, "NumberOfTestingImages": sum(
            1 for boxes in truth if any(name == label for _, name in boxes)),
            "Metrics": {"F1Score": f1, "Precision": precision, "Recall": recall, "Threshold": threshold,
                        "TruePositives": tp, "FalsePositives": fp, "FalseNegatives": fn}})
    tested = [m["Metrics"] for m in per_label if m["NumberOfTestingImages"]]
    overall = {key: float(np.mean([m[key] for m in tested])) if tested else 0.0
               for key in ("F1Score", "Precision", "Recall")}
    for key in ("TruePositives", "FalsePositives", "FalseNegatives"):
        overall[key] = sum(m[key] for m in tested)
    return {"AggregatedEvaluationResults": overall, "LabelEvaluationResults": per_label}
