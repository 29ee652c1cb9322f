"""The ORM records: jobs, the analyses each runs, their chunks, their results, the outbox.

PostgreSQL only (the embedded default runs a real PostgreSQL too): JSONB for documents, row-value
keyset pagination over the results indexes.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import ClassVar

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations are reproducible.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dt.datetime: DateTime(timezone=True), dict: JSONB, list: JSONB}


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
        Index("ix_jobs_account_created", "account", "created_at", "id"),  # REST job listing, newest first
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(128))
    operation: Mapped[str] = mapped_column(String(64))  # e.g. "StartLabelDetection"
    phase: Mapped[str] = mapped_column(String(16), default=Phase.QUEUED.value)
    status_message: Mapped[str | None] = mapped_column(Text)
    client_token: Mapped[str | None] = mapped_column(String(64))
    params_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict]  # the Start request as received, less the token
    video_bucket: Mapped[str] = mapped_column(String(255))
    video_name: Mapped[str] = mapped_column(String(1024))
    video_version: Mapped[str | None] = mapped_column(String(1024))
    job_tag: Mapped[str | None] = mapped_column(String(1024))
    video_metadata: Mapped[dict | None]
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    plan_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # probes begun
    started_at: Mapped[dt.datetime | None]  # when analysis began (after probing): the ETA's clock
    resubmitted_from: Mapped[str | None] = mapped_column(String(64))  # the failed/cancelled job this reruns
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]
    analyses: Mapped[list[JobAnalysis]] = relationship(lazy="selectin", order_by="JobAnalysis.analysis",
                                                        cascade="all, delete-orphan", passive_deletes=True)

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)

    def analysis(self, name: str) -> JobAnalysis | None:
        return next((a for a in self.analyses if a.analysis == name), None)


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
    decodes: Mapped[int] = mapped_column(Integer, default=0)  # decode passes over this span, all attempts
    claimed_by: Mapped[str | None] = mapped_column(String(255))  # "host:pid" of the worker running it
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobAnalysis(Base):
    """One analysis a job runs, with the options and model versions pinned when it started.

    A Rekognition Start* call makes a job with one; a REST job may ask for several, which share
    one decode of each chunk."""

    __tablename__ = "job_analyses"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    analysis: Mapped[str] = mapped_column(String(32), primary_key=True)  # jobs.analyses registry key
    options: Mapped[dict]  # what jobs.analyses.<name>.options() made of the request, never re-read
    sample_fps: Mapped[float | None] = mapped_column(Float)  # None: every frame
    model_versions: Mapped[dict]  # model name -> version, as run


class AdminUser(Base):
    """An operator who may log in to the admin pages (web/admin). Only a scrypt hash of the
    password is kept; `framewise admin create-user` makes one."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]


class Result(Base):
    """One result item of one analysis, stored as the wire item it becomes.

    Every Get* order is an index range scan: TIMESTAMP reads (timestamp_millis, id); NAME, INDEX
    and ID read (group_key, rank, id), where group_key is the label name, the zero-padded person
    index or the celebrity id and rank orders a group's items (100 - confidence: best first).
    Rows with chunk_index NULL were built once at finalize (AggregateBy=SEGMENTS, stitched tracks).
    """

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_by_time", "job_id", "analysis", "aggregate", "timestamp_millis", "id"),
        Index("ix_results_by_group", "job_id", "analysis", "aggregate", "group_key", "rank", "id"),
        Index("ix_results_chunk", "job_id", "chunk_index"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    analysis: Mapped[str] = mapped_column(String(32))
    chunk_index: Mapped[int | None] = mapped_column(Integer)
    aggregate: Mapped[str] = mapped_column(String(16), default="TIMESTAMPS")
    timestamp_millis: Mapped[int] = mapped_column(BigInteger)
    group_key: Mapped[str | None] = mapped_column(String(256))
    rank: Mapped[float] = mapped_column(Float, default=0.0)
    item: Mapped[dict]


class OutboxEvent(Base):
    """A notification written in the same transaction as the status change it announces.

    One row per (event, channel), so a slow webhook never holds back the Redis notice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_outbox_event_channel"),
        Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
        Index("ix_outbox_channel", "channel", "id"),  # a webhook endpoint's delivery log
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))  # consumers dedupe on this
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(2048))  # "redis" | "sns:<arn>" | "webhook:<endpoint id>"
    payload: Mapped[dict] = mapped_column(JSON)  # JSON, not JSONB: the message keeps AWS's key order
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]  # retries given up (a webhook still failing after its window)
    last_error: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------------------------------------
# Face collections and the celebrity gallery: identity vectors in pgvector columns.

FACE_VECTOR_DIMENSIONS = 128  # SFace


def _hnsw(name: str) -> Index:
    """An approximate nearest-neighbour index over a table's `embedding` by cosine distance
    (pgvector's `<=>`); searches re-rank its candidates exactly (jobs/face_index.py)."""
    return Index(name, "embedding", postgresql_using="hnsw", postgresql_with={"m": 16, "ef_construction": 64},
                 postgresql_ops={"embedding": "vector_cosine_ops"})


class FaceCollection(Base):
    """A tenant's face collection. `face_model_version` is the identity model its vectors came
    from; faces of another model are never mixed in."""

    __tablename__ = "face_collections"
    __table_args__ = (UniqueConstraint("account", "collection_id", name="uq_face_collections_account_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(128))
    collection_id: Mapped[str] = mapped_column(String(255))  # the user's CollectionId, case-sensitive
    face_model_version: Mapped[str] = mapped_column(String(64))
    face_count: Mapped[int] = mapped_column(BigInteger, default=0)  # kept by IndexFaces/DeleteFaces
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FaceUser(Base):
    """A user vector (CreateUser / AssociateFaces): several faces of one person in a collection,
    searched as one identity. `embedding` is the unit mean of its faces' vectors, NULL until a
    face is associated (HNSW skips NULLs)."""

    __tablename__ = "face_users"
    __table_args__ = (
        UniqueConstraint("collection_pk", "user_id", name="uq_face_users_collection_user"),
        _hnsw("ix_face_users_embedding"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    collection_pk: Mapped[int] = mapped_column(ForeignKey("face_collections.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(128))
    embedding: Mapped[list | None] = mapped_column(Vector(FACE_VECTOR_DIMENSIONS))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IndexedFace(Base):
    """One face IndexFaces stored: its identity vector and the `Face` record Rekognition returns."""

    __tablename__ = "indexed_faces"
    __table_args__ = (
        Index("ix_indexed_faces_collection", "collection_pk", "face_id"),
        _hnsw("ix_indexed_faces_embedding"),
    )

    face_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_pk: Mapped[int] = mapped_column(ForeignKey("face_collections.id", ondelete="CASCADE"))
    image_id: Mapped[str] = mapped_column(String(36))
    external_image_id: Mapped[str | None] = mapped_column(String(255))
    bounding_box: Mapped[dict]
    confidence: Mapped[float] = mapped_column(Float)
    embedding: Mapped[list] = mapped_column(Vector(FACE_VECTOR_DIMENSIONS))
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("face_users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Celebrity(Base):
    """A person of the operator-curated gallery (shared by every tenant; `framewise celebrities`)."""

    __tablename__ = "celebrities"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # Rekognition's Id: [0-9A-Za-z]
    name: Mapped[str] = mapped_column(String(255))
    urls: Mapped[list]
    known_gender: Mapped[str | None] = mapped_column(String(16))  # Male | Female | Nonbinary | Unlisted
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CelebrityFace(Base):
    """One reference photo's face of a gallery celebrity."""

    __tablename__ = "celebrity_faces"
    __table_args__ = (_hnsw("ix_celebrity_faces_embedding"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    celebrity_id: Mapped[str] = mapped_column(ForeignKey("celebrities.id", ondelete="CASCADE"), index=True)
    face_model_version: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[list] = mapped_column(Vector(FACE_VECTOR_DIMENSIONS))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
class ApiKey(Base):
    """A REST API key. Only its SHA-256 is kept; the key itself is shown once, at creation.

    Each key is a tenant, as an AWS access key id is: `account` is the tenant its jobs belong to."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public part, shown in listings
    account: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class WebhookEndpoint(Base):
    """Where a tenant wants its job events POSTed: every job of the tenant, or one job."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_account", "account"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))  # "whsec_" + base64: Standard Webhooks' format
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    description: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One try at delivering one outbox row to a webhook endpoint: the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_outbox", "outbox_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    attempted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_millis: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------------------------------------
# Custom Labels (jobs/custom_projects.py): a tenant's projects, their TRAIN/TEST datasets with
# one row per manifest line, and the versions trained from them (their files live in storage).


class CustomProject(Base):
    __tablename__ = "custom_projects"
    __table_args__ = (UniqueConstraint("account", "name", name="uq_custom_projects_account_name"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomDataset(Base):
    """A project's TRAIN or TEST dataset; `status_message` lists a bad manifest's errors by line."""

    __tablename__ = "custom_datasets"
    __table_args__ = (UniqueConstraint("project_pk", "dataset_type", name="uq_custom_datasets_project_type"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_pk: Mapped[int] = mapped_column(ForeignKey("custom_projects.id", ondelete="CASCADE"), index=True)
    dataset_type: Mapped[str] = mapped_column(String(8))  # TRAIN | TEST
    status: Mapped[str] = mapped_column(String(32))
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_message_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomDatasetEntry(Base):
    """One Ground Truth manifest line as imported (`entry`, the JSON object), with the label
    names it carries and how many boxes, for ListDatasetEntries/ListDatasetLabels and training."""

    __tablename__ = "custom_dataset_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset_pk: Mapped[int] = mapped_column(ForeignKey("custom_datasets.id", ondelete="CASCADE"), index=True)
    source_ref: Mapped[str] = mapped_column(Text)
    entry: Mapped[dict]
    labels: Mapped[list]  # label names, one per image-level label or box
    boxes: Mapped[int] = mapped_column(Integer, default=0)


class CustomProjectVersion(Base):
    """A trained (or training) model. Its weights, label map and evaluation summary are files
    under `output_bucket`/`output_prefix`; `evaluation` keeps the F1 and the summary's name."""

    __tablename__ = "custom_project_versions"
    __table_args__ = (UniqueConstraint("project_pk", "version_name", name="uq_custom_project_versions_project_name"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    project_pk: Mapped[int] = mapped_column(ForeignKey("custom_projects.id", ondelete="CASCADE"), index=True)
    version_name: Mapped[str] = mapped_column(String(255))
    version_arn: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(String(32))
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_bucket: Mapped[str] = mapped_column(String(255))
    output_prefix: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    min_inference_units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evaluation: Mapped[dict | None] = mapped_column(nullable=True)
    training_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Last sign of life of its training (queued, or progress): the dispatcher's sweep re-sends
    # training nothing has touched for longer than a task may run.
    progress_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    training_ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
