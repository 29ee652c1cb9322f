"""Settings, read once from the environment (prefix FRAMEWISE_). No other module reads os.environ.

With no database or broker configured, Framewise runs on its embedded defaults: a PostgreSQL
(with pgvector) and a Redis that `framewise standalone` starts inside FRAMEWISE_DATA_DIR and
reaches over unix sockets (jobs/embedded.py). Production points both URLs at its own servers.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "framewise"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAMEWISE_", extra="ignore", frozen=True)

    # --- where state lives -------------------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: Path("var").resolve(),
                           description="Embedded-mode state: PostgreSQL and Redis data, video cache, logs.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset = the embedded PostgreSQL.")
    broker_url: str | None = Field(None, description="Celery broker URL; unset = the embedded Redis.")
    redis_url: str | None = Field(None, description="Redis for notices (PUBLISH + XADD) and image replies; "
                                                     "unset = the broker when it is Redis.")
    models_dir: Path = Field(default_factory=lambda: _default_cache_dir() / "models")

    # --- who may call ---------------------------------------------------------------------
    # "AKID:secret" pairs, comma separated. Each access key id is one tenant (account).
    credentials: str = ""
    # Signs NextToken cursors; generated per process when unset (tokens then die with it).
    secret_key: str = Field(default_factory=lambda: os.urandom(32).hex())
    region: str = "us-east-1"
    # Set by `framewise standalone` on its children, echoed by /healthz: its readiness check
    # then knows it reached its own web, not another process on the port.
    instance: str | None = None

    # --- storage ------------------------------------------------------------------------
    bucket_root: Path | None = Field(None, description="Local buckets: <root>/<Bucket>/<Name>.")
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"

    # --- notifications -----------------------------------------------------------------
    notify_channel: str = "framewise:jobs"
    notify_stream: str = "framewise:jobs:stream"
    notify_stream_maxlen: int = 100_000
    # Every job event (started, progress milestones, ended), as webhooks get them, for Redis consumers.
    events_channel: str = "framewise:events"
    events_stream: str = "framewise:events:stream"
    sns_endpoint_url: str | None = None
    sns_access_key_id: str | None = None  # unset: boto3's own chain (environment, profile, instance role)
    sns_secret_access_key: str | None = None
    sns_region: str | None = None
    # Webhooks: exponential backoff with full jitter from `backoff` up to `backoff_max` seconds,
    # retried for `retry_hours`; targets must be public addresses unless a network is allowed here.
    webhook_backoff_seconds: float = Field(5.0, gt=0)
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0)
    webhook_retry_hours: float = Field(72.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_allow_networks: str = Field("", description="CIDRs webhooks may reach although not public, "
                                                        "e.g. 127.0.0.0/8 for a receiver on this host.")
    # REST uploads land here (a bucket under the bucket root, or on the S3 endpoint).
    upload_bucket: str = "framewise-uploads"

    # --- analysis ----------------------------------------------------------------------
    sample_fps: float = Field(2.0, gt=0, le=60)
    chunk_seconds: float = Field(120.0, gt=0)
    batch_size: int = Field(8, ge=1, le=256)
    decoder: str = "pyav"  # jobs.decode.DEFAULT_BACKEND; the benchmark decides, "decord" stays supported
    decode_max_side: int | None = Field(1280, ge=64, description="Downscale frames on decode.")
    device: str | None = None  # "cpu", "cuda", "cuda:1"; unset = cuda when present
    # The ImageNet classifier beside the COCO detector for labels: EfficientNet-Lite3 is the
    # better labeller (F1 0.70 vs 0.57 on the label set) but runs on the CPU only, one image per
    # call; MobileNetV2 batches on a GPU. Pinned on each job when it starts.
    label_classifier: str = Field("efficientnet-lite3-imagenet",
                                  pattern="^(efficientnet-lite3-imagenet|mobilenet-v2-imagenet)$")
    cpu_threads: int = Field(1, ge=0, description="CPU threads per worker process for models; 0 = one per core.")
    # From S3, a chunk decodes its span in place by range requests (no copy of the whole video on
    # each host); off, each host downloads the video once into its cache and reads it from disk.
    chunk_range_reads: bool = True
    video_cache_gb: float = Field(50.0, gt=0, description="Bound on each host's cache of downloaded videos; "
                                                           "least recently used are evicted beyond it.")
    max_request_bytes: int = Field(8 * 1024**2, ge=1024, description="Largest request body (DetectLabels' 5 MB "
                                                                      "image is 6.7 MB in base64).")
    image_timeout_seconds: float = Field(30.0, gt=0, description="How long an image call waits for a worker.")

    # --- Rekognition limits ----------------------------------------------------------------
    max_concurrent_jobs: int = Field(20, ge=1)
    max_video_bytes: int = 10 * 1024**3
    max_video_seconds: float = 6 * 3600
    results_ttl_days: float = 7
    client_token_ttl_days: float = 7
    next_token_ttl_hours: float = 24

    # --- task robustness ---------------------------------------------------------------
    task_soft_time_limit: int = 600
    task_time_limit: int = 660
    max_chunk_attempts: int = 3
    stale_job_minutes: float = 30
    # A waiting job or chunk whose queue is empty this long has lost its message: re-send it.
    resend_after_seconds: float = Field(30, ge=0)

    @field_validator("decoder")
    @classmethod
    def _known_decoder(cls, value: str) -> str:
        if value not in ("pyav", "decord"):
            raise ValueError("decoder must be 'pyav' or 'decord'")
        return value

    @field_validator("credentials")
    @classmethod
    def _pairs(cls, value: str) -> str:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            if ":" not in pair:
                raise ValueError("credentials must be AKID:secret pairs separated by commas")
        return value

    @property
    def credential_map(self) -> dict[str, str]:
        pairs = (p.strip().split(":", 1) for p in self.credentials.split(",") if p.strip())
        return {akid: secret for akid, secret in pairs}

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        from jobs.embedded import embedded_database_url

        return embedded_database_url(self.data_dir)

    @property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        from jobs.embedded import embedded_redis_url

        return embedded_redis_url(self.data_dir, for_celery=True)

    @property
    def resolved_redis_url(self) -> str | None:
        """Where notices go and image replies come back: REDIS_URL, else a Redis broker."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url is None:
            from jobs.embedded import embedded_redis_url

            return embedded_redis_url(self.data_dir)
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None

    @property
    def video_cache_max_bytes(self) -> int:
        return int(self.video_cache_gb * 1024**3)

    @property
    def video_cache_dir(self) -> Path:
        return self.data_dir / "videos"


@functools.cache
def get_settings() -> Settings:
    return Settings()
