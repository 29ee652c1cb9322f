"""What an analysis is: everything that differs between labels, faces, persons, text, … in one place.

The AWS endpoint's handler table, the generic Get service, the planner, the chunk engine and
finalize iterate over the registry of these (jobs/analyses/__init__.py); nothing outside an
analysis's module names it. An analysis declares:

* its wire names: Start/Get operations, the items key, the model-version key;
* its Get orders (SortBy value -> time order or group order) and aggregations;
* `options(request)`: the request options, pinned on the job at Start (never re-read later);
* `sample_fps(options)`: the sampling it needs (None: every frame);
* `check_start(session, account, options)`: checks that need the database (an unknown collection);
* `start_chunk` / `rows` / `end_chunk`: one chunk's decoded batches -> result rows;
* `finalize(session, job, record)`: once per job after its last chunk (segments, tracks);
* `item(row)`: a stored row -> a response item (default: the stored item as it is);
* `decorate(response, job, record)`: extra members of its Get answer.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from sqlalchemy.orm import Session

from jobs.records import Job, JobAnalysis, Result


class Order(enum.Enum):
    TIME = "time"  # (timestamp_millis, id)
    GROUP = "group"  # (group_key, rank, id): NAME, INDEX, ID


@dataclass(frozen=True)
class Row:
    """One result item, as an analysis produces it (the engine adds job, chunk and analysis)."""

    timestamp_millis: int
    item: dict
    group_key: str | None = None
    rank: float = 0.0  # ascending within a group: 100 - confidence puts the best first
    aggregate: str = "TIMESTAMPS"


def index_key(index: int) -> str:
    """A person/face index as a group key whose text order is numeric order."""
    return f"{index:012d}"


@dataclass
class Frames:
    """The frames of one decoded batch that one analysis asked for.

    `keys` identify each frame within its decoded batch, so two analyses that run the same model
    on the same frame share one inference (see jobs.engine.Inference)."""

    images: np.ndarray  # uint8 RGB, (N, H, W, 3)
    timestamps_millis: list[int]
    keys: list[int]

    def __len__(self) -> int:
        return len(self.timestamps_millis)


class Infer(Protocol):
    """What an analysis asks for models through (jobs.engine.Inference)."""

    def __call__(self, model: str, frames: Frames) -> list[Any]:
        """One output per frame, of the model's kind (models/outputs.py); run once per frame and
        batch however many analyses ask."""

    def model(self, name: str) -> Any:
        """The loaded model itself, for inputs that are not whole frames (crops)."""


class Analysis:
    name: ClassVar[str]
    start_op: ClassVar[str]
    get_op: ClassVar[str]
    items_key: ClassVar[str]
    model_version_key: ClassVar[str | None] = None
    request_metadata_key: ClassVar[str | None] = None  # GetRequestMetadata: {SortBy, AggregateBy}
    models: ClassVar[tuple[str, ...]] = ()
    sorts: ClassVar[dict[str, Order]] = {"TIMESTAMP": Order.TIME}  # the first is the default
    aggregations: ClassVar[tuple[str, ...]] = ("TIMESTAMPS",)  # the first is the default

    # --- at Start ---------------------------------------------------------------------------
    def options(self, request: dict, settings) -> dict:
        """The request's options for this analysis, as plain JSON, pinned on the job."""
        return {"SampleFps": settings.sample_fps}

    def sample_fps(self, options: dict) -> float | None:
        return options.get("SampleFps")

    def check_start(self, session: Session, account: str, options: dict) -> None:
        """Raise a ServiceError (e.g. ResourceNotFound) for what only the database can tell."""

    def model_names(self, options: dict | None = None) -> tuple[str, ...]:
        """The models this analysis runs with these options (an option may choose one)."""
        return self.models

    def model_versions(self, options: dict | None = None) -> dict[str, str]:
        from models.catalog import with_feeds

        return {spec.name: spec.version for spec in with_feeds(self.model_names(options))}

    # --- per chunk, on the worker -----------------------------------------------------------
    def start_chunk(self, options: dict, start_millis: int, end_millis: int) -> Any:
        """State carried across one chunk's batches (a tracker, a shot detector); None by default."""
        return None

    def rows(self, frames: Frames, infer: Infer, options: dict, state: Any) -> Sequence[Row]:
        raise NotImplementedError

    def end_chunk(self, options: dict, state: Any) -> Sequence[Row]:
        """Rows only known when the chunk's last frame is seen (an open shot)."""
        return ()

    # --- once per job, after the last chunk ---------------------------------------------------
    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        """Build what needs every chunk (segments, stitched tracks), in the finishing transaction.
        Must be safe to run twice: replace its rows, never append."""

    # --- at Get -------------------------------------------------------------------------------
    def item(self, row: Result) -> dict:
        return row.item

    def decorate(self, response: dict, job: Job, record: JobAnalysis) -> None:
        """Add members of this analysis's Get answer beyond the common ones."""
        if self.model_version_key and record.model_versions:
            response[self.model_version_key] = ",".join(sorted(set(record.model_versions.values())))
