"""Faces per second on this machine: detection + identity, and with every attribute.

    python benchmarks/bench_faces.py [--frames 60] [--video PATH]

Decodes sampled frames of a real clip once (not timed), then times FacePipeline.run frame by
frame: YuNet alone, YuNet + SFace (what face search and collections need), and YuNet + SFace
+ faceres + emotion with FaceAttributes=ALL (what GetFaceDetection ALL needs). Prints ms per
frame, ms per face and faces per second for each.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "faces" / "short_hamilton_clip.mp4"


def frames(video: Path, count: int) -> list:
    import av

    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    step = max(1, len(decoded) // count)
    return decoded[::step][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    from jobs.settings import Settings
    from models.face_detail import requested
    from models.face_pipeline import FacePipeline
    from models.registry import load

    directory = Settings().models_dir
    detector, embedder = load("yunet-face", directory), load("sface", directory)
    faceres, emotion = load("human-faceres", directory), load("human-emotion", directory)
    images = frames(args.video, args.frames)
    modes = {
        "detect": (FacePipeline(detector), frozenset()),
        "detect+embed": (FacePipeline(detector, embedder), frozenset()),
        "detect+embed+ALL": (FacePipeline(detector, embedder, faceres, emotion), requested(["ALL"])),
    }
    print(f"{len(images)} frames {images[0].shape[1]}x{images[0].shape[0]} from {args.video.name}")
    print(f"{'mode':<18}{'faces':>7}{'ms/frame':>10}{'ms/face':>9}{'faces/s':>9}")
    for name, (pipeline, extras) in modes.items():
        pipeline.run(images[:2], extras)  # warm-up: lazy loads, first-call allocations
        started = time.perf_counter()
        faces = sum(len(found) for image in images for found in pipeline.run([image], extras))
        wall = time.perf_counter() - started
        print(f"{name:<18}{faces:>7}{1000 * wall / len(images):>10.1f}{1000 * wall / max(faces, 1):>9.1f}"
              f"{faces / wall:>9.1f}")


if __name__ == "__main__":
    main()
