"""`framewise demo`: the whole service on embedded defaults, one real job, a readable summary."""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from jobs.cli import Stack, standalone_env

DEMO_BUCKET = "framewise-demo"


def _summary(labels: list[dict]) -> str:
    lines = []
    for item in sorted(labels, key=lambda i: (i["StartTimestampMillis"], i["Label"]["Name"])):
        label = item["Label"]
        parents = ", ".join(p["Name"] for p in label.get("Parents", []))
        lines.append(f"  {item['StartTimestampMillis'] / 1000:6.1f}s – {item['EndTimestampMillis'] / 1000:6.1f}s  "
                     f"{label['Name']:<16} {label['Confidence']:5.1f}%" + (f"  (in: {parents})" if parents else ""))
    return "\n".join(lines) or "  (nothing found)"


def run_demo(video: str | None, port: int) -> None:
    import boto3

    env = standalone_env(port)
    bucket_dir = Path(env["FRAMEWISE_BUCKET_ROOT"]) / DEMO_BUCKET
    bucket_dir.mkdir(parents=True, exist_ok=True)
    if video:
        name = Path(video).name
        shutil.copyfile(video, bucket_dir / name)
    else:
        from jobs.samples import write_photo_video

        name = "photos.mp4"
        with tempfile.TemporaryDirectory() as tmp:
            write_photo_video(Path(tmp) / name)
            shutil.copyfile(Path(tmp) / name, bucket_dir / name)
        print("Built a 9 s sample video from scikit-image's photos: an astronaut, a motorcycle, a cup of coffee.")

    print(f"Starting Framewise (web + worker + dispatcher) on embedded defaults, port {port}…", flush=True)
    stack = Stack(port, env, quiet=True)
    try:
        stack.wait_ready()
        akid, secret = env["FRAMEWISE_CREDENTIALS"].split(",")[0].split(":", 1)
        client = boto3.client("rekognition", endpoint_url=stack.url, region_name="us-east-1",
                              aws_access_key_id=akid, aws_secret_access_key=secret)
        started = time.monotonic()
        # Rekognition's defaults (MinConfidence 50), as a user's first call would be.
        job_id = client.start_label_detection(Video={"S3Object": {"Bucket": DEMO_BUCKET, "Name": name}})["JobId"]
        print(f"StartLabelDetection → JobId {job_id[:16]}…", flush=True)
        while True:
            result = client.get_label_detection(JobId=job_id, AggregateBy="SEGMENTS")
            if result["JobStatus"] != "IN_PROGRESS":
                break
            time.sleep(1)
        elapsed = time.monotonic() - started
        if result["JobStatus"] == "FAILED":
            print(f"The job FAILED: {result.get('StatusMessage')}")
            sys.exit(1)
        labels = result.get("Labels", [])
        while "NextToken" in result:
            result = client.get_label_detection(JobId=job_id, AggregateBy="SEGMENTS", NextToken=result["NextToken"])
            labels += result.get("Labels", [])
        meta = result["VideoMetadata"]
        print(f"SUCCEEDED in {elapsed:.1f} s — {meta['DurationMillis'] / 1000:.1f} s of {meta['Codec']} "
              f"{meta['FrameWidth']}x{meta['FrameHeight']} @ {meta['FrameRate']:.2f} fps, "
              f"model {result.get('LabelModelVersion')}")
        print("Labels (continuous segments):")
        print(_summary(labels))
    finally:
        stack.stop()
