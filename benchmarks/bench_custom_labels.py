"""Custom Labels on the CPU: training time, and inference images/s against DetectLabels.

    python benchmarks/bench_custom_labels.py

The same data as the tests: 4 labels x 12 frames of the shared clips (classifier), and the
hand-boxed bottle frames of tests/jobs/data/bottles.manifest (detector). Measured in one process
with the worker's own functions: training (features + fit, without storage) and, per image,
decode + DetectLabels (the baseline), decode + the classifier, decode + the detector.
"""
from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    os.environ.setdefault("FRAMEWISE_DATA_DIR", tempfile.mkdtemp())
    from jobs import images
    from jobs.custom_manifest import boxes_of
    from jobs.custom_training import detect_objects, image_features
    from jobs.engine import Inference
    from jobs.settings import get_settings
    from models import custom_detector
    from models.custom_head import fit
    from tests.jobs.custom_label_frames import dataset, frames

    settings = get_settings()
    inference = Inference(settings.models_dir, settings.device, settings.cpu_threads)
    data = dataset(12, 2)
    jpegs = [(label, jpeg) for label, (kept, _) in data.items() for jpeg in kept]
    decoded = [images.decode_image(jpeg) for _, jpeg in jpegs]
    image_features(inference, decoded[:1])  # load the model outside the timings
    images.run("DetectLabels", {}, {"Image": {"bytes": base64.b64encode(jpegs[0][1]).decode()}}, inference)

    started = time.perf_counter()
    features = image_features(inference, decoded)
    head = fit(features, [label for label, _ in jpegs])
    classifier_train = time.perf_counter() - started

    shots = frames("objects/intel_bottle-detection.mp4", 60)
    lines = [json.loads(raw) for raw in (REPO / "tests/jobs/data/bottles.manifest").read_text().splitlines()]
    yolox = inference.model(custom_detector.PROPOSER)
    started = time.perf_counter()
    xs, ys = [], []
    for line in lines:
        frame = images.decode_image(shots[int(line["source-ref"][-6:-4])])
        truth = boxes_of(line)
        examples = custom_detector.training_examples(custom_detector.proposals(yolox, frame),
                                                     np.array([b for b, _ in truth]).reshape(-1, 4),
                                                     [name for _, name in truth])
        xs.extend(image_features(inference, [custom_detector.square_crop(frame, b) for b, _ in examples]))
        ys.extend(name for _, name in examples)
    detector = fit(np.stack(xs), ys)
    detector_train = time.perf_counter() - started

    held = [jpeg for _, (_, apart) in data.items() for jpeg in apart] * 3

    def rate(run) -> float:
        started = time.perf_counter()
        for jpeg in held:
            run(jpeg)
        return len(held) / (time.perf_counter() - started)

    baseline = rate(lambda jpeg: images.run("DetectLabels", {}, {"Image": {"bytes": base64.b64encode(jpeg).decode()}},
                                            inference))
    classify = rate(lambda jpeg: head.probabilities(image_features(inference, [images.decode_image(jpeg)])))
    detect = rate(lambda jpeg: detect_objects(inference, detector, images.decode_image(jpeg)))
    print(f"classifier: {len(jpegs)} images trained in {classifier_train:.2f} s")
    print(f"detector: {len(lines)} images ({len(ys)} crops) trained in {detector_train:.2f} s")
    print(f"images/s on {settings.device or 'cpu'} ({settings.cpu_threads} thread(s)), {len(held)} 320-px frames: "
          f"DetectLabels {baseline:.1f}; DetectCustomLabels classifier {classify:.1f} ({classify / baseline:.2f}x), "
          f"detector {detect:.1f} ({detect / baseline:.2f}x)")


if __name__ == "__main__":
    main()
