"""The ORM records: jobs, their chunks, their results, and the notification outbox."""
from __future__ import annotations

import datetime as dt
import enum
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are reproducible on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend (SQLite stores datetimes without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.astimezone(dt.UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dt.datetime: UTCDateTime()}


class Phase(enum.StrEnum):
    """Internal phases; Rekognition only sees IN_PROGRESS, SUCCEEDED or FAILED."""

    QUEUED = "queued"
    PROBING = "probing"
    ANALYZING = "analyzing"
    FINALIZING = "finalizing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)

    @property
    def job_status(self) -> str:
        if self is Phase.SUCCEEDED:
            return "SUCCEEDED"
        if self in (Phase.FAILED, Phase.CANCELLED):
            return "FAILED"
        return "IN_PROGRESS"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # ClientRequestToken idempotency is per (account, Start operation, token).
        UniqueConstraint("account", "operation", "client_token", name="uq_jobs_client_token"),
        Index("ix_jobs_account_phase", "account", "phase"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(128))
    operation: Mapped[str] = mapped_column(String(64))  # e.g. "StartLabelDetection"
    phase: Mapped[str] = mapped_column(String(16), default=Phase.QUEUED.value)
    status_message: Mapped[str | None] = mapped_column(Text)
    client_token: Mapped[str | None] = mapped_column(String(64))
    params_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)  # the Start request as received, less the token
    video_bucket: Mapped[str] = mapped_column(String(255))
    video_name: Mapped[str] = mapped_column(String(1024))
    video_version: Mapped[str | None] = mapped_column(String(1024))
    job_tag: Mapped[str | None] = mapped_column(String(1024))
    video_metadata: Mapped[dict | None] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(128))
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)


class Chunk(Base):
    """A slice of a job's video, analysed by one short, idempotent task."""

    __tablename__ = "chunks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_millis: Mapped[int] = mapped_column(BigInteger)
    end_millis: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(255))  # "host:pid" of the worker running it
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LabelDetection(Base):
    """One label seen at one sampled timestamp, stored as the wire `Label` object."""

    __tablename__ = "label_detections"
    __table_args__ = (
        ForeignKeyConstraint(["job_id", "chunk_index"], ["chunks.job_id", "chunks.index"], ondelete="CASCADE"),
        # Keyset pagination orders, one index each.
        Index("ix_label_detections_by_time", "job_id", "timestamp_millis", "id"),
        Index("ix_label_detections_by_name", "job_id", "name", "confidence", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64))
    chunk_index: Mapped[int] = mapped_column(Integer)
    timestamp_millis: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float)
    label: Mapped[dict] = mapped_column(JSON)


class OutboxEvent(Base):
    """A notification written in the same transaction as the status change it announces.

    One row per (event, channel), so a slow webhook never holds back the Redis notice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_outbox_event_channel"),
        Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))  # consumers dedupe on this
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(2048))  # "redis" | "sns:<arn>"
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
