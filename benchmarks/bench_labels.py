"""Label-detection throughput, latency and memory: Framewise's path against naive baselines.

    python benchmarks/bench_labels.py [--loops 10] [--device cpu|cuda]

Builds a long video by looping real footage (packets remuxed, not re-encoded), then runs each
mode in its own process (so peak RSS is its own) and prints, per mode: video-seconds per
wall-second, sampled frames per second, per-batch latency and peak RSS, and ratios against
the naive baseline measured in the same run. Modes:

  framewise-pyav    the job's path: PyAV sequential decode keeping sampled frames, batched model
  framewise-decord  the same with decord's get_batch
  naive-decord      decord reading every frame, the model one frame at a time on the sampled ones
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_SOURCE = REPO.parent / "shared" / "media" / "traffic" / "intel_car-detection.mp4"
MODES = ("naive-decord", "framewise-pyav", "framewise-decord")


def loop_video(source: Path, target: Path, loops: int) -> Path:
    """Concatenate `loops` copies of a video's packets with shifted timestamps (no re-encode)."""
    import av

    with av.open(str(source)) as probe:
        stream = probe.streams.video[0]
        span = None
        last = 0
        for packet in probe.demux(stream):
            if packet.pts is not None:
                last = max(last, packet.pts + (packet.duration or 0))
        span = last - (stream.start_time or 0)
    with av.open(str(target), "w") as out:
        with av.open(str(source)) as first:
            out_stream = out.add_stream_from_template(first.streams.video[0])
        for index in range(loops):
            with av.open(str(source)) as src:
                stream = src.streams.video[0]
                for packet in src.demux(stream):
                    if packet.dts is None:
                        continue
                    offset = index * span
                    packet.pts = None if packet.pts is None else packet.pts + offset
                    packet.dts += offset
                    packet.stream = out_stream
                    out.mux(packet)
    return target


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_mode(mode: str, video: Path, sample_fps: float, batch_size: int, device: str | None) -> dict:
    """One mode, measured in this process."""
    import numpy as np

    from jobs import analyses
    from jobs.decode import probe
    from jobs.engine import Inference, Planned, analyze_span
    from jobs.settings import get_settings

    info = probe(video)
    labels = analyses.get("labels")
    inference = Inference(get_settings().models_dir, device, get_settings().cpu_threads)
    analyzer = inference.model(labels.models[0])
    analyzer.predict(np.zeros((1, 432, 768, 3), dtype=np.uint8))  # warm-up, not timed
    latencies: list[float] = []
    frames = 0
    detections = 0
    started = time.perf_counter()
    if mode.startswith("framewise"):
        options = {"SampleFps": sample_fps, "MinConfidence": 50.0}
        last = [time.perf_counter()]

        def on_batch(_n: int) -> None:
            now = time.perf_counter()
            latencies.append(now - last[0])
            last[0] = now

        span = analyze_span(video, 0, info.duration_millis + 1, [Planned(labels, options, sample_fps)], inference,
                            batch_size=batch_size, backend=mode.split("-")[1], max_side=None, on_batch=on_batch)
        frames = span.frames
        detections = len(span.rows["labels"])
    else:
        import decord

        reader = decord.VideoReader(str(video), num_threads=1)
        stamps = reader.get_frame_timestamp(range(len(reader)))[:, 0] * 1000
        next_instant = 0.0
        for index in range(len(reader)):
            frame = reader[index].asnumpy()  # every frame is read
            if stamps[index] + 0.5 < next_instant:
                continue
            while next_instant <= stamps[index] + 0.5:
                next_instant += 1000 / sample_fps
            t0 = time.perf_counter()
            found = analyzer.predict(frame[None])[0]  # the same model the labels analysis runs
            latencies.append(time.perf_counter() - t0)
            frames += 1
            detections += sum(1 for d in found if d.score >= 0.5)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "mode": mode, "video_seconds": info.duration_millis / 1000, "wall_seconds": wall,
        "sampled_frames": frames, "detections": detections,
        "video_seconds_per_second": info.duration_millis / 1000 / wall,
        "sampled_frames_per_second": frames / wall,
        "batch_latency_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "batch_latency_p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else None,
        "peak_rss_mib": _peak_rss_mib(), "device": str(getattr(analyzer, "device", device or "cpu")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="real footage to loop")
    parser.add_argument("--loops", type=int, default=10, help="copies of the source in the long video")
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default=None)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_one:
        print(json.dumps(run_mode(args.run_one, args.video, args.sample_fps, args.batch_size, args.device)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.source.exists():
            video = loop_video(args.source, Path(tmp) / "long.mp4", args.loops)
        else:  # a clone without the shared media: loop the photo video instead
            from jobs.samples import write_photo_video

            video = loop_video(write_photo_video(Path(tmp) / "photos.mp4"), Path(tmp) / "long.mp4", args.loops * 3)
        results = []
        for mode in args.modes.split(","):
            command = [sys.executable, __file__, "--run-one", mode, "--video", str(video),
                       "--sample-fps", str(args.sample_fps), "--batch-size", str(args.batch_size)]
            if args.device:
                command += ["--device", args.device]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
            print(f"measured {mode}", file=sys.stderr, flush=True)

    baseline = next((r for r in results if r["mode"] == "naive-decord"), results[0])
    header = f"{'mode':<18}{'video s/s':>10}{'frames/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'RSS MiB':>9}{'speed×':>8}{'RSS×':>7}"
    print(f"video: {results[0]['video_seconds']:.0f} s looped from {args.source.name}, "
          f"{args.sample_fps:g} fps sampling, batch {args.batch_size}, device {results[0]['device']}")
    print(header)
    for r in results:
        print(f"{r['mode']:<18}{r['video_seconds_per_second']:>10.2f}{r['sampled_frames_per_second']:>10.2f}"
              f"{r['batch_latency_p50_ms']:>9.0f}{r['batch_latency_p95_ms']:>9.0f}{r['peak_rss_mib']:>9.0f}"
              f"{r['video_seconds_per_second'] / baseline['video_seconds_per_second']:>8.2f}"
              f"{r['peak_rss_mib'] / baseline['peak_rss_mib']:>7.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
