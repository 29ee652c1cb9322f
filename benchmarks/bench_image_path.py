"""What the synchronous image path adds over the bare model call, and how many calls a second it serves.

    python benchmarks/bench_image_path.py [--calls 200] [--clients 4]

Starts `framewise standalone` on embedded defaults (web, image worker, Redis), then times
DetectLabels from an unmodified boto3 client over HTTP on a real photo, against the bare model call
(the same worker-side function on the same image, in this process) measured in the same run.
Reports p50/p99 of both and of their difference (the path's added latency: HTTP, SigV4, validation,
the Celery round trip through Redis, image decoding), and calls per second with --clients threads.
"""
from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _photo() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bare_model(image: bytes, calls: int) -> list[float]:
    """The worker-side function alone (decode + model + label shaping), no transport."""
    from jobs import images
    from jobs.engine import Inference
    from jobs.settings import get_settings

    inference = Inference(get_settings().models_dir, get_settings().device, get_settings().cpu_threads)
    payload = {"Image": {"bytes": base64.b64encode(image).decode()}}
    images.run("DetectLabels", {}, payload, inference)  # load the model
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        images.run("DetectLabels", {}, payload, inference)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    import os

    import boto3

    from jobs.cli import Stack, standalone_env
    from tests.conftest import free_port

    image = _photo()
    bare = bare_model(image, args.calls)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FRAMEWISE_DATA_DIR"] = tmp
        env = {k: v for k, v in standalone_env(free_port()).items()
               if k not in ("FRAMEWISE_DATABASE_URL", "FRAMEWISE_BROKER_URL", "FRAMEWISE_REDIS_URL")}
        stack = Stack(free_port(), env, quiet=True)
        try:
            stack.wait_ready()
            akid, secret = env["FRAMEWISE_CREDENTIALS"].split(",")[0].split(":", 1)

            def client():
                return boto3.client("rekognition", endpoint_url=stack.url, region_name="us-east-1",
                                    aws_access_key_id=akid, aws_secret_access_key=secret)

            rekognition = client()
            for _ in range(5):  # warm: the image worker loads its model on the first call
                rekognition.detect_labels(Image={"Bytes": image})
            served = []
            for _ in range(args.calls):
                started = time.perf_counter()
                rekognition.detect_labels(Image={"Bytes": image})
                served.append(time.perf_counter() - started)

            done = []
            lock = threading.Lock()

            def hammer(count: int) -> None:
                mine = client()
                for _ in range(count):
                    mine.detect_labels(Image={"Bytes": image})
                    with lock:
                        done.append(1)

            threads = [threading.Thread(target=hammer, args=(args.calls // args.clients,)) for _ in range(args.clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            throughput = len(done) / (time.perf_counter() - started)
        finally:
            stack.stop()

    def ms(values: list[float], q: float) -> float:
        return _percentile(values, q) * 1000

    added_p50 = ms(served, 50) - ms(bare, 50)
    added_p99 = ms(served, 99) - ms(bare, 99)
    print(f"| path | p50 | p99 |\n|---|---|---|\n"
          f"| bare model call (in process) | {ms(bare, 50):.1f} ms | {ms(bare, 99):.1f} ms |\n"
          f"| DetectLabels over HTTP (boto3 -> web -> Redis -> image worker) | {ms(served, 50):.1f} ms | "
          f"{ms(served, 99):.1f} ms |\n| added by the path | {added_p50:.1f} ms | {added_p99:.1f} ms |")
    print(f"\n{throughput:.1f} image calls/s with {args.clients} concurrent clients "
          f"(one image worker process; bare model alone: {1 / statistics.median(bare):.1f} calls/s)")


if __name__ == "__main__":
    main()
