"""Person tracking: StartPersonTracking / GetPersonTracking.

Per sampled frame: the COCO detector's person boxes (YOLOX-Nano: the labels analysis's detector,
so a job running both detects once on a shared frame; the tracker's default thresholds are for
its scores; on the people clips it found more of the people than CenterNet, at the same
indexes), a MobileNetV2 appearance embedding
per box (models/reid.py), and a ByteTrack-style tracker with re-identification
(models/tracking.py) that gives each person an index. A face found in the frame (YuNet) that
sits in the upper half of a person's box becomes that person's `Face` (models/person_faces.py),
with the default face attributes.

Chunks run in parallel, each with its own tracker and its own local indexes. A chunk stores its
per-frame rows with local indexes (aggregate "LOCAL") and its tracks' summary (one "TRACKS" row:
boxes and appearances, models/track_stitching.ChunkTracks). finalize stitches the chunks'
tracks (same box at the edge, or the same appearance nearby) into video-wide indexes numbered
in order of first appearance, and writes the served rows with those indexes. Neither internal
aggregate is ever served.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobs.analyses import Analysis, Frames, Order, Row, index_key, register
from jobs.records import Job, JobAnalysis, Result
from models.outputs import BoundingBox
from models.track_stitching import ChunkTracks, stitch
from models.tracking import PRESETS, Tracker, TrackerConfig

DETECTOR = "yolox-nano-coco"
EMBEDDER = "mobilenetv2-reid"
FACES = "yunet-face"
# Tracking by IoU needs boxes that still overlap from one sample to the next. Measured on the
# basketball clip (players jumping and crouching): 10 samples a second keep the two players at
# two indexes; at 5 a second their tracks broke into four (with either detector).
SAMPLE_FPS = 10.0
LOCAL, TRACKS = "LOCAL", "TRACKS"


@dataclass
class ChunkState:
    tracker: Tracker
    start_millis: int
    end_millis: int
    rows: list[tuple[int, int, BoundingBox]] = field(default_factory=list)


def _face(image, face) -> dict:
    """A face's default attributes (BoundingBox, Landmarks, Pose, Quality, Confidence)."""
    from models.face_detail import face_detail
    from models.face_pose import pose
    from models.face_quality import quality
    from models.sface import align_face

    height, width = image.shape[:2]
    return face_detail(face, pose(face, width, height), quality(align_face(image, face)))


@register
class PersonTracking(Analysis):
    name = "persons"
    start_op = "StartPersonTracking"
    get_op = "GetPersonTracking"
    items_key = "Persons"
    models = (DETECTOR, EMBEDDER, FACES)
    # INDEX: by person; within a person, the most confident detection first (as documented).
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "INDEX": Order.GROUP}

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": max(settings.sample_fps, SAMPLE_FPS)}

    def start_chunk(self, options: dict, start_millis: int, end_millis: int) -> ChunkState:
        return ChunkState(Tracker(PRESETS.get(DETECTOR, TrackerConfig())), start_millis, end_millis)

    def rows(self, frames: Frames, infer, options: dict, state: ChunkState) -> list[Row]:
        from models.person_faces import match_faces

        embedder = infer.model(EMBEDDER)
        out = []
        for image, timestamp, boxes, faces in zip(frames.images, frames.timestamps_millis, infer(DETECTOR, frames),
                                                  infer(FACES, frames), strict=True):
            if timestamp >= state.end_millis:
                continue  # a frame a hair before the edge, rounded onto it: the next chunk has it
            people = [box for box in boxes if box.name == "person"]
            vectors = [e.vector for e in embedder.embed_boxes(image, [p.box for p in people])]
            tracked = state.tracker.update(people, timestamp, vectors)
            face_of = match_faces([p.box for p in tracked], [f.box for f in faces])
            for position, person in enumerate(tracked):
                detail = {"Index": person.index, "BoundingBox": person.box.to_wire()}
                if position in face_of:
                    detail["Face"] = _face(image, faces[face_of[position]])
                state.rows.append((timestamp, person.index, person.box))
                out.append(Row(timestamp, {"Timestamp": timestamp, "Person": detail}, group_key=str(person.index),
                               rank=100.0 - 100.0 * person.score, aggregate=LOCAL))
        return out

    def end_chunk(self, options: dict, state: ChunkState) -> list[Row]:
        tracks = ChunkTracks(state.start_millis, state.end_millis, state.rows, state.tracker.appearances())
        return [Row(state.start_millis, tracks.to_json(), aggregate=TRACKS)]

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        session.execute(delete(Result).where(Result.job_id == job.id, Result.analysis == self.name,
                                             Result.aggregate == "TIMESTAMPS"))
        chunks = session.execute(select(Result.chunk_index, Result.item).where(
            Result.job_id == job.id, Result.analysis == self.name, Result.aggregate == TRACKS)
            .order_by(Result.chunk_index)).all()
        position = {chunk_index: k for k, (chunk_index, _) in enumerate(chunks)}
        mapping = stitch([ChunkTracks.from_json(item) for _, item in chunks])
        local = session.execute(select(Result.chunk_index, Result.timestamp_millis, Result.rank, Result.item).where(
            Result.job_id == job.id, Result.analysis == self.name, Result.aggregate == LOCAL)
            .order_by(Result.timestamp_millis, Result.id).execution_options(yield_per=2000))
        for chunk_index, timestamp, rank, item in local:
            index = mapping[(position[chunk_index], item["Person"]["Index"])]
            served = {"Timestamp": timestamp, "Person": {**item["Person"], "Index": index}}
            session.add(Result(job_id=job.id, analysis=self.name, chunk_index=None, aggregate="TIMESTAMPS",
                               timestamp_millis=timestamp, group_key=index_key(index), rank=rank, item=served))
