"""`framewise jobs watch`: poll a job over the REST API and draw its progress until it ends."""
from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

from tqdm import tqdm


def _status(url: str, key: str, job_id: str) -> dict:
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/jobs/{job_id}",
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def watch(url: str, key: str, job_id: str, *, interval: float = 1.0, out=None) -> int:
    """Exit status: 0 when the job SUCCEEDED, 1 when it failed or was cancelled, 2 when unknown."""
    out = out or sys.stderr
    try:
        job = _status(url, key, job_id)
    except urllib.error.HTTPError as error:
        print(f"framewise: {error.code} {error.read().decode(errors='replace')}", file=out)
        return 2
    bar = tqdm(total=100.0, unit="%", file=out, desc=job_id[:12],
               bar_format="{desc} {bar} {n:.0f}% [{elapsed}<{remaining}] {postfix}")
    with bar:
        while True:
            progress = job["progress"]
            bar.n = progress["percent"]
            eta = progress["eta_seconds"]
            bar.set_postfix_str(f"{job['status']} {progress['frames_done']}/{progress['frames_total']} frames"
                                + (f", ETA {eta:.0f} s" if eta is not None else ""))
            bar.refresh()
            if job["job_status"] != "IN_PROGRESS":
                break
            time.sleep(interval)
            job = _status(url, key, job_id)
    if job["status_message"]:
        print(job["status_message"], file=out)
    return 0 if job["job_status"] == "SUCCEEDED" else 1
