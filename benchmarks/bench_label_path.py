"""What the label path costs per sampled frame: decode + YOLOX-Nano + classifier + crop checks.

    python benchmarks/bench_label_path.py [VIDEO ...] [--fps 2] [--threads 1] [--batch 1 8]
                                          [--classifier efficientnet-lite3-imagenet]

Today's path (CenterNet boxes only, jobs/labels.py) is measured in the same run as the baseline.

Decodes each video sequentially with PyAV (every frame, as a job does), keeps frames at
--fps, and runs models.label_path.label_frames on them in batches, measuring CPU time (process
time, so neighbours on a shared machine do not count) per sampled frame for each stage. The
real-time factor assumes the CPU work spreads over --cores cores (a 2-core worker runs two
processes of one thread each):

    factor = (seconds of video per sampled frame) / (CPU seconds per sampled frame / cores)

Default videos: the shared test clips with cars, a dog, people. Downloads nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MEDIA = REPO.parent / "shared" / "media"
DEFAULT_VIDEOS = ("traffic/intel_car-detection.mp4", "objects/pexels_dog_eating_854132.mp4",
                  "people/intel_one-by-one-person-detection_first40s.mp4")


def sampled_frames(path: Path, fps: float) -> tuple[list, float]:
    """The frames at 1/fps intervals and the CPU seconds the whole sequential decode took."""
    import av

    started = time.process_time()
    frames, next_time = [], 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_time:
                frames.append(frame.to_ndarray(format="rgb24"))
                next_time += 1.0 / fps
    return frames, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--classifier", default="efficientnet-lite3-imagenet")
    parser.add_argument("--min-confidence", type=float, default=50.0)
    args = parser.parse_args()

    import numpy as np
    import torch

    from jobs.labels import frame_labels as today_labels
    from jobs.settings import Settings
    from models.calibration import curve
    from models.label_fusion import frame_labels
    from models.label_path import label_frames, verify_crops
    from models.registry import load

    torch.set_num_threads(args.threads)
    models_dir = Settings().models_dir
    detector = load("yolox-nano-coco", models_dir, "cpu")
    classifier = load(args.classifier, models_dir, "cpu")
    baseline = load("centernet-coco", models_dir, "cpu")
    videos = args.videos or [MEDIA / v for v in DEFAULT_VIDEOS]
    print(f"{args.threads} thread(s) per process, {args.cores} cores, {args.fps:g} sampled fps, "
          f"classifier {args.classifier}; CPU ms per sampled frame")

    def factor(total_ms: float) -> float:
        return (1.0 / args.fps) / (total_ms / 1000 / args.cores)

    for video in videos:
        frames, decode_seconds = sampled_frames(video, args.fps)
        decode_ms = 1000 * decode_seconds / len(frames)
        baseline.predict(np.stack(frames[:1]))  # warm-up
        started = time.process_time()
        for frame in frames:
            today_labels(baseline.predict(frame[None])[0], min_confidence=args.min_confidence)
        today_ms = decode_ms + 1000 * (time.process_time() - started) / len(frames)
        print(f"  {video.name} today (centernet, batch 1): {today_ms:.1f} ms -> {factor(today_ms):.1f}x real time")
        label_frames(np.stack(frames[:1]), detector, classifier, min_confidence=args.min_confidence)  # warm-up
        for batch in args.batch:
            stages = {"detector": 0.0, "classifier": 0.0, "crops": 0.0, "fusion": 0.0}
            crops = 0
            for start in range(0, len(frames), batch):
                chunk = np.stack(frames[start : start + batch])
                t0 = time.process_time()
                detections = detector.predict(chunk)
                t1 = time.process_time()
                scores = classifier.predict(chunk)
                t2 = time.process_time()
                checked = [verify_crops(frame, boxes, frame_scores, classifier, min_confidence=args.min_confidence,
                                        detector_name=detector.name)
                           for frame, boxes, frame_scores in zip(chunk, detections, scores, strict=True)]
                t3 = time.process_time()
                for boxes, frame_scores, crop_scores in zip(detections, scores, checked, strict=True):
                    frame_labels(boxes, frame_scores, min_confidence=args.min_confidence, crop_scores=crop_scores,
                                 detector_curve=curve(detector.name), classifier_curve=curve(classifier.name))
                t4 = time.process_time()
                crops += sum(len(c) for c in checked)
                for stage, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    stages[stage] += seconds
            per_frame = {k: 1000 * v / len(frames) for k, v in stages.items()}
            total = decode_ms + sum(per_frame.values())
            print(f"  {video.name} batch {batch}: decode {decode_ms:.1f} + "
                  + " + ".join(f"{k} {v:.1f}" for k, v in per_frame.items())
                  + f" = {total:.1f} ms ({crops / len(frames):.2f} crops/frame) -> {factor(total):.1f}x real time")


if __name__ == "__main__":
    main()
