"""One job of several analyses against one job per analysis, on the same video.

    python benchmarks/bench_multi_analysis.py [--analyses labels,faces,moderation] [--video PATH]

Runs the engine (jobs/engine.py analyze_span, what a chunk task runs) once with every analysis
planned together — one decode, shared inference — and once per analysis alone, in this process,
models warmed first. Prints decode passes, decoded frames and wall time, and the ratio of the
separate runs' total to the combined run. By default every analysis in the registry is measured
(--with-test-analysis adds the test-only brightness analysis).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "traffic" / "intel_car-detection.mp4"


def _run(video: Path, planned: list, inference, settings, duration_millis: int) -> dict:
    from jobs.engine import analyze_span

    started = time.perf_counter()
    result = analyze_span(video, 0, duration_millis + 1, planned, inference, batch_size=settings.batch_size,
                          backend=settings.decoder, max_side=settings.decode_max_side)
    return {"analyses": [p.analysis.name for p in planned], "wall_seconds": time.perf_counter() - started,
            "decode_passes": result.decode.passes, "decoded_frames": result.frames,
            "rows": {name: len(rows) for name, rows in result.rows.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--analyses", help="comma-separated registry names (default: all)")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--with-test-analysis", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the median is reported")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))

    from jobs import analyses
    from jobs.decode import probe
    from jobs.engine import Inference, Planned
    from jobs.settings import get_settings

    if args.with_test_analysis:
        import tests.jobs.brightness_analysis  # noqa: F401

    settings = get_settings()
    names = args.analyses.split(",") if args.analyses else sorted(analyses.registry())
    planned = []
    for name in names:
        chosen = analyses.get(name)
        options = chosen.options({}, settings)
        planned.append(Planned(chosen, options, chosen.sample_fps(options)))
    info = probe(args.video)
    inference = Inference(settings.models_dir, settings.device, settings.cpu_threads)
    warm = _run(args.video, planned, inference, settings, min(info.duration_millis, 1000))  # loads every model
    del warm
    rounds = []
    for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
        combined = _run(args.video, planned, inference, settings, info.duration_millis)
        separate = [_run(args.video, [p], inference, settings, info.duration_millis) for p in planned]
        rounds.append((combined, separate, sum(s["wall_seconds"] for s in separate)))
    rounds.sort(key=lambda r: r[2] / r[0]["wall_seconds"])
    combined, separate, total = rounds[len(rounds) // 2]
    report = {"video": args.video.name, "video_seconds": info.duration_millis / 1000, "combined": combined,
              "separate": separate, "separate_total_seconds": total,
              "speedup_combined_vs_separate": total / combined["wall_seconds"],
              "decode_passes_combined": combined["decode_passes"],
              "decode_passes_separate": sum(s["decode_passes"] for s in separate)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
