"""Faces followed through a video, for the analyses that name people (face search, celebrities).

Per chunk (on the worker): each sampled frame's faces are detected and embedded, and a face
tracker (models/face_tracking.py) gives each a local track index. Every face sighting is stored
as an internal row (aggregate FACES), and at the chunk's end one summary row (aggregate TRACKS)
holds its tracks' boxes and mean identity vectors.

At finalize: the chunks' tracks are stitched into video-wide persons by identity
(models/face_tracking.py, indexes in order of first appearance), each person gets one vector (the mean of all its faces'
unit vectors), and the analysis searches that vector once and writes one result row per
sighting. Internal rows are never returned: Get reads only aggregate TIMESTAMPS.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobs.analyses import Analysis, Frames, Row
from jobs.face_frames import found_faces, model_names
from jobs.records import Job, Result

SIGHTINGS = "FACES"
SUMMARY = "TRACKS"


@dataclass
class ChunkState:
    start_ms: int
    end_ms: int
    tracker: object
    rows: list = field(default_factory=list)  # (timestamp, local index, BoundingBox)
    sums: dict = field(default_factory=dict)  # local index -> sum of unit vectors
    counts: dict = field(default_factory=dict)


def start(start_millis: int, end_millis: int) -> ChunkState:
    from models.face_tracking import FaceTracker

    return ChunkState(start_millis, end_millis, FaceTracker())


def sightings(frames: Frames, infer, state: ChunkState) -> list[Row]:
    """Track this batch's faces; one internal row per face: {Timestamp, Track, Face}."""
    from models.outputs import ObjectBox

    out = []
    for timestamp, faces in zip(frames.timestamps_millis, found_faces(frames, infer, embed=True), strict=True):
        boxes = [ObjectBox("face", found.face.score, found.face.box) for found in faces]
        vectors = [found.embedding.vector for found in faces]
        for tracked in state.tracker.update(boxes, timestamp, vectors):
            found = faces[tracked.detection]
            state.rows.append((timestamp, tracked.index, found.face.box))
            vector = np.asarray(found.embedding.vector, dtype=np.float64)
            state.sums[tracked.index] = state.sums.get(tracked.index, 0.0) + vector
            state.counts[tracked.index] = state.counts.get(tracked.index, 0) + 1
            out.append(Row(timestamp, {"Timestamp": timestamp, "Track": tracked.index, "Face": found.detail},
                           aggregate=SIGHTINGS))
    return out


def summary(state: ChunkState) -> list[Row]:
    from models.track_stitching import ChunkTracks

    means = {index: (total / np.linalg.norm(total)).tolist() for index, total in state.sums.items()}
    chunk = ChunkTracks(state.start_ms, state.end_ms, state.rows, means)
    return [Row(state.start_ms, {"Chunk": chunk.to_json(), "Counts": {str(k): v for k, v in state.counts.items()}},
                aggregate=SUMMARY)]


@dataclass(frozen=True)
class Person:
    index: int
    vector: np.ndarray  # unit mean of its faces' vectors


def persons(session: Session, job: Job, analysis: str) -> tuple[dict[tuple[int, int], int], dict[int, Person]]:
    """(chunk index, local track) -> person index, and each person's vector."""
    from models.face_tracking import stitch
    from models.track_stitching import ChunkTracks

    summaries = session.execute(select(Result.chunk_index, Result.item).where(
        Result.job_id == job.id, Result.analysis == analysis, Result.aggregate == SUMMARY)
        .order_by(Result.chunk_index)).all()
    chunk_indexes = [index for index, _ in summaries]
    chunks = [ChunkTracks.from_json(item["Chunk"]) for _, item in summaries]
    local = stitch(chunks)
    mapping: dict[tuple[int, int], int] = {}
    sums: dict[int, np.ndarray] = {}
    for (position, track), person in local.items():
        chunk_index = chunk_indexes[position]
        mapping[(chunk_index, track)] = person
        count = summaries[position][1]["Counts"].get(str(track), 1)
        vector = np.asarray(chunks[position].appearances[track], dtype=np.float64) * count
        sums[person] = sums.get(person, 0.0) + vector
    return mapping, {p: Person(p, v / max(np.linalg.norm(v), 1e-12)) for p, v in sums.items()}


def rebuild(session: Session, job: Job, analysis: str, mapping: dict[tuple[int, int], int],
            item_for: Callable[[int, dict], tuple[dict, str] | None]) -> None:
    """Replace the analysis's result rows: for each sighting of a person (`mapping` from
    `persons`), `item_for(person index, sighting)` gives (item, group key), or None to leave the
    sighting out. Safe to run twice."""
    session.execute(delete(Result).where(Result.job_id == job.id, Result.analysis == analysis,
                                         Result.aggregate == "TIMESTAMPS"))
    for chunk_index, timestamp, sighting in _sightings(session, job, analysis):
        person = mapping.get((chunk_index, sighting["Track"]))
        made = None if person is None else item_for(person, sighting)
        if made is None:
            continue
        item, group_key = made
        session.add(Result(job_id=job.id, analysis=analysis, chunk_index=None, aggregate="TIMESTAMPS",
                           timestamp_millis=timestamp, group_key=group_key, rank=float(timestamp), item=item))


def _sightings(session: Session, job: Job, analysis: str) -> Iterator[tuple[int, int, dict]]:
    yield from session.execute(
        select(Result.chunk_index, Result.timestamp_millis, Result.item)
        .where(Result.job_id == job.id, Result.analysis == analysis, Result.aggregate == SIGHTINGS)
        .order_by(Result.timestamp_millis, Result.id).execution_options(yield_per=2000))


def default_face(detail: dict) -> dict:
    """The FaceDetail members Get{FaceSearch,CelebrityRecognition} return (the DEFAULT ones)."""
    return {key: detail[key] for key in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality") if key in detail}


class TrackedFacesAnalysis(Analysis):
    """The chunk side shared by the analyses that follow faces as tracks (face search,
    celebrities): detect and embed, track per chunk, hand each chunk's summary to finalize."""

    def model_names(self, options: dict | None = None) -> tuple[str, ...]:
        return model_names(embed=True)

    def start_chunk(self, options: dict, start_millis: int, end_millis: int) -> ChunkState:
        return start(start_millis, end_millis)

    def rows(self, frames: Frames, infer, options: dict, state: ChunkState) -> list[Row]:
        return sightings(frames, infer, state)

    def end_chunk(self, options: dict, state: ChunkState) -> list[Row]:
        return summary(state)
