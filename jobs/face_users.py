"""User vectors in a collection: CreateUser, DeleteUser, ListUsers, AssociateFaces,
DisassociateFaces, SearchUsers, SearchUsersByImage.

A user gathers several indexed faces of one person; it is searched through one vector, the unit
mean of its faces' vectors, recomputed whenever a face joins or leaves (a mean of unit vectors
of one person sits closer to each of their faces than most single faces do). A face joins a user
that already has faces only when it matches that vector at `UserMatchThreshold` (default 75),
so one bad association cannot drag a user towards a stranger.
"""
from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import errors, face_collections, pagination
from jobs.face_collections import find_collection
from jobs.face_index import nearest, unit
from jobs.face_quality_filter import reasons
from jobs.operations import operation
from jobs.records import FaceCollection, FaceUser, IndexedFace
from jobs.settings import get_settings
from models.face_similarity import cosine_threshold, similarity

ASSOCIATE_THRESHOLD = 75.0  # Rekognition's UserMatchThreshold default for AssociateFaces
SEARCH_THRESHOLD = 80.0  # ... and for SearchUsers / SearchUsersByImage
MAX_USERS = 500


def find_user(session: Session, collection: FaceCollection, user_id: str, *, lock: bool = False) -> FaceUser:
    query = select(FaceUser).where(FaceUser.collection_pk == collection.id, FaceUser.user_id == user_id)
    user = session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise errors.ResourceNotFound(f"The user id: {user_id} does not exist in collection {collection.collection_id}")
    return user


def status(user: FaceUser) -> str:
    return "ACTIVE" if user.embedding is not None else "CREATED"


def _refresh_vector(session: Session, user: FaceUser) -> None:
    session.flush()
    vectors = [unit(v) for v in session.scalars(select(IndexedFace.embedding).where(IndexedFace.user_pk == user.id))]
    user.embedding = unit(np.mean(vectors, axis=0)).astype(np.float32).tolist() if vectors else None


@operation("CreateUser")
def create_user(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    try:
        with session.begin_nested():
            session.add(FaceUser(collection_pk=collection.id, user_id=params["UserId"]))
    except IntegrityError:
        raise errors.Conflict(f"The user id: {params['UserId']} already exists in the collection.") from None
    return {}


@operation("DeleteUser")
def delete_user(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    session.delete(find_user(session, collection, params["UserId"], lock=True))  # its faces stay, unassociated
    return {}


@operation("ListUsers")
def list_users(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    view = f"users/{collection.id}"
    query = select(FaceUser).where(FaceUser.collection_pk == collection.id)
    if params.get("NextToken"):
        (after,) = pagination.decode(get_settings().secret_key, params["NextToken"], job_id=account, view=view,
                                     ttl_seconds=face_collections.TOKEN_TTL_SECONDS)
        query = query.where(FaceUser.user_id > after)
    limit = min(int(params.get("MaxResults") or 500), 500)
    rows = session.scalars(query.order_by(FaceUser.user_id).limit(limit + 1)).all()
    out = {"Users": [{"UserId": user.user_id, "UserStatus": status(user)} for user in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = pagination.encode(get_settings().secret_key, job_id=account, view=view,
                                             key=[rows[limit - 1].user_id])
    return out


@operation("AssociateFaces")
def associate_faces(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    user = find_user(session, collection, params["UserId"], lock=True)
    bound = float(params.get("UserMatchThreshold", ASSOCIATE_THRESHOLD))
    wanted = list(dict.fromkeys(params["FaceIds"]))
    faces = {face.face_id: face for face in session.scalars(select(IndexedFace).where(
        IndexedFace.collection_pk == collection.id, IndexedFace.face_id.in_(wanted)).with_for_update())}
    owners = face_collections.user_ids(session, faces.values())
    associated, failed = [], []
    for face_id in wanted:
        face = faces.get(face_id)
        if face is None:
            failed.append({"FaceId": face_id, "UserId": user.user_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_pk is not None and face.user_pk != user.id:
            failed.append({"FaceId": face_id, "UserId": owners[face.user_pk],
                           "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
        elif face.user_pk == user.id:
            associated.append({"FaceId": face_id})
        else:
            score = 100.0 if user.embedding is None else similarity(float(unit(face.embedding) @ unit(user.embedding)))
            if score < bound:
                failed.append({"FaceId": face_id, "UserId": user.user_id, "Confidence": score,
                               "Reasons": ["LOW_MATCH_CONFIDENCE"]})
                continue
            face.user_pk = user.id
            associated.append({"FaceId": face_id})
            if user.embedding is None:  # the first face defines whom later faces must match
                _refresh_vector(session, user)
    _refresh_vector(session, user)
    return {"AssociatedFaces": associated, "UnsuccessfulFaceAssociations": failed, "UserStatus": status(user)}


@operation("DisassociateFaces")
def disassociate_faces(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    user = find_user(session, collection, params["UserId"], lock=True)
    wanted = list(dict.fromkeys(params["FaceIds"]))
    faces = {face.face_id: face for face in session.scalars(select(IndexedFace).where(
        IndexedFace.collection_pk == collection.id, IndexedFace.face_id.in_(wanted)).with_for_update())}
    done, failed = [], []
    for face_id in wanted:
        face = faces.get(face_id)
        if face is None:
            failed.append({"FaceId": face_id, "UserId": user.user_id, "Reasons": ["FACE_NOT_FOUND"]})
        elif face.user_pk != user.id:
            failed.append({"FaceId": face_id, "UserId": user.user_id, "Reasons": ["ASSOCIATED_TO_A_DIFFERENT_USER"]})
        else:
            face.user_pk = None
            done.append({"FaceId": face_id})
    _refresh_vector(session, user)
    return {"DisassociatedFaces": done, "UnsuccessfulFaceDisassociations": failed, "UserStatus": status(user)}


def search_users(session: Session, collection: FaceCollection, vector, *, threshold: float, max_users: int,
                 exclude: int | None = None) -> list[dict]:
    where = [FaceUser.collection_pk == collection.id, FaceUser.embedding.is_not(None)]
    if exclude is not None:
        where.append(FaceUser.id != exclude)
    hits = nearest(session, FaceUser, vector, where=where, limit=max_users, min_cosine=cosine_threshold(threshold))
    return [{"Similarity": similarity(hit.cosine), "User": {"UserId": hit.row.user_id, "UserStatus": status(hit.row)}}
            for hit in hits]


def _search_params(params: dict) -> tuple[float, int]:
    return (float(params.get("UserMatchThreshold", SEARCH_THRESHOLD)),
            min(int(params.get("MaxUsers") or MAX_USERS), MAX_USERS))


@operation("SearchUsers")
def search_users_op(session: Session, account: str, params: dict) -> dict:
    collection = find_collection(session, account, params["CollectionId"])
    if bool(params.get("UserId")) == bool(params.get("FaceId")):
        raise errors.InvalidParameter("Give exactly one of UserId or FaceId.")
    threshold, max_users = _search_params(params)
    out: dict = {}
    if params.get("UserId"):
        user = find_user(session, collection, params["UserId"])
        if user.embedding is None:
            raise errors.InvalidParameter(f"The user {user.user_id} has no faces associated.")
        out["UserMatches"] = search_users(session, collection, user.embedding, threshold=threshold,
                                          max_users=max_users, exclude=user.id)
        out["SearchedUser"] = {"UserId": user.user_id}
    else:
        face = session.scalar(select(IndexedFace).where(IndexedFace.collection_pk == collection.id,
                                                        IndexedFace.face_id == params["FaceId"]))
        if face is None:
            raise errors.ResourceNotFound(f"The face id: {params['FaceId']} is not in the collection.")
        out["UserMatches"] = search_users(session, collection, face.embedding, threshold=threshold,
                                          max_users=max_users)
        out["SearchedFace"] = {"FaceId": face.face_id}
    out["FaceModelVersion"] = collection.face_model_version
    return out


@operation("SearchUsersByImage")
def search_users_by_image(session: Session, account: str, params: dict) -> dict:
    collection_id = params["CollectionId"]
    face_collections.check_model(find_collection(session, account, collection_id))
    found = face_collections.faces_of_image(session, account, params)
    return search_users_in_image(session, find_collection(session, account, collection_id), found, params)


def search_users_in_image(session: Session, collection: FaceCollection, found: dict, params: dict) -> dict:
    """SearchUsersByImage's database half: the largest face passing the QualityFilter is searched;
    every other face is listed with why it was not."""
    threshold, max_users = _search_params(params)
    level = params.get("QualityFilter") or "NONE"
    searched, unsearched = None, []
    for face in found["Faces"]:  # largest first
        why = reasons(face["FaceDetail"], found["Height"], level)
        if not why and searched is None:
            searched = face
            continue
        unsearched.append({"FaceDetails": face["FaceDetail"], "Reasons": why or ["FACE_NOT_LARGEST"]})
    if searched is None:
        raise errors.InvalidParameter("There are no faces in the image. Should be at least 1.")
    return {"UserMatches": search_users(session, collection, searched["Vector"], threshold=threshold,
                                        max_users=max_users),
            "FaceModelVersion": collection.face_model_version,
            "SearchedFace": {"FaceDetail": searched["FaceDetail"]}, "UnsearchedFaces": unsearched}

