"""Label quality and speed per model on the hand-labelled set, against today's CenterNet.

    python benchmarks/bench_label_quality.py [--split evaluation|calibration|all] [--min-confidence 50]
                                             [--threads 2] [--show-false]

For every image of the split (benchmarks/label_set.json: real photos and hand-labelled frames of
the shared test clips) each label model runs once, timed, and each way of turning outputs into
labels is scored at MinConfidence (default 50, Rekognition's): label-level precision, recall and
F1 (benchmarks/label_set.py says what counts as right). Rows:

  centernet (today)       CenterNet boxes, confidence = 100 x raw score (jobs/labels.py today)
  centernet calibrated    the same boxes through CenterNet's fitted curve
  yolox raw               YOLOX-Nano boxes, confidence = 100 x raw score
  yolox calibrated        YOLOX-Nano through its curve (models/label_fusion.py, detector only)
  mobilenet calibrated    MobileNetV2 ImageNet scores alone through its curve
  yolox + mobilenet       both merged by models/label_fusion.py: the shipped label path

Needs the models fetched (`framewise models fetch`); downloads nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import label_set  # noqa: E402

MODELS = ("centernet-coco", "yolox-nano-coco", "mobilenet-v2-imagenet")


def load_models(threads: int) -> dict:
    import torch

    from jobs.settings import Settings
    from models.catalog import spec
    from models.fetch import missing
    from models.registry import load

    torch.set_num_threads(threads)
    models_dir = Settings().models_dir
    absent = missing([spec(name) for name in MODELS], models_dir)
    if absent:
        raise SystemExit(f"models not fetched: {', '.join(absent)}; run `framewise models fetch` first")
    loaded = {name: load(name, models_dir, "cpu") for name in MODELS}
    # Keep low raw scores: the calibrated threshold, not the model's default, decides.
    loaded["centernet-coco"].min_score = 0.05
    loaded["yolox-nano-coco"].min_score = 0.05
    return loaded


def run(models: dict, items: list) -> tuple[dict, dict]:
    """Per item, each model's output; per model, its milliseconds per image."""
    outputs: dict = {}
    timings: dict[str, list[float]] = {name: [] for name in models}
    for item in items:
        image = label_set.image(item)[None]
        outputs[item] = {}
        for name, model in models.items():
            started = time.perf_counter()
            outputs[item][name] = model.predict(image)[0]
            timings[name].append((time.perf_counter() - started) * 1000)
    return outputs, timings


def label_ways(min_confidence: float) -> dict:
    """Row name -> function(outputs of one image) -> set of returned label names."""
    from jobs.labels import frame_labels as today
    from models.calibration import IDENTITY, curve
    from models.label_fusion import frame_labels

    def names(labels: list[dict]) -> set[str]:
        return {label["Name"] for label in labels}

    return {
        "centernet (today)": lambda o: names(today(o["centernet-coco"], min_confidence=min_confidence)),
        "centernet calibrated": lambda o: names(frame_labels(
            o["centernet-coco"], min_confidence=min_confidence, detector_curve=curve("centernet-coco"))),
        "yolox raw": lambda o: names(frame_labels(
            o["yolox-nano-coco"], min_confidence=min_confidence, detector_curve=IDENTITY)),
        "yolox calibrated": lambda o: names(frame_labels(o["yolox-nano-coco"], min_confidence=min_confidence)),
        "mobilenet calibrated": lambda o: names(frame_labels(
            (), o["mobilenet-v2-imagenet"], min_confidence=min_confidence)),
        "yolox + mobilenet": lambda o: names(frame_labels(
            o["yolox-nano-coco"], o["mobilenet-v2-imagenet"], min_confidence=min_confidence)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="evaluation", choices=("evaluation", "calibration", "all"))
    parser.add_argument("--min-confidence", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, as the worker runs")
    parser.add_argument("--show-false", action="store_true", help="list each image's false and missed labels")
    args = parser.parse_args()

    items = label_set.items(None if args.split == "all" else args.split)
    models = load_models(args.threads)
    for model in models.values():  # warm-up, not timed
        model.predict(label_set.image(items[0])[None])
    outputs, timings = run(models, items)

    print(f"{len(items)} images ({args.split} split), MinConfidence {args.min_confidence:g}\n")
    print(f"{'labels from':24s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'TP':>4s} {'FP':>4s} {'FN':>4s}")
    for row, returned_by in label_ways(args.min_confidence).items():
        score = label_set.Score()
        notes = []
        for item in items:
            returned = returned_by(outputs[item])
            false = score.add(item, returned)
            missed = sorted(item.expected - returned)
            if false or missed:
                notes.append(f"    {item.title}: false {false} missed {missed}")
        print(f"{row:24s} {score.precision:9.2f} {score.recall:7.2f} {score.f1:6.2f} "
              f"{score.true_positives:4d} {score.false_positives:4d} {score.false_negatives:4d}")
        if args.show_false:
            print("\n".join(notes))
    print(f"\nms per image (batch 1, {args.threads} threads, preprocessing included; median, p90):")
    for name, values in timings.items():
        ordered = sorted(values)
        print(f"  {name:24s} {statistics.median(ordered):7.1f} {ordered[int(0.9 * (len(ordered) - 1))]:7.1f}")


if __name__ == "__main__":
    main()
