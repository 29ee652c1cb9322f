"""Collections and the celebrity gallery.

Faces are read and deleted through the collection operations themselves (ListFaces, DeleteFaces
in jobs/face_collections.py, acting as the collection's tenant), so a face tied to a user stays,
as DeleteFaces says. A celebrity is added from uploaded photos the way `framewise celebrities add`
adds one: the image worker finds each photo's largest face and its vector (the FaceVectors worker
function IndexFaces uses), then jobs/celebrities.add_celebrity stores it. The web process never
loads a model.

IndexFaces keeps no image, only each face's box in it, so a face is shown as where it sat in its
photo (the box drawn on a blank frame), never as a picture; the page says so.
"""
from __future__ import annotations

import base64

from flask import abort, render_template, request, url_for
from sqlalchemy import String, cast, select, text

from jobs import celebrities, face_collections, images
from jobs.analyses.faces import FACE_VECTORS
from jobs.database import session_scope
from jobs.errors import ClientError
from jobs.records import FaceCollection, Job, JobAnalysis, Result
from web.admin import bp
from web.admin.job_actions import answer

FACES_PER_PAGE = 100
MAX_PHOTOS = 10


@bp.get("/collections")
def collections():
    with session_scope() as db:
        rows = db.scalars(select(FaceCollection).order_by(FaceCollection.account, FaceCollection.collection_id)).all()
        listed = [{"pk": c.id, "tenant": c.account, "id": c.collection_id, "faces": c.face_count,
                   "model": c.face_model_version, "created": c.created_at.strftime("%Y-%m-%d %H:%M")} for c in rows]
        gallery = [{"id": c.id, "name": c.name, "urls": c.urls, "gender": c.known_gender, "photos": photos,
                    "jobs": jobs} for (c, photos), jobs in _with_jobs(db, celebrities.gallery(db))]
    return render_template("admin/collections.html", collections=listed, gallery=gallery,
                           max_photos=MAX_PHOTOS, genders=celebrities.GENDERS)


def _with_jobs(db, gallery):
    """Each celebrity with the celebrity-recognition jobs that named them (group_key is the Id)."""
    ids = [c.id for c, _ in gallery]
    found: dict[str, list[str]] = {}
    if ids:
        for key, job_id in db.execute(select(Result.group_key, Result.job_id).distinct()
                                      .where(Result.analysis == "celebrities", Result.group_key.in_(ids))).all():
            found.setdefault(key, []).append(job_id)
    return [(entry, sorted(found.get(entry[0].id, []))) for entry in gallery]


def _collection(db, pk: int) -> FaceCollection:
    collection = db.get(FaceCollection, pk)
    if collection is None:
        abort(404, description="No such collection.")
    return collection


def _matches(db, collection: FaceCollection) -> tuple[list[str], dict[str, int]]:
    """The face-search jobs that searched this collection, and per face how many of them matched it:
    one pass over those jobs' face_search rows (by the results' job index)."""
    job_ids = list(db.scalars(select(Job.id).join(JobAnalysis).where(
        Job.account == collection.account, JobAnalysis.analysis == "face_search",
        cast(Job.params["CollectionId"].astext, String) == collection.collection_id).order_by(Job.created_at.desc())))
    counts: dict[str, int] = {}
    if job_ids:
        counts = dict(db.execute(text(
            "SELECT m->'Face'->>'FaceId', count(DISTINCT r.job_id) FROM results r"
            " CROSS JOIN LATERAL jsonb_array_elements(r.item->'FaceMatches') m"
            " WHERE r.job_id = ANY(:ids) AND r.analysis = 'face_search' GROUP BY 1"), {"ids": job_ids}).all())
    return job_ids, counts


@bp.get("/collections/<int:pk>")
def collection(pk: int):
    with session_scope() as db:
        chosen = _collection(db, pk)
        params = {"CollectionId": chosen.collection_id, "MaxResults": FACES_PER_PAGE}
        if request.args.get("page"):
            params["NextToken"] = request.args["page"]
        try:
            page = face_collections.list_faces(db, chosen.account, params)
        except ClientError as error:
            abort(400, description=str(error))
        job_ids, counts = _matches(db, chosen)
        view = {"pk": chosen.id, "tenant": chosen.account, "id": chosen.collection_id, "faces": chosen.face_count,
                "model": chosen.face_model_version}
    return render_template("admin/collection.html", collection=view, faces=page["Faces"], counts=counts,
                           jobs=job_ids, next_page=page.get("NextToken"))


@bp.post("/collections/<int:pk>/faces/delete")
def collection_delete_faces(pk: int):
    face_ids = request.form.getlist("face")
    here = url_for("admin.collection", pk=pk)
    if not face_ids:
        return answer("Choose at least one face.", ok=False, to=here)
    try:
        with session_scope() as db:
            chosen = _collection(db, pk)
            done = face_collections.delete_faces(db, chosen.account, {"CollectionId": chosen.collection_id,
                                                                       "FaceIds": face_ids})
    except ClientError as error:
        return answer(str(error), ok=False, to=here)
    message = f"Deleted {len(done['DeletedFaces'])} face(s)."
    kept = [f"{f['FaceId'][:8]}… ({', '.join(f['Reasons'])})" for f in done["UnsuccessfulFaceDeletions"]]
    if kept:
        message += " Not deleted: " + "; ".join(kept) + "."
    return answer(message, ok=True, to=here)


@bp.post("/celebrities")
def celebrity_add():
    name = " ".join(request.form.get("name", "").split())[:255]
    urls = [u.strip() for u in request.form.get("urls", "").split() if u.strip()]
    gender = request.form.get("gender") or None
    photos = [f for f in request.files.getlist("photos") if f and f.filename]
    to = url_for("admin.collections")
    if not name or not photos:
        return answer("A name and at least one photo are needed.", ok=False, to=to)
    if len(photos) > MAX_PHOTOS or (gender and gender not in celebrities.GENDERS):
        return answer(f"At most {MAX_PHOTOS} photos, and a gender from the list.", ok=False, to=to)
    vectors = []
    try:
        for photo in photos:
            data = photo.read(images.MAX_IMAGE_BYTES + 1)
            with session_scope() as db:  # images.call closes it before waiting on the worker
                found = images.call(db, "admin", FACE_VECTORS, {"Image": {"Bytes": base64.b64encode(data).decode()}})
            if not found["Faces"]:
                return answer(f"No face was found in {photo.filename}.", ok=False, to=to)
            vectors.append(found["Faces"][0]["Vector"])  # the largest, as the CLI takes
        with session_scope() as db:
            added = celebrities.add_celebrity(db, name, vectors, urls=urls, known_gender=gender)
            key = added.id
    except ClientError as error:
        return answer(f"{error}", ok=False, to=to)
    return answer(f"Added {len(vectors)} photo(s) of {name} (Id {key}).", ok=True, to=to)


@bp.post("/celebrities/<key>/delete")
def celebrity_delete(key: str):
    with session_scope() as db:
        removed = celebrities.remove(db, key)
    to = url_for("admin.collections")
    return answer("Removed from the gallery." if removed else "No such celebrity.", ok=removed, to=to)
