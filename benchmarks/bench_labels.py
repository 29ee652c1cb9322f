"""Label-detection throughput, latency and memory: Framewise's path against naive baselines.

    python benchmarks/bench_labels.py [--loops 10] [--processes 2] [--device cpu|cuda]

Builds a long video by looping real footage (packets remuxed, not re-encoded), then runs each
mode in processes of its own (so peak RSS is its own) and prints, per mode: video-seconds per
wall-second, sampled frames per second, per-batch latency and peak RSS, and ratios against the
naive baseline measured in the same run. Modes:

  framewise-pyav    the job's path: PyAV sequential decode keeping sampled frames, the label
                    analysis (detector + classifier + crop checks + fusion) on batches, run as a
                    worker runs it: --processes worker processes, one CPU thread each, each on its
                    share of the video (chunks in parallel), wall time = the slowest
  framewise-decord  the same with decord's get_batch
  centernet-pyav    yesterday's label model (CenterNet alone) in the same pipeline and processes
  naive-decord      one process at torch's default threads: decord reading every frame, the
                    label analysis one frame at a time on the sampled ones
"""
from __future__ import annotations

import argparse
import itertools
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
MODES = ("naive-decord", "framewise-pyav", "framewise-decord", "centernet-pyav")


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


def run_mode(mode: str, video: Path, span: tuple[int, int] | None, sample_fps: float, batch_size: int,
             device: str | None) -> dict:
    """One mode on [start, end) of the video, measured in this process."""
    import numpy as np

    from jobs import analyses
    from jobs.analyses import Frames
    from jobs.decode import iter_frames, probe
    from jobs.engine import Inference, Planned, analyze_span
    from jobs.settings import get_settings

    info = probe(video)
    start_ms, end_ms = span or (0, info.duration_millis + 1)
    labels = analyses.get("labels")
    threads = 0 if mode.startswith("naive") else get_settings().cpu_threads
    inference = Inference(get_settings().models_dir, device, threads)
    options = labels.options({}, get_settings())
    warm = Frames(np.zeros((1, 432, 768, 3), dtype=np.uint8), [0], [0])
    if mode.startswith("centernet"):
        detector = inference.model("centernet-coco")
        detector.predict(warm.images)
    else:
        labels.rows(warm, inference, options, None)  # loads and warms every model, not timed
        inference.new_batch()
    latencies: list[float] = []
    frames = 0
    detections = 0
    last = [time.perf_counter()]

    def on_batch(_n: int) -> None:
        now = time.perf_counter()
        latencies.append(now - last[0])
        last[0] = now

    started = last[0] = time.perf_counter()
    if mode.startswith("framewise"):
        result = analyze_span(video, start_ms, end_ms, [Planned(labels, options, sample_fps)], inference,
                              batch_size=batch_size, backend=mode.split("-")[1], max_side=None, on_batch=on_batch)
        frames = result.frames
        detections = len(result.rows["labels"])
    elif mode.startswith("centernet"):
        for batch in iter_frames(video, start_millis=start_ms, end_millis=end_ms, rates={"": sample_fps},
                                 batch_size=batch_size, backend="pyav"):
            detections += sum(1 for boxes in detector.predict(batch.frames) for d in boxes if d.score >= 0.5)
            frames += len(batch)
            on_batch(frames)
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
            inference.new_batch()  # a new frame: nothing cached from the last one
            found = labels.rows(Frames(frame[None], [int(stamps[index])], [0]), inference, options, None)
            latencies.append(time.perf_counter() - t0)
            frames += 1
            detections += len(found)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "mode": mode, "video_seconds": (min(end_ms, info.duration_millis) - start_ms) / 1000, "wall_seconds": wall,
        "sampled_frames": frames, "detections": detections, "latencies": latencies,
        "peak_rss_mib": _peak_rss_mib(), "device": device or "cpu",
    }


def _combine(mode: str, parts: list[dict]) -> dict:
    """Processes that ran side by side: video and frames add up, the wall is the slowest's."""
    wall = max(p["wall_seconds"] for p in parts)
    video = sum(p["video_seconds"] for p in parts)
    frames = sum(p["sampled_frames"] for p in parts)
    latencies = sorted(x for p in parts for x in p["latencies"])
    return {
        "mode": mode, "processes": len(parts), "video_seconds": video, "wall_seconds": wall,
        "sampled_frames": frames, "detections": sum(p["detections"] for p in parts),
        "video_seconds_per_second": video / wall, "sampled_frames_per_second": frames / wall,
        "batch_latency_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "batch_latency_p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else None,
        "peak_rss_mib": sum(p["peak_rss_mib"] for p in parts), "device": parts[0]["device"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="real footage to loop")
    parser.add_argument("--loops", type=int, default=10, help="copies of the source in the long video")
    parser.add_argument("--sample-fps", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default=None)
    parser.add_argument("--processes", type=int, default=2, help="worker processes for the framewise modes")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--span", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_one:
        span = tuple(int(v) for v in args.span.split(":")) if args.span else None
        print(json.dumps(run_mode(args.run_one, args.video, span, args.sample_fps, args.batch_size, args.device)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.source.exists():
            video = loop_video(args.source, Path(tmp) / "long.mp4", args.loops)
        else:  # a clone without the shared media: loop the photo video instead
            from jobs.samples import write_photo_video

            video = loop_video(write_photo_video(Path(tmp) / "photos.mp4"), Path(tmp) / "long.mp4", args.loops * 3)
        from jobs.decode import probe

        duration = probe(video).duration_millis
        results = []
        for mode in args.modes.split(","):
            count = 1 if mode.startswith("naive") else args.processes
            edges = [round(duration * i / count) for i in range(count + 1)]
            edges[-1] = duration + 1
            procs = []
            for start, end in itertools.pairwise(edges):
                command = [sys.executable, __file__, "--run-one", mode, "--video", str(video), "--span",
                           f"{start}:{end}", "--sample-fps", str(args.sample_fps), "--batch-size",
                           str(args.batch_size)]
                if args.device:
                    command += ["--device", args.device]
                procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
            parts = []
            for proc in procs:
                out, _ = proc.communicate()
                if proc.returncode:
                    raise SystemExit(f"{mode} failed ({proc.returncode})")
                parts.append(json.loads(out.strip().splitlines()[-1]))
            results.append(_combine(mode, parts))
            print(f"measured {mode}", file=sys.stderr, flush=True)

    baseline = next((r for r in results if r["mode"] == "naive-decord"), results[0])
    header = (f"{'mode':<18}{'procs':>6}{'video s/s':>10}{'frames/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'RSS MiB':>9}"
              f"{'speed×':>8}{'RSS×':>7}")
    print(f"video: {results[0]['video_seconds']:.0f} s looped from {args.source.name}, "
          f"{args.sample_fps:g} fps sampling, batch {args.batch_size}, device {results[0]['device']}")
    print(header)
    for r in results:
        print(f"{r['mode']:<18}{r['processes']:>6}{r['video_seconds_per_second']:>10.2f}"
              f"{r['sampled_frames_per_second']:>10.2f}"
              f"{r['batch_latency_p50_ms']:>9.0f}{r['batch_latency_p95_ms']:>9.0f}{r['peak_rss_mib']:>9.0f}"
              f"{r['video_seconds_per_second'] / baseline['video_seconds_per_second']:>8.2f}"
              f"{r['peak_rss_mib'] / baseline['peak_rss_mib']:>7.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
