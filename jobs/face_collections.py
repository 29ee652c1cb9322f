"""Face collections: CreateCollection … SearchFacesByImage, per tenant, vectors in pgvector.

Each handler runs on the web tier with the caller's session. Operations that need faces from an
image (IndexFaces, SearchFacesByImage) check the collection first, then have an image worker
detect and embed (jobs.images.call, which releases the database connection while the model
runs), then store or search. A collection records the face model version its vectors came
from; faces from another model are refused rather than compared.
"""
from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import errors, images, pagination
from jobs.analyses.faces import FACE_VECTORS  # the worker half of IndexFaces and the searches
from jobs.face_frames import face_model_version
from jobs.face_index import nearest
from jobs.face_quality_filter import reasons
from jobs.operations import operation
from jobs.records import FaceCollection, FaceUser, IndexedFace
from jobs.settings import get_settings
from models.face_similarity import cosine_threshold, similarity

MAX_INDEXED_PER_IMAGE = 100
DEFAULT_PAGE = 1000
TOKEN_TTL_SECONDS = 24 * 3600


def collection_arn(account: str, collection_id: str) -> str:
    return f"arn:aws:rekognition:{get_settings().region}:{account}:collection/{collection_id}"


def find_collection(session: Session, account: str, collection_id: str, *, lock: bool = False) -> FaceCollection:
    """The caller's collection, or ResourceNotFound (another tenant's is as absent as none)."""
    query = select(FaceCollection).where(FaceCollection.account == account,
                                         FaceCollection.collection_id == collection_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise errors.ResourceNotFound(f"The collection id: {collection_id} does not exist")
    return found


def check_model(collection: FaceCollection) -> None:
    if collection.face_model_version != face_model_version():
        raise errors.InvalidParameter(
            f"The collection {collection.collection_id} holds faces of face model {collection.face_model_version}; "
            f"this service runs {face_model_version()}. Create a new collection and index the faces again.")


def face_record(face: IndexedFace, model_version: str, users: dict[int, str] | None = None) -> dict:
    """Rekognition's `Face`; `users` (from `user_ids`) names the user a face is associated with."""
    record = {"FaceId": face.face_id, "BoundingBox": face.bounding_box, "ImageId": face.image_id}
    if face.external_image_id:
        record["ExternalImageId"] = face.external_image_id
    record["Confidence"] = face.confidence
    record["IndexFacesModelVersion"] = model_version
    if users and face.user_pk in users:
        record["UserId"] = users[face.user_pk]
    return record


def user_ids(session: Session, faces) -> dict[int, str]:
    """user_pk -> UserId for the users these faces are associated with."""
    keys = {face.user_pk for face in faces if face.user_pk is not None}
    if not keys:
        return {}
    return dict(session.execute(select(FaceUser.id, FaceUser.user_id).where(FaceUser.id.in_(keys))).all())


def search(session: Session, collection: FaceCollection, vector, *, max_faces: int, threshold: float,
           exclude: str | None = None) -> list[dict]:
    """FaceMatches for a vector: similar faces of the collection, highest Similarity first."""
    where = [IndexedFace.collection_pk == collection.id]
    if exclude:
        where.append(IndexedFace.face_id != exclude)
    hits = nearest(session, IndexedFace, vector, where=where, limit=max_faces, min_cosine=cosine_threshold(threshold),
                   rows_filtered=collection.face_count)
    users = user_ids(session, [hit.row for hit in hits])
    return [{"Similarity": similarity(hit.cosine), "Face": face_record(hit.row, collection.face_model_version, users)}
            for hit in hits]


def faces_of_image(session: Session, account: str, params: dict, attributes=None) -> dict:
    """An image worker's faces (FaceDetail + vector) of the request's Image."""
    request = {"Image": params["Image"]}
    if attributes:
        request["Attributes"] = attributes
    return images.call(session, account, FACE_VECTORS, request)


# ---------------------------------------------------------------------------------------------
# operations


@operation("CreateCollection")
def create_collection(session: Session, account: str, params: dict) -> dict:
    collection_id = params["CollectionId"]
    try:
        with session.begin_nested():
            session.add(FaceCollection(account=account, collection_id=collection_id,
                                       face_model_version=face_model_version()))
    except IntegrityError:
        raise errors.ResourceAlreadyExists(f"The collection id: {collection_id} already exists") from None
    return {"StatusCode": 200, "CollectionArn": collection_arn(account, collection_id),
            "FaceModelVersion": face_model_version()}


@operation("DescribeCollection")
def describe_collection(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    users = session.scalar(select(func.count()).select_from(FaceUser).where(FaceUser.collection_pk == collection.id))
    return {"FaceCount": collection.face_count, "FaceModelVersion": collection.face_model_version,
            "CollectionARN": collection_arn(account, collection.collection_id),
            "CreationTimestamp": collection.created_at.timestamp(), "UserCount": users}


@operation("DeleteCollection")
def delete_collection(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"], lock=True)
    session.delete(collection)  # its faces go with it (ON DELETE CASCADE)
    return {"StatusCode": 200}


def _page_after(params: dict, account: str, view: str) -> str | None:
    if not params.get("NextToken"):
        return None
    (key,) = pagination.decode(get_settings().secret_key, params["NextToken"], job_id=account, view=view,
                               ttl_seconds=TOKEN_TTL_SECONDS)
    return key


def _page_size(params: dict) -> int:
    return min(int(params.get("MaxResults") or DEFAULT_PAGE), 4096)


@operation("ListCollections")
def list_collections(session: Session, account: str, params: dict) -> dict:
    after = _page_after(params, account, "collections")
    limit = _page_size(params)
    query = select(FaceCollection).where(FaceCollection.account == account)
    if after is not None:
        query = query.where(FaceCollection.collection_id > after)
    rows = session.scalars(query.order_by(FaceCollection.collection_id).limit(limit + 1)).all()
    out = {"CollectionIds": [c.collection_id for c in rows[:limit]],
           "FaceModelVersions": [c.face_model_version for c in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = pagination.encode(get_settings().secret_key, job_id=account, view="collections",
                                             key=[rows[limit - 1].collection_id])
    return out


@operation("ListFaces")
def list_faces(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    view = f"faces/{collection.id}"
    after = _page_after(params, account, view)
    limit = _page_size(params)
    query = select(IndexedFace).where(IndexedFace.collection_pk == collection.id)
    if params.get("FaceIds"):
        query = query.where(IndexedFace.face_id.in_(params["FaceIds"]))
    if params.get("UserId"):
        query = query.join(FaceUser, FaceUser.id == IndexedFace.user_pk).where(FaceUser.user_id == params["UserId"])
    if after is not None:
        query = query.where(IndexedFace.face_id > after)
    rows = session.scalars(query.order_by(IndexedFace.face_id).limit(limit + 1)).all()
    users = user_ids(session, rows[:limit])
    out = {"Faces": [face_record(face, collection.face_model_version, users) for face in rows[:limit]],
           "FaceModelVersion": collection.face_model_version}
    if len(rows) > limit:
        out["NextToken"] = pagination.encode(get_settings().secret_key, job_id=account, view=view,
                                             key=[rows[limit - 1].face_id])
    return out


@operation("DeleteFaces")
def delete_faces(session: Session, account: str, params: dict) -> dict:
    """Faces associated with a user stay (Rekognition's ASSOCIATED_TO_AN_EXISTING_USER): disassociate first."""
    collection = find_collection(session, account, params["CollectionId"])
    wanted = list(dict.fromkeys(params["FaceIds"]))
    faces = {face.face_id: face for face in session.scalars(select(IndexedFace).where(
        IndexedFace.collection_pk == collection.id, IndexedFace.face_id.in_(wanted)).with_for_update())}
    users = user_ids(session, faces.values())
    deleted, failed = [], []
    for face_id in wanted:
        face = faces.get(face_id)
        if face is None:
            failed.append({"FaceId": face_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_pk is not None:
            failed.append({"FaceId": face_id, "UserId": users[face.user_pk], "Reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]})
        else:
            session.delete(face)
            deleted.append(face_id)
    _count(session, collection, -len(deleted))
    return {"DeletedFaces": deleted, "UnsuccessfulFaceDeletions": failed}


def _count(session: Session, collection: FaceCollection, change: int) -> None:
    """Keep the collection's face count (DescribeCollection; exact search below a size) in step,
    as one UPDATE so concurrent IndexFaces calls add up."""
    if change:
        session.execute(update(FaceCollection).where(FaceCollection.id == collection.id)
                        .values(face_count=FaceCollection.face_count + change))
        session.refresh(collection, ["face_count"])


@operation("IndexFaces")
def index_faces(session: Session, account: str, params: dict) -> dict:
    collection_id = params["CollectionId"]
    check_model(find_collection(session, account, collection_id))
    found = faces_of_image(session, account, params, params.get("DetectionAttributes"))
    # Found again: the worker call ended the transaction (it may have been deleted meanwhile).
    return store_faces(session, find_collection(session, account, collection_id), found, params)


def store_faces(session: Session, collection: FaceCollection, found: dict, params: dict) -> dict:
    """IndexFaces' database half: keep the faces (worker's FACE_VECTORS answer) that pass the
    QualityFilter, up to MaxFaces, largest first; say why each other face was left out."""
    max_faces = min(int(params.get("MaxFaces") or MAX_INDEXED_PER_IMAGE), MAX_INDEXED_PER_IMAGE)
    level = params.get("QualityFilter") or "AUTO"
    image_id = str(uuid.uuid4())
    records, unindexed = [], []
    for face in found["Faces"]:  # largest first
        detail = face["FaceDetail"]
        why = reasons(detail, found["Height"], level)
        if not why and len(records) >= max_faces:
            why = ["EXCEEDS_MAX_FACES"]
        if why:
            unindexed.append({"Reasons": why, "FaceDetail": detail})
            continue
        row = IndexedFace(face_id=str(uuid.uuid4()), collection_pk=collection.id, image_id=image_id,
                          external_image_id=params.get("ExternalImageId"), bounding_box=detail["BoundingBox"],
                          confidence=detail["Confidence"], embedding=face["Vector"])
        session.add(row)
        records.append({"Face": face_record(row, collection.face_model_version), "FaceDetail": detail})
    _count(session, collection, len(records))
    return {"FaceRecords": records, "FaceModelVersion": collection.face_model_version, "UnindexedFaces": unindexed}


def _threshold(params: dict) -> float:
    return float(params.get("FaceMatchThreshold", 80.0))


@operation("SearchFaces")
def search_faces(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    face = session.scalar(select(IndexedFace).where(IndexedFace.collection_pk == collection.id,
                                                    IndexedFace.face_id == params["FaceId"]))
    if face is None:
        raise errors.InvalidParameter(f"The face id: {params['FaceId']} is not in the collection.")
    matches = search(session, collection, face.embedding, max_faces=int(params.get("MaxFaces") or 4096),
                     threshold=_threshold(params), exclude=face.face_id)
    return {"SearchedFaceId": face.face_id, "FaceMatches": matches, "FaceModelVersion": collection.face_model_version}


@operation("SearchFacesByImage")
def search_faces_by_image(session: Session, account: str, params: dict) -> dict:
    collection_id = params["CollectionId"]
    check_model(find_collection(session, account, collection_id))
    found = faces_of_image(session, account, params)
    return search_image_faces(session, find_collection(session, account, collection_id), found, params)


def search_image_faces(session: Session, collection: FaceCollection, found: dict, params: dict) -> dict:
    """SearchFacesByImage's database half: the largest face that passes the QualityFilter."""
    level = params.get("QualityFilter") or "NONE"
    usable = [face for face in found["Faces"] if not reasons(face["FaceDetail"], found["Height"], level)]
    if not usable:
        raise errors.InvalidParameter("There are no faces in the image. Should be at least 1.")
    largest = usable[0]
    matches = search(session, collection, largest["Vector"], max_faces=int(params.get("MaxFaces") or 4096),
                     threshold=_threshold(params))
    return {"SearchedFaceBoundingBox": largest["FaceDetail"]["BoundingBox"],
            "SearchedFaceConfidence": largest["FaceDetail"]["Confidence"],
            "FaceMatches": matches, "FaceModelVersion": collection.face_model_version}
