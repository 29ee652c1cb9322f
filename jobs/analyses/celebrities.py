"""Celebrity recognition in a video: StartCelebrityRecognition / GetCelebrityRecognition.

The same face tracks as face search (jobs/face_tracks.py); at finalize each person's mean vector
is looked up once in the operator's gallery (jobs/celebrities.py), and every sighting of a
recognised person becomes a `CelebrityRecognition` item. Unrecognised people are not returned;
an empty gallery gives an empty answer.
"""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Session

from jobs import face_tracks
from jobs.analyses import Order, register
from jobs.records import Job, JobAnalysis


@register
class CelebrityRecognition(face_tracks.TrackedFacesAnalysis):
    name = "celebrities"
    start_op = "StartCelebrityRecognition"
    get_op = "GetCelebrityRecognition"
    items_key = "Celebrities"
    sorts: ClassVar = {"TIMESTAMP": Order.TIME, "ID": Order.GROUP}

    def finalize(self, session: Session, job: Job, record: JobAnalysis) -> None:
        from jobs.celebrities import recognise

        mapping, people = face_tracks.persons(session, job, self.name)
        named = {index: found for index, person in people.items()
                 if (found := recognise(session, person.vector)) is not None}

        def item_for(index: int, sighting: dict):
            if index not in named:
                return None
            match, detail = named[index], sighting["Face"]
            celebrity = {"Urls": list(match.celebrity.urls), "Name": match.celebrity.name, "Id": match.celebrity.id,
                         "Confidence": match.similarity, "BoundingBox": detail["BoundingBox"],
                         "Face": face_tracks.default_face(detail)}
            if match.celebrity.known_gender:
                celebrity["KnownGender"] = {"Type": match.celebrity.known_gender}
            return {"Timestamp": sighting["Timestamp"], "Celebrity": celebrity}, match.celebrity.id

        face_tracks.rebuild(session, job, self.name, mapping, item_for)
