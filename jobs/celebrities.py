"""The celebrity gallery: people an operator names from reference photos, shared by every tenant.

Rekognition recognises from Amazon's own gallery; Framewise recognises from the operator's. A
celebrity is a name, `Urls`, a `KnownGender` and one identity vector per reference photo
(CelebrityFace), in the same pgvector table layout as collections. An empty gallery recognises
nobody, which is not an error.

Fill it with the CLI:

    framewise celebrities add --name "Lin-Manuel Miranda" --url https://… --gender Male photo.png …
    framewise celebrities list
    framewise celebrities remove <Id>

or from Python, with vectors from the face models (`add_photos`) or your own SFace vectors
(`add_celebrity`). `Id` is stable: derived from the name, so adding photos to an existing name
extends that celebrity.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import errors
from jobs.face_frames import face_model_version
from jobs.face_index import nearest
from jobs.operations import operation
from jobs.records import Celebrity, CelebrityFace
from models.face_similarity import cosine_threshold, similarity

GENDERS = ("Male", "Female", "Nonbinary", "Unlisted")
MATCH_THRESHOLD = 80.0  # Similarity a face needs to be named (false-match rate ~1e-4 per face)
MAX_CELEBRITIES_PER_IMAGE = 64


def celebrity_id(name: str) -> str:
    """Rekognition's Id pattern is [0-9A-Za-z]*: a stable hash of the normalised name."""
    return hashlib.sha256(" ".join(name.split()).casefold().encode()).hexdigest()[:12]


def add_celebrity(session: Session, name: str, vectors: Iterable[Sequence[float]], *, urls: Sequence[str] = (),
                  known_gender: str | None = None) -> Celebrity:
    """Add (or extend) a celebrity with SFace vectors of their face. Urls and gender replace
    earlier ones when given."""
    if known_gender is not None and known_gender not in GENDERS:
        raise ValueError(f"known_gender must be one of {', '.join(GENDERS)}")
    key = celebrity_id(name)
    celebrity = session.get(Celebrity, key)
    if celebrity is None:
        celebrity = Celebrity(id=key, name=" ".join(name.split()), urls=list(urls), known_gender=known_gender)
        session.add(celebrity)
    else:
        celebrity.urls = list(urls) or celebrity.urls
        celebrity.known_gender = known_gender or celebrity.known_gender
    for vector in vectors:
        session.add(CelebrityFace(celebrity_id=key, face_model_version=face_model_version(), embedding=list(vector)))
    session.flush()
    return celebrity


def photo_vectors(paths: Iterable[Path], inference) -> list[list[float]]:
    """The largest face's vector in each photo (a worker-side step: it runs the face models)."""
    from jobs.face_frames import image_faces
    from jobs.images import decode_image

    vectors = []
    for position, path in enumerate(paths):
        faces = image_faces(decode_image(Path(path).read_bytes()), inference, embed=True, key=position)
        if not faces:
            raise ValueError(f"no face found in {path}")
        vectors.append(faces[0].embedding.vector.astype(float).tolist())
    return vectors


def add_photos(session: Session, name: str, paths: Sequence[Path], inference, **details) -> Celebrity:
    return add_celebrity(session, name, photo_vectors(paths, inference), **details)


def remove(session: Session, key: str) -> bool:
    celebrity = session.get(Celebrity, key)
    if celebrity is not None:
        session.delete(celebrity)
    return celebrity is not None


@dataclass(frozen=True)
class Recognised:
    celebrity: Celebrity
    similarity: float


def recognise(session: Session, vector, threshold: float = MATCH_THRESHOLD) -> Recognised | None:
    """The gallery's closest celebrity to one face vector, if it is close enough."""
    hits = nearest(session, CelebrityFace, vector, where=[CelebrityFace.face_model_version == face_model_version()],
                   limit=1, min_cosine=cosine_threshold(threshold))
    if not hits:
        return None
    return Recognised(session.get(Celebrity, hits[0].row.celebrity_id), similarity(hits[0].cosine))


def info(celebrity: Celebrity) -> dict:
    out = {"Urls": list(celebrity.urls), "Name": celebrity.name}
    if celebrity.known_gender:
        out["KnownGender"] = {"Type": celebrity.known_gender}
    return out


# ---------------------------------------------------------------------------------------------
# operations


@operation("GetCelebrityInfo")
def get_celebrity_info(session: Session, account: str, params: dict) -> dict:
    celebrity = session.get(Celebrity, params["Id"])
    if celebrity is None:
        raise errors.ResourceNotFound(f"The celebrity id: {params['Id']} was not found.")
    return info(celebrity)


@operation("RecognizeCelebrities")
def recognize_celebrities(session: Session, account: str, params: dict) -> dict:
    from jobs import images
    from jobs.face_collections import FACE_VECTORS

    found = images.call(session, account, FACE_VECTORS, {"Image": params["Image"]})
    return recognise_faces(session, found)


def recognise_faces(session: Session, found: dict) -> dict:
    """RecognizeCelebrities' database half, on an image worker's faces (FACE_VECTORS)."""
    from jobs.analyses.faces import compared_face

    named, unnamed = [], []
    for face in found["Faces"][:100]:
        match = recognise(session, face["Vector"]) if len(named) < MAX_CELEBRITIES_PER_IMAGE else None
        if match is None:
            unnamed.append(compared_face(face["FaceDetail"]))
            continue
        entry = {"Urls": list(match.celebrity.urls), "Name": match.celebrity.name, "Id": match.celebrity.id,
                 "Face": compared_face(face["FaceDetail"]), "MatchConfidence": match.similarity}
        if match.celebrity.known_gender:
            entry["KnownGender"] = {"Type": match.celebrity.known_gender}
        named.append(entry)
    return {"CelebrityFaces": named, "UnrecognizedFaces": unnamed}


def gallery(session: Session) -> list[tuple[Celebrity, int]]:
    """Every celebrity with how many reference faces they have, by name."""
    from sqlalchemy import func

    return [(celebrity, count) for celebrity, count in session.execute(
        select(Celebrity, func.count(CelebrityFace.id)).outerjoin(CelebrityFace)
        .group_by(Celebrity.id).order_by(Celebrity.name))]
