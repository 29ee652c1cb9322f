"""Hostile input against a running service (web, worker, dispatcher over real sockets, videos in
a local bucket root): malformed and hostile videos, names and requests each get a clear error in
Rekognition's shape, or a FAILED job whose StatusMessage says why, and the service stays healthy.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import REPO, free_port, stack_environ, stop_processes
from tests.e2e.conftest import TENANT_A, TENANT_B, _wait_http

pytestmark = pytest.mark.e2e

BUCKET = "hostile"
MAX_VIDEO_BYTES = 5 * 1024 * 1024


class Service:
    def __init__(self, url: str, root: Path, procs: dict[str, subprocess.Popen]):
        self.url, self.root, self.procs = url, root, procs

    def post(self, operation: str | None, payload: bytes, *, key=TENANT_A, sign: bool = True,
             signed_body: bytes | None = None, extra: dict | None = None, when: dt.datetime | None = None):
        """(status, JSON body) of a raw POST; signed over `signed_body` (default: the payload)."""
        headers = {"Content-Type": "application/x-amz-json-1.1", **(extra or {})}
        if operation:
            headers["X-Amz-Target"] = f"RekognitionService.{operation}"
        if sign:
            request = AWSRequest(method="POST", url=self.url + "/", headers=headers,
                                 data=payload if signed_body is None else signed_body)
            signer = SigV4Auth(Credentials(*key), "rekognition", "us-east-1")
            request.context["timestamp"] = (when or dt.datetime.now(dt.UTC)).strftime(SIGV4_TIMESTAMP)
            signer._modify_request_before_signing(request)
            canonical = signer.canonical_request(request)
            signer._inject_signature_to_request(request, signer.signature(signer.string_to_sign(request, canonical),
                                                                           request))
            headers = dict(request.headers.items())
        request = urllib.request.Request(self.url + "/", data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def call(self, operation: str, params: dict, **kwargs):
        return self.post(operation, json.dumps(params).encode(), **kwargs)

    def healthy(self) -> bool:
        with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
            return response.status == 200 and all(p.poll() is None for p in self.procs.values())


@pytest.fixture(scope="module")
def service(tmp_path_factory, postgres, redis_server, models_dir) -> Service:
    work = tmp_path_factory.mktemp("hostile")
    root = work / "buckets"
    (root / BUCKET).mkdir(parents=True)
    logs = work / "logs"
    logs.mkdir()
    db_url = postgres.database("framewise_hostile")
    port = free_port()
    env = {
        **stack_environ(),
        "FRAMEWISE_DATA_DIR": str(work / "data"), "FRAMEWISE_DATABASE_URL": db_url,
        "FRAMEWISE_BROKER_URL": f"{redis_server}/11", "FRAMEWISE_REDIS_URL": f"{redis_server}/11",
        "FRAMEWISE_MODELS_DIR": str(models_dir), "FRAMEWISE_BUCKET_ROOT": str(root),
        "FRAMEWISE_CREDENTIALS": f"{TENANT_A[0]}:{TENANT_A[1]},{TENANT_B[0]}:{TENANT_B[1]}",
        "FRAMEWISE_SECRET_KEY": secrets.token_hex(32), "FRAMEWISE_MAX_VIDEO_BYTES": str(MAX_VIDEO_BYTES),
        "FRAMEWISE_MAX_CONCURRENT_JOBS": "50", "PYTHONUNBUFFERED": "1",
    }
    import redis as redis_lib

    redis_lib.Redis.from_url(f"{redis_server}/11").flushdb()
    procs: dict[str, subprocess.Popen] = {}

    def spawn(name: str, args: list[str]) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115
        procs[name] = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    try:
        subprocess.run([sys.executable, "-m", "jobs.cli", "migrate"], cwd=REPO, env=env, check=True)
        spawn("web", [sys.executable, "-m", "jobs.cli", "web", "--port", str(port)])
        spawn("worker", [sys.executable, "-m", "celery", "-A", "jobs", "worker", "-Q", "framewise.gpu,framewise.io",
                         "--pool", "prefork", "--concurrency", "1", "--without-gossip", "--without-mingle",
                         "-n", f"hostile-{secrets.token_hex(3)}@%h"])
        spawn("dispatcher", [sys.executable, "-m", "jobs.cli", "dispatcher", "--interval", "2"])
        _wait_http(f"http://127.0.0.1:{port}/healthz", list(procs.values()), timeout=180)
        yield Service(f"http://127.0.0.1:{port}", root, procs)
    finally:
        stop_processes(procs.values())
        postgres.drop(db_url)


# --- hostile videos ------------------------------------------------------------------------

def _encode(path: Path, codec: str, size: tuple[int, int], frames: list[tuple[int, np.ndarray]],
            rate: int = 10, time_base: Fraction | None = None) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if time_base:
            stream.time_base = time_base
        for pts, pixels in frames:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            if time_base:
                frame.pts, frame.time_base = pts, time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _absurd_frame_count(path: Path) -> None:
    """An AVI whose headers state a billion frames; the stream has ten."""
    _encode(path, "mjpeg", (64, 64), [(i, np.full((64, 64, 3), i * 20, np.uint8)) for i in range(10)])
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.index(b"avih") + 8 + 16, 1_000_000_000)
    struct.pack_into("<I", data, data.index(b"strh") + 8 + 32, 1_000_000_000)
    path.write_bytes(bytes(data))


def _seven_hours(path: Path) -> None:
    """Two frames seven hours apart: tiny file, duration over the six-hour limit."""
    black = np.zeros((64, 64, 3), np.uint8)
    _encode(path, "mjpeg", (64, 64), [(0, black), (7 * 3600 * 1000, black)], rate=1, time_base=Fraction(1, 1000))


# name -> (make(path, photo_video), expected StatusMessage fragment)
FAILING_VIDEOS = {
    "zero-byte.mp4": (lambda p, v: p.write_bytes(b""), "empty"),
    "truncated.mp4": (lambda p, v: p.write_bytes(v.read_bytes()[: v.stat().st_size // 3]), ""),
    "random-bytes.mp4": (lambda p, v: p.write_bytes(secrets.token_bytes(200_000)), "not a video"),
    "text.mp4": (lambda p, v: p.write_text("this is not a video\n" * 100), "not a video"),
    "audio-only.mp4": (lambda p, v: _audio_only(p), "no video stream"),
    "absurd-frame-count.avi": (lambda p, v: _absurd_frame_count(p), "truncated"),
    "seven-hours.mkv": (lambda p, v: _seven_hours(p), "maximum"),
    "header-only.mp4": (lambda p, v: p.write_bytes(v.read_bytes()[:4096]), ""),
    "garbage-after-header.mp4": (lambda p, v: p.write_bytes(v.read_bytes()[:64] + bytes(100_000)), ""),
}


@pytest.fixture(scope="module")
def failed_jobs(service, photo_video) -> dict[str, dict]:
    """Start every failing video at once, then wait for them all."""
    jobs = {}
    for name, (make, _) in FAILING_VIDEOS.items():
        make(service.root / BUCKET / name, photo_video)
        status, body = service.call("StartLabelDetection", {"Video": {"S3Object": {"Bucket": BUCKET, "Name": name}}})
        assert status == 200, (name, body)
        jobs[name] = body["JobId"]
    finals: dict[str, dict] = {}
    deadline = time.monotonic() + 240
    while len(finals) < len(jobs) and time.monotonic() < deadline:
        for name, job_id in jobs.items():
            if name not in finals:
                _, body = service.call("GetLabelDetection", {"JobId": job_id})
                if body.get("JobStatus") != "IN_PROGRESS":
                    finals[name] = body
        time.sleep(1)
    assert len(finals) == len(jobs), f"still running: {set(jobs) - set(finals)}"
    return finals


@pytest.mark.parametrize("name", list(FAILING_VIDEOS))
def test_a_hostile_video_fails_with_a_reason(service, failed_jobs, name):
    body = failed_jobs[name]
    assert body["JobStatus"] == "FAILED", body
    message = body["StatusMessage"]
    assert FAILING_VIDEOS[name][1] in message, message
    assert "Traceback" not in message and "Error:" not in message and str(service.root) not in message
    assert service.healthy()


def test_gigantic_dimensions_are_analysed_downscaled(service):
    name = "gigantic-8192x8192.avi"
    _encode(service.root / BUCKET / name, "mjpeg", (8192, 8192), [(0, np.zeros((8192, 8192, 3), np.uint8))], rate=1)
    status, body = service.call("StartLabelDetection", {"Video": {"S3Object": {"Bucket": BUCKET, "Name": name}}})
    assert status == 200, body
    deadline = time.monotonic() + 180
    while (answer := service.call("GetLabelDetection", {"JobId": body["JobId"]})[1])["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(1)
    assert answer["JobStatus"] == "SUCCEEDED", answer
    assert answer["VideoMetadata"]["FrameWidth"] == 8192
    assert service.healthy()


# --- hostile names ---------------------------------------------------------------------------

def _prepare_names(root: Path) -> None:
    bucket = root / BUCKET
    outside = root.parent / "outside.mp4"
    outside.write_bytes(b"secret")
    for link, target in (("escape.mp4", outside), ("to-dev-zero.mp4", Path("/dev/zero")),
                         ("to-etc.mp4", Path("/etc/hostname"))):
        if not (bucket / link).is_symlink():
            (bucket / link).symlink_to(target)
    (bucket / "a-directory.mp4").mkdir(exist_ok=True)
    if not (bucket / "fifo.mp4").exists():
        os.mkfifo(bucket / "fifo.mp4")
    big = bucket / "too-big.mp4"
    with big.open("wb") as out:
        out.truncate(MAX_VIDEO_BYTES + 1)  # sparse
    (bucket / os.fsdecode(b"non-utf8-\xff.mp4")).write_bytes(b"x")


HOSTILE_STARTS = [
    ("symlink out of the bucket root", {"Bucket": BUCKET, "Name": "escape.mp4"}, "InvalidS3ObjectException"),
    ("symlink to /dev/zero", {"Bucket": BUCKET, "Name": "to-dev-zero.mp4"}, "InvalidS3ObjectException"),
    ("symlink to /etc", {"Bucket": BUCKET, "Name": "to-etc.mp4"}, "InvalidS3ObjectException"),
    ("a directory", {"Bucket": BUCKET, "Name": "a-directory.mp4"}, "InvalidS3ObjectException"),
    ("a FIFO", {"Bucket": BUCKET, "Name": "fifo.mp4"}, "InvalidS3ObjectException"),
    ("dot-dot path", {"Bucket": BUCKET, "Name": "../hostile/escape.mp4"}, "InvalidS3ObjectException"),
    ("absolute path", {"Bucket": BUCKET, "Name": "/etc/passwd"}, "InvalidS3ObjectException"),
    ("bucket ..", {"Bucket": "..", "Name": "etc/passwd"}, "InvalidParameterException"),
    ("non-UTF-8 name (surrogate escape)", {"Bucket": BUCKET, "Name": "non-utf8-\udcff.mp4"},
     "InvalidS3ObjectException"),
    ("NUL in the name", {"Bucket": BUCKET, "Name": "a\u0000.mp4"}, "InvalidS3ObjectException"),
    ("300-character name", {"Bucket": BUCKET, "Name": "n" * 300 + ".mp4"}, "InvalidS3ObjectException"),
    ("over the size limit", {"Bucket": BUCKET, "Name": "too-big.mp4"}, "VideoTooLargeException"),
    ("missing object", {"Bucket": BUCKET, "Name": "nothing-here.mp4"}, "InvalidS3ObjectException"),
    ("object versions", {"Bucket": BUCKET, "Name": "escape.mp4", "Version": "1"}, "InvalidS3ObjectException"),
]


@pytest.mark.parametrize("case, s3, code", HOSTILE_STARTS, ids=[c[0] for c in HOSTILE_STARTS])
def test_a_hostile_name_is_refused_at_start(service, case, s3, code):
    _prepare_names(service.root)
    status, body = service.call("StartLabelDetection", {"Video": {"S3Object": s3}})
    assert (status, body.get("__type")) == (400, code), body
    assert body["Message"] == body["message"] and "Traceback" not in body["Message"]
    assert service.healthy()


# --- hostile requests --------------------------------------------------------------------------

GET = "GetLabelDetection"
START = "StartLabelDetection"
VIDEO = b'{"Video": {"S3Object": {"Bucket": "hostile", "Name": "v.mp4"}}'


def _stale(service):
    return service.post(GET, b'{"JobId": "' + b"0" * 64 + b'"}', when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20))


def _future(service):
    return service.post(GET, b'{"JobId": "' + b"0" * 64 + b'"}', when=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20))


def _replayed_with_another_body(service):
    return service.post(START, VIDEO + b', "JobTag": "evil"}', signed_body=VIDEO + b"}")


def _unsigned_payload(service):
    return service.post(START, VIDEO + b', "JobTag": "evil"}', signed_body=VIDEO + b"}",
                        extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})


def _other_tenants_job(service):
    _status, body = service.call(START, {"Video": {"S3Object": {"Bucket": BUCKET, "Name": "zero-byte.mp4"}}})
    return service.call(GET, {"JobId": body["JobId"]}, key=TENANT_B)


HOSTILE_REQUESTS = [
    ("10 MB JSON body", lambda s: s.post(START, b'{"JobTag": "' + b"a" * (10 * 1024**2) + b'"}'),
     413, "SerializationException"),
    ("10 MB unsigned body", lambda s: s.post(START, b" " * (10 * 1024**2), sign=False),
     403, "MissingAuthenticationTokenException"),
    ("JSON nested 100,000 deep", lambda s: s.post(START, b"[" * 100_000 + b"]" * 100_000),
     400, "SerializationException"),
    ("JSON nested 5,000 deep in a member", lambda s: s.post(START, VIDEO + b', "x": ' + b"{\"a\":" * 5000 + b"1"
                                                            + b"}" * 5000 + b"}"), 400, "SerializationException"),
    ("NaN MinConfidence", lambda s: s.post(START, VIDEO + b', "MinConfidence": NaN}'), 400, "SerializationException"),
    ("1e999 MinConfidence", lambda s: s.post(START, VIDEO + b', "MinConfidence": 1e999}'),
     400, "InvalidParameterException"),
    ("true MinConfidence", lambda s: s.post(START, VIDEO + b', "MinConfidence": true}'),
     400, "InvalidParameterException"),
    ("not JSON", lambda s: s.post(START, b"\xff\xfe not json"), 400, "SerializationException"),
    ("a JSON array", lambda s: s.post(START, b"[1, 2]"), 400, "SerializationException"),
    ("stale signature (20 min)", _stale, 400, "InvalidSignatureException"),
    ("signature from the future", _future, 400, "InvalidSignatureException"),
    ("replayed signature, other body", _replayed_with_another_body, 400, "InvalidSignatureException"),
    ("UNSIGNED-PAYLOAD, other body", _unsigned_payload, 400, "InvalidSignatureException"),
    ("unknown access key", lambda s: s.call(GET, {"JobId": "0" * 64}, key=("AKIDNOBODY0000000000", "x")),
     400, "UnrecognizedClientException"),
    ("no signature", lambda s: s.call(GET, {"JobId": "0" * 64}, sign=False), 403, "MissingAuthenticationTokenException"),
    ("no X-Amz-Target", lambda s: s.post(None, b"{}"), 400, "UnknownOperationException"),
    ("unknown operation", lambda s: s.call("DeleteEverything", {}), 400, "UnknownOperationException"),
    ("malformed JobId", lambda s: s.call(GET, {"JobId": "../../etc"}), 400, "InvalidParameterException"),
    ("another tenant's job", _other_tenants_job, 400, "ResourceNotFoundException"),
    ("forged NextToken, unknown job", lambda s: s.call(GET, {"JobId": "0" * 64, "NextToken": "x" * 200}),
     400, "ResourceNotFoundException"),
    ("MaxResults 0", lambda s: s.call(GET, {"JobId": "0" * 64, "MaxResults": 0}), 400, "InvalidParameterException"),
    ("JobTag with spaces and quotes", lambda s: s.post(START, VIDEO + b', "JobTag": "a b\\"c"}'),
     400, "InvalidParameterException"),
    ("ClientRequestToken of 100 characters", lambda s: s.post(START, VIDEO + b', "ClientRequestToken": "'
                                                              + b"t" * 100 + b'"}'), 400, "InvalidParameterException"),
    ("NUL in a topic ARN", lambda s: s.post(START, VIDEO + b', "NotificationChannel": {"SNSTopicArn": '
                                            b'"arn:aws:sns:us-east-1:123456789012:t\\u0000", "RoleArn": '
                                            b'"arn:aws:iam::123456789012:role/r"}}'), 400, "InvalidParameterException"),
]


@pytest.mark.parametrize("case, send, status, code", HOSTILE_REQUESTS, ids=[c[0] for c in HOSTILE_REQUESTS])
def test_a_hostile_request_gets_a_shaped_error(service, failed_jobs, case, send, status, code):
    got_status, body = send(service)
    assert (got_status, body.get("__type")) == (status, code), body
    assert body["Message"] == body["message"]
    assert service.healthy()


def test_the_service_still_works_after_all_that(service, photo_video):
    (service.root / BUCKET / "fine.mp4").write_bytes(photo_video.read_bytes())
    status, body = service.call(START, {"Video": {"S3Object": {"Bucket": BUCKET, "Name": "fine.mp4"}}})
    assert status == 200, body
    deadline = time.monotonic() + 180
    while (answer := service.call(GET, {"JobId": body["JobId"]})[1])["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(1)
    assert answer["JobStatus"] == "SUCCEEDED", answer
    assert service.healthy()
