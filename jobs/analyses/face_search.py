"""Face search in a video: StartFaceSearch / GetFaceSearch against one of the tenant's collections.

Faces are tracked through the video (jobs/face_tracks.py); at finalize each person's mean
identity vector is searched in the collection once (HNSW candidates, exact re-rank), and every
sighting of a matched person becomes a `PersonMatch` with that person's stable `Index` and its
`FaceMatches`. People who match no indexed face at `FaceMatchThreshold` are not returned, as the
model documents `Persons` ("whose face(s) match").
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import face_tracks
from jobs.analyses import Order, index_key, register
from jobs.records import FaceCollection, Job, JobAnalysis

MAX_MATCHES = 100  # FaceMatches per person


@register
class FaceSearch(face_tracks.TrackedFacesAnalysis):
    name = "face_search"
    start_op = "StartFaceSearch"
    get_op = "GetFaceSearch"
    items_key = "Persons"
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "INDEX": Order.GROUP}

    def options(self, request: dict, settings) -> dict:
        return {"SampleFps": settings.sample_fps, "CollectionId": request["CollectionId"],
                "FaceMatchThreshold": float(request.get("FaceMatchThreshold", 80.0))}

    def check_start(self, session: Session, account: str, options: dict) -> None:
        from jobs.face_collections import check_model, find_collection

        check_model(find_collection(session, account, options["CollectionId"]))

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        from jobs.face_collections import search

        mapping, people = face_tracks.persons(session, job, self.name)
        collection = session.scalar(select(FaceCollection).where(
            FaceCollection.account == job.account, FaceCollection.collection_id == record.options["CollectionId"]))
        matches = {}
        if collection is not None:  # deleted while the job ran: nobody matches
            for index, person in people.items():
                found = search(session, collection, person.vector, max_faces=MAX_MATCHES,
                               threshold=record.options["FaceMatchThreshold"])
                if found:
                    matches[index] = found

        def item_for(index: int, sighting: dict):
            if index not in matches:
                return None
            detail = sighting["Face"]
            person = {"Index": index, "BoundingBox": detail["BoundingBox"], "Face": face_tracks.default_face(detail)}
            return ({"Timestamp": sighting["Timestamp"], "Person": person, "FaceMatches": matches[index]},
                    index_key(index))

        face_tracks.rebuild(session, job, self.name, mapping, item_for)
