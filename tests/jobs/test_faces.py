"""Faces on the worker and in the database: DetectFaces, CompareFaces, collections (IndexFaces'
and SearchFacesByImage's two halves), face detection and face search jobs in this process, all
with the real models, real photos and a real PostgreSQL with pgvector."""
from __future__ import annotations

import base64
import secrets
import shutil

import numpy as np
import pytest

from jobs import errors, face_collections, images, lifecycle, services
from jobs.database import session_scope
from jobs.engine import Inference
from tests.conftest import media

ACCOUNT = "AKIDUNIT000000000001"
OTHER = "AKIDUNIT000000000002"
LIN, ALEX = "lin-manuel-miranda.png", "alex-lacamoire.png"


@pytest.fixture(scope="module")
def inference(models_dir) -> Inference:
    return Inference(models_dir, "cpu")


def _image(name: str) -> dict:
    return {"bytes": base64.b64encode(media(f"faces/{name}").read_bytes()).decode()}


def _run(name: str, params: dict, inputs: dict, inference) -> dict:
    reply = images.run(name, params, inputs, inference)
    if "error" in reply:
        raise errors.by_code(reply["error"]["code"])(reply["error"]["message"])
    return reply["body"]


def _vectors(name: str, inference) -> dict:
    return _run(face_collections.FACE_VECTORS, {}, {"Image": _image(name)}, inference)


# ---------------------------------------------------------------------------------------------
# image operations on the worker


def test_detect_faces_finds_both_people_with_default_members(inference):
    faces = _run("DetectFaces", {}, {"Image": _image("two_people.jpg")}, inference)["FaceDetails"]
    assert len(faces) == 2
    for face in faces:
        assert set(face) == {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"}
        assert [mark["Type"] for mark in face["Landmarks"]] == ["eyeLeft", "eyeRight", "nose", "mouthLeft",
                                                                 "mouthRight"]
        assert face["Confidence"] > 80
    assert faces[0]["BoundingBox"]["Width"] * faces[0]["BoundingBox"]["Height"] >= \
        faces[1]["BoundingBox"]["Width"] * faces[1]["BoundingBox"]["Height"], "largest first"


def test_detect_faces_all_adds_only_what_a_model_produces(inference):
    (face,) = _run("DetectFaces", {"Attributes": ["ALL"]}, {"Image": _image("obama.jpg")}, inference)["FaceDetails"]
    assert {"AgeRange", "Gender", "Emotions"} <= set(face)
    assert not {"Smile", "EyesOpen", "MouthOpen", "Beard", "Eyeglasses", "FaceOccluded"} & set(face)
    assert face["Gender"]["Value"] == "Male"
    assert sum(e["Confidence"] for e in face["Emotions"]) == pytest.approx(100, abs=0.5)


def test_compare_faces_matches_obama_not_biden(inference):
    same = _run("CompareFaces", {}, {"SourceImage": _image("obama.jpg"), "TargetImage": _image("obama2.jpg")},
                inference)
    assert len(same["FaceMatches"]) == 1 and same["FaceMatches"][0]["Similarity"] >= 90
    assert same["UnmatchedFaces"] == [] and same["SourceImageFace"]["Confidence"] > 80
    other = _run("CompareFaces", {}, {"SourceImage": _image("obama.jpg"), "TargetImage": _image("biden.jpg")},
                 inference)
    assert other["FaceMatches"] == [] and len(other["UnmatchedFaces"]) == 1
    # In a photo of both, only the left face (Obama) matches.
    both = _run("CompareFaces", {}, {"SourceImage": _image("obama2.jpg"), "TargetImage": _image("two_people.jpg")},
                inference)
    assert len(both["FaceMatches"]) == 1 and len(both["UnmatchedFaces"]) == 1
    assert both["FaceMatches"][0]["Face"]["BoundingBox"]["Left"] < both["UnmatchedFaces"][0]["BoundingBox"]["Left"]


def test_no_face_and_corrupt_images_are_rekognition_errors(inference):
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.coffee()).save(buffer, format="PNG")
    coffee = {"bytes": base64.b64encode(buffer.getvalue()).decode()}
    reply = images.run("CompareFaces", {}, {"SourceImage": coffee, "TargetImage": _image("obama.jpg")}, inference)
    assert reply["error"]["code"] == "InvalidParameterException" and "no faces" in reply["error"]["message"]
    assert _run("DetectFaces", {}, {"Image": coffee}, inference) == {"FaceDetails": []}
    corrupt = {"bytes": base64.b64encode(media("faces/obama.jpg").read_bytes()[:300]).decode()}
    reply = images.run("DetectFaces", {}, {"Image": corrupt}, inference)
    assert reply["error"]["code"] == "InvalidImageFormatException"


# ---------------------------------------------------------------------------------------------
# collections in PostgreSQL


def _collection(session, account=ACCOUNT) -> str:
    collection_id = f"people-{secrets.token_hex(3)}"
    face_collections.create_collection(session, account, {"CollectionId": collection_id})
    return collection_id


def _index(session, collection_id: str, name: str, inference, account=ACCOUNT, **params) -> dict:
    collection = face_collections.find_collection(session, account, collection_id)
    return face_collections.store_faces(session, collection, _vectors(name, inference),
                                        {"ExternalImageId": name.split(".")[0], **params})


def test_collection_lifecycle_and_tenants(session):
    collection_id = _collection(session)
    with pytest.raises(errors.ResourceAlreadyExists):
        face_collections.create_collection(session, ACCOUNT, {"CollectionId": collection_id})
    described = face_collections.describe_collection(session, ACCOUNT, {"CollectionId": collection_id})
    assert described["FaceCount"] == 0 and described["FaceModelVersion"] == "yunet-2023mar-int8bq,sface-2021dec-int8bq"
    assert described["CollectionARN"].endswith(f":{ACCOUNT}:collection/{collection_id}")
    with pytest.raises(errors.ResourceNotFound):
        face_collections.describe_collection(session, OTHER, {"CollectionId": collection_id})
    face_collections.create_collection(session, OTHER, {"CollectionId": collection_id})  # its own namespace
    listed = face_collections.list_collections(session, ACCOUNT, {})
    assert collection_id in listed["CollectionIds"] and len(listed["FaceModelVersions"]) == len(listed["CollectionIds"])
    face_collections.delete_collection(session, ACCOUNT, {"CollectionId": collection_id})
    with pytest.raises(errors.ResourceNotFound):
        face_collections.describe_collection(session, ACCOUNT, {"CollectionId": collection_id})
    assert face_collections.describe_collection(session, OTHER, {"CollectionId": collection_id})["FaceCount"] == 0


def test_list_collections_pages(session):
    ids = sorted(_collection(session, account=OTHER) for _ in range(3))
    seen, token = [], None
    while True:
        page = face_collections.list_collections(session, OTHER, {"MaxResults": 2, **({"NextToken": token} if token else {})})
        seen += page["CollectionIds"]
        token = page.get("NextToken")
        if not token:
            break
    assert [c for c in seen if c in ids] == ids and len(seen) == len(set(seen))


def test_index_search_list_delete_faces(session, inference):
    collection_id = _collection(session)
    lin = _index(session, collection_id, LIN, inference)
    alex = _index(session, collection_id, ALEX, inference)
    assert len(lin["FaceRecords"]) == 1 and lin["UnindexedFaces"] == []
    lin_face = lin["FaceRecords"][0]["Face"]
    assert lin_face["ExternalImageId"] == "lin-manuel-miranda"
    assert lin_face["IndexFacesModelVersion"] == lin["FaceModelVersion"]
    collection = face_collections.find_collection(session, ACCOUNT, collection_id)

    # SearchFacesByImage: another photo of a person finds only that person.
    two = _index(session, collection_id, "obama.jpg", inference)
    found = face_collections.search_image_faces(session, collection, _vectors("obama2.jpg", inference), {})
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == ["obama"]
    assert found["FaceMatches"][0]["Similarity"] >= 90
    assert face_collections.search_image_faces(session, collection, _vectors("biden.jpg", inference),
                                               {})["FaceMatches"] == []
    # SearchFaces by FaceId: never itself; Lin is not Alex.
    by_id = face_collections.search_faces(session, ACCOUNT, {"CollectionId": collection_id,
                                                             "FaceId": lin_face["FaceId"]})
    assert by_id["SearchedFaceId"] == lin_face["FaceId"] and by_id["FaceMatches"] == []
    low = face_collections.search_faces(session, ACCOUNT, {"CollectionId": collection_id, "FaceId": lin_face["FaceId"],
                                                           "FaceMatchThreshold": 0})
    assert {m["Face"]["FaceId"] for m in low["FaceMatches"]} == {alex["FaceRecords"][0]["Face"]["FaceId"],
                                                                 two["FaceRecords"][0]["Face"]["FaceId"]}
    assert [m["Similarity"] for m in low["FaceMatches"]] == sorted((m["Similarity"] for m in low["FaceMatches"]),
                                                                   reverse=True)
    with pytest.raises(errors.InvalidParameter, match="no faces"):
        face_collections.search_image_faces(session, collection, {"Width": 10, "Height": 10, "Faces": []}, {})

    listed = face_collections.list_faces(session, ACCOUNT, {"CollectionId": collection_id, "MaxResults": 2})
    assert len(listed["Faces"]) == 2 and listed["NextToken"]
    rest = face_collections.list_faces(session, ACCOUNT, {"CollectionId": collection_id,
                                                          "NextToken": listed["NextToken"]})
    assert len(rest["Faces"]) == 1 and "NextToken" not in rest
    deleted = face_collections.delete_faces(session, ACCOUNT, {"CollectionId": collection_id,
                                                              "FaceIds": [lin_face["FaceId"], "0" * 8 + "-0000-0000-0000-" + "0" * 12]})
    assert deleted["DeletedFaces"] == [lin_face["FaceId"]]
    assert deleted["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["FACE_NOT_FOUND"]
    assert face_collections.describe_collection(session, ACCOUNT, {"CollectionId": collection_id})["FaceCount"] == 2
    with pytest.raises(errors.ResourceNotFound):
        face_collections.list_faces(session, OTHER, {"CollectionId": collection_id})


def test_index_faces_max_faces_and_quality_filter(session, inference):
    collection_id = _collection(session)
    result = _index(session, collection_id, "two_people.jpg", inference, MaxFaces=1)
    assert len(result["FaceRecords"]) == 1
    assert [u["Reasons"] for u in result["UnindexedFaces"]] == [["EXCEEDS_MAX_FACES"]]
    found = _vectors("two_people.jpg", inference)
    tiny = {**found, "Height": 40}  # the same faces as if the image were 40 pixels high
    result = face_collections.store_faces(session, face_collections.find_collection(session, ACCOUNT, collection_id),
                                          tiny, {"QualityFilter": "HIGH"})
    assert result["FaceRecords"] == [] and all("SMALL_BOUNDING_BOX" in u["Reasons"] for u in result["UnindexedFaces"])


def test_a_collection_of_another_face_model_is_refused(session):
    collection_id = _collection(session)
    collection = face_collections.find_collection(session, ACCOUNT, collection_id)
    collection.face_model_version = "some-older-model"
    with pytest.raises(errors.InvalidParameter, match="face model"):
        face_collections.check_model(collection)


# ---------------------------------------------------------------------------------------------
# video jobs in this process


def _run_job(job_id: str) -> None:
    """What the Celery tasks do, in order, in this process."""
    plan = lifecycle.plan(job_id)
    for index in plan.chunk_indexes:
        lifecycle.analyze(job_id, index)
    assert lifecycle.finalize(job_id)


def _clip(framewise_env, name: str = "short_hamilton_clip.mp4") -> dict:
    key = f"{secrets.token_hex(3)}-{name}"
    shutil.copyfile(media(f"faces/{name}"), framewise_env.bucket_root / "unit" / key)
    return {"S3Object": {"Bucket": "unit", "Name": key}}


def _all(analysis: str, job_id: str, **kwargs) -> list[dict]:
    from jobs import analyses

    items, token = [], None
    while True:
        with session_scope() as session:
            page = services.get_results(session, ACCOUNT, analysis, job_id, next_token=token, **kwargs)
        assert page["JobStatus"] == "SUCCEEDED", page
        items += page[analyses.get(analysis).items_key]
        token = page.get("NextToken")
        if not token:
            return items


@pytest.fixture(scope="module")
def hamilton_collection(framewise_env, models_dir) -> str:
    """A committed collection holding Lin-Manuel Miranda's and Alex Lacamoire's reference photos."""
    inference = Inference(models_dir, "cpu")
    with session_scope() as session:
        collection_id = _collection(session)
        for name in (LIN, ALEX):
            assert len(_index(session, collection_id, name, inference)["FaceRecords"]) == 1
    return collection_id


def test_face_detection_job_on_the_clip(framewise_env):
    with session_scope() as session:
        job_id = services.start_analysis_job(session, ACCOUNT, {"Video": _clip(framewise_env), "FaceAttributes": "ALL"},
                                             analysis="faces")["JobId"]
    _run_job(job_id)
    faces = _all("faces", job_id, max_results=7)
    times = [item["Timestamp"] for item in faces]
    assert times == sorted(times) and len({t for t in times if 4000 <= t < 8000}) == 8, "Lin on every frame there"
    assert all({"AgeRange", "Gender", "Emotions", "Landmarks", "Pose", "Quality"} <= set(item["Face"]) for item in faces)


def _names(persons: list[dict]) -> dict[str, set[int]]:
    """ExternalImageId -> timestamps it was matched at; each sighting matches one name only."""
    who: dict[str, set[int]] = {}
    for item in persons:
        names = {m["Face"]["ExternalImageId"] for m in item["FaceMatches"]}
        assert len(names) == 1, item["FaceMatches"]
        who.setdefault(names.pop(), set()).add(item["Timestamp"])
        assert all(m["Similarity"] >= 80 for m in item["FaceMatches"])
    return who


def _assert_lin_and_alex(persons: list[dict]) -> None:
    who = _names(persons)
    lin, alex = who.get("lin-manuel-miranda", set()), who.get("alex-lacamoire", set())
    # As decoded: Lin on stage (right) and Alex at the piano (left) at 0-0.5 s, Alex in profile
    # close-ups at 1-2.5 s, Lin's close-ups at 3-7 s, the audience (Obama among it) from 7.5 s.
    assert {t for t in lin if 3000 <= t < 7500} and {t for t in alex if t < 1000}
    assert not {t for t in lin if 1000 <= t < 3000 or t >= 7500}
    assert not {t for t in alex if t >= 3000}
    for item in persons:
        if item["Timestamp"] < 1000:  # both on screen: Lin stands right of Alex
            left = item["Person"]["BoundingBox"]["Left"]
            name = item["FaceMatches"][0]["Face"]["ExternalImageId"]
            assert (left > 0.5) == (name == "lin-manuel-miranda"), (item["Timestamp"], left, name)


def test_face_search_finds_each_person_and_never_confuses_them(framewise_env, hamilton_collection):
    with session_scope() as session:
        job_id = services.start_analysis_job(session, ACCOUNT, {"Video": _clip(framewise_env),
                                                                "CollectionId": hamilton_collection},
                                             analysis="face_search")["JobId"]
        with pytest.raises(errors.ResourceNotFound):
            services.start_analysis_job(session, ACCOUNT, {"Video": _clip(framewise_env), "CollectionId": "nope"},
                                        analysis="face_search")
        with pytest.raises(errors.ResourceNotFound):  # another tenant's collection is not there
            services.start_analysis_job(session, OTHER, {"Video": _clip(framewise_env),
                                                         "CollectionId": hamilton_collection}, analysis="face_search")
    _run_job(job_id)
    persons = _all("face_search", job_id)
    _assert_lin_and_alex(persons)
    by_index = _all("face_search", job_id, sort_by="INDEX")
    indexes = [item["Person"]["Index"] for item in by_index]
    assert indexes == sorted(indexes) and sorted(map(str, by_index)) == sorted(map(str, persons))
    lin_indexes = {item["Person"]["Index"] for item in persons
                   if item["FaceMatches"][0]["Face"]["ExternalImageId"] == "lin-manuel-miranda" and item["Timestamp"] >= 3000}
    assert len(lin_indexes) == 1, "one person, one index, across the chunk edge at 4 s"


def test_face_search_with_strangers_indexed_names_only_who_is_there(framewise_env, models_dir):
    """Obama, Biden, Lin and Alex indexed (the admin collection test's set, plus Alex). The clip is
    the 2009 White House poetry evening: its last shot (7.5 s on) is the audience, Barack Obama
    in the middle, chin on hand, between Michelle Obama (right) and Marian Robinson (left); his face
    there scores cosine 0.48-0.59 against obama.jpg, obama2.jpg and two_people.jpg's Obama alike, every
    other face below 0.25. So Obama is named there, on that one face, and nowhere else; Biden, who
    is not in the clip, never; Lin and Alex as in the test above."""
    inference = Inference(models_dir, "cpu")
    with session_scope() as session:
        collection_id = _collection(session)
        for name in ("obama.jpg", "biden.jpg", LIN, ALEX):
            assert len(_index(session, collection_id, name, inference)["FaceRecords"]) == 1
        job_id = services.start_analysis_job(session, ACCOUNT, {"Video": _clip(framewise_env),
                                                                "CollectionId": collection_id},
                                             analysis="face_search")["JobId"]
    _run_job(job_id)
    persons = _all("face_search", job_id)
    _assert_lin_and_alex(persons)
    who = _names(persons)
    assert set(who) == {"lin-manuel-miranda", "alex-lacamoire", "obama"}, who
    assert min(who["obama"]) >= 7500 and len(who["obama"]) >= 3, who["obama"]
    obama = [item["Person"] for item in persons if item["FaceMatches"][0]["Face"]["ExternalImageId"] == "obama"]
    assert len({person["Index"] for person in obama}) == 1, "one track, one person"
    assert len(obama) == len(who["obama"]), "one face per frame, not the people beside him"
    assert all(0.4 < person["BoundingBox"]["Left"] < 0.6 for person in obama), obama


def test_celebrity_gallery_from_the_cli_names_them_in_the_clip(framewise_env, inference, capsys):
    from jobs import celebrities, cli

    with session_scope() as session:
        assert celebrities.gallery(session) == []
        empty = celebrities.recognise_faces(session, _vectors("two_people.jpg", inference))
        assert empty["CelebrityFaces"] == [] and len(empty["UnrecognizedFaces"]) == 2, "empty gallery: nobody"
    cli.main(["celebrities", "add", "--name", "Lin-Manuel  Miranda", "--url", "https://www.linmanuel.com/",
              "--gender", "Male", str(media(f"faces/{LIN}"))])
    cli.main(["celebrities", "add", "--name", "Alex Lacamoire", "--gender", "Male", str(media(f"faces/{ALEX}"))])
    lin_id = celebrities.celebrity_id("Lin-Manuel Miranda")
    assert capsys.readouterr().out.startswith(f"{lin_id}\tLin-Manuel Miranda")
    try:
        with session_scope() as session:
            assert celebrities.get_celebrity_info(session, OTHER, {"Id": lin_id}) == {
                "Urls": ["https://www.linmanuel.com/"], "Name": "Lin-Manuel Miranda", "KnownGender": {"Type": "Male"}}
            with pytest.raises(errors.ResourceNotFound):
                celebrities.get_celebrity_info(session, ACCOUNT, {"Id": "nobody"})
            # Someone not in the gallery is not named.
            clip_face = celebrities.recognise_faces(session, _vectors("obama.jpg", inference))
            assert clip_face["CelebrityFaces"] == [] and len(clip_face["UnrecognizedFaces"]) == 1
            job_id = services.start_analysis_job(session, ACCOUNT, {"Video": _clip(framewise_env)},
                                                 analysis="celebrities")["JobId"]
        _run_job(job_id)
        seen: dict[str, set[int]] = {}
        for item in _all("celebrities", job_id):
            seen.setdefault(item["Celebrity"]["Name"], set()).add(item["Timestamp"])
            assert item["Celebrity"]["Confidence"] >= celebrities.MATCH_THRESHOLD
            assert set(item["Celebrity"]["Face"]) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
        lin, alex = seen.get("Lin-Manuel Miranda", set()), seen.get("Alex Lacamoire", set())
        assert {t for t in lin if 3000 <= t < 7500} and {t for t in alex if t < 1000}
        assert not {t for t in lin if 1000 <= t < 3000 or t >= 7500} and not {t for t in alex if t >= 3000}
        ids = [item["Celebrity"]["Id"] for item in _all("celebrities", job_id, sort_by="ID")]
        assert ids == sorted(ids) and lin_id in ids
    finally:
        with session_scope() as session:
            for celebrity, _ in celebrities.gallery(session):
                celebrities.remove(session, celebrity.id)


def test_user_vectors(session, inference):
    from jobs import face_users

    collection_id = _collection(session)
    ids = {name: _index(session, collection_id, name, inference)["FaceRecords"][0]["Face"]["FaceId"]
           for name in ("obama.jpg", "obama2.jpg", LIN, ALEX)}
    request = {"CollectionId": collection_id}
    face_users.create_user(session, ACCOUNT, {**request, "UserId": "barack"})
    with pytest.raises(errors.Conflict):
        face_users.create_user(session, ACCOUNT, {**request, "UserId": "barack"})
    assert face_users.list_users(session, ACCOUNT, request)["Users"] == [{"UserId": "barack", "UserStatus": "CREATED"}]
    answer = face_users.associate_faces(session, ACCOUNT, {**request, "UserId": "barack", "FaceIds": [
        ids["obama.jpg"], ids["obama2.jpg"], ids[LIN], "00000000-0000-0000-0000-000000000000"]})
    assert answer["AssociatedFaces"] == [{"FaceId": ids["obama.jpg"]}, {"FaceId": ids["obama2.jpg"]}]
    assert [(f["FaceId"], f["Reasons"]) for f in answer["UnsuccessfulFaceAssociations"]] == [
        (ids[LIN], ["LOW_MATCH_CONFIDENCE"]), ("00000000-0000-0000-0000-000000000000", ["FACE_NOT_FOUND"])]
    assert answer["UserStatus"] == "ACTIVE"
    face_users.create_user(session, ACCOUNT, {**request, "UserId": "lin"})
    taken = face_users.associate_faces(session, ACCOUNT, {**request, "UserId": "lin", "FaceIds": [ids["obama.jpg"],
                                                                                                   ids[LIN]]})
    assert taken["AssociatedFaces"] == [{"FaceId": ids[LIN]}]
    assert taken["UnsuccessfulFaceAssociations"][0]["Reasons"] == ["ASSOCIATED_TO_A_DIFFERENT_USER"]
    assert taken["UnsuccessfulFaceAssociations"][0]["UserId"] == "barack"

    described = face_collections.describe_collection(session, ACCOUNT, request)
    assert described["UserCount"] == 2 and described["FaceCount"] == 4
    listed = face_collections.list_faces(session, ACCOUNT, {**request, "UserId": "barack"})["Faces"]
    assert sorted(f["FaceId"] for f in listed) == sorted([ids["obama.jpg"], ids["obama2.jpg"]])
    assert {f["UserId"] for f in listed} == {"barack"}

    collection = face_collections.find_collection(session, ACCOUNT, collection_id)
    by_image = face_users.search_users_in_image(session, collection, _vectors("two_people.jpg", inference), {})
    assert [u["Reasons"] for u in by_image["UnsearchedFaces"]] == [["FACE_NOT_LARGEST"]]
    searched_left = by_image["SearchedFace"]["FaceDetail"]["BoundingBox"]["Left"] < 0.5  # Obama is on the left
    assert [m["User"]["UserId"] for m in by_image["UserMatches"]] == (["barack"] if searched_left else [])
    obama = face_users.search_users_in_image(session, collection, _vectors("obama2.jpg", inference), {})
    assert [m["User"]["UserId"] for m in obama["UserMatches"]] == ["barack"] and obama["UserMatches"][0]["Similarity"] >= 90
    biden = face_users.search_users_in_image(session, collection, _vectors("biden.jpg", inference), {})
    assert biden["UserMatches"] == [] and biden["UnsearchedFaces"] == []
    by_face = face_users.search_users_op(session, ACCOUNT, {**request, "FaceId": ids["obama2.jpg"]})
    assert [m["User"]["UserId"] for m in by_face["UserMatches"]] == ["barack"]
    assert face_users.search_users_op(session, ACCOUNT, {**request, "UserId": "barack"})["UserMatches"] == []

    refused = face_collections.delete_faces(session, ACCOUNT, {**request, "FaceIds": [ids["obama.jpg"]]})
    assert refused["UnsuccessfulFaceDeletions"][0]["Reasons"] == ["ASSOCIATED_TO_AN_EXISTING_USER"]
    gone = face_users.disassociate_faces(session, ACCOUNT, {**request, "UserId": "barack",
                                                            "FaceIds": [ids["obama2.jpg"], ids[LIN]]})
    assert gone["DisassociatedFaces"] == [{"FaceId": ids["obama2.jpg"]}] and gone["UserStatus"] == "ACTIVE"
    assert gone["UnsuccessfulFaceDisassociations"][0]["Reasons"] == ["ASSOCIATED_TO_A_DIFFERENT_USER"]
    face_users.delete_user(session, ACCOUNT, {**request, "UserId": "barack"})
    with pytest.raises(errors.ResourceNotFound):
        face_users.delete_user(session, ACCOUNT, {**request, "UserId": "barack"})
    assert face_collections.delete_faces(session, ACCOUNT, {**request, "FaceIds": [ids["obama.jpg"]]})["DeletedFaces"]
    with pytest.raises(errors.ResourceNotFound):
        face_users.list_users(session, OTHER, request)


def test_nearest_agrees_with_an_exact_search(session):
    """HNSW candidates re-ranked exactly, and the exact scan small collections get: the same faces,
    in the same order, as numpy finds."""
    import uuid

    from jobs.face_index import nearest
    from jobs.records import IndexedFace

    collection = face_collections.find_collection(session, ACCOUNT, _collection(session))
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(400, 128))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    faces = [IndexedFace(face_id=str(uuid.uuid4()), collection_pk=collection.id, image_id=str(uuid.uuid4()),
                         bounding_box={}, confidence=99.0, embedding=v.astype(np.float32)) for v in vectors]
    session.add_all(faces)
    session.flush()
    for query in vectors[:5] + 0.3 * rng.normal(size=(5, 128)) / np.sqrt(128):
        query /= np.linalg.norm(query)
        hits = nearest(session, IndexedFace, query, where=[IndexedFace.collection_pk == collection.id], limit=5)
        exact = np.argsort(-(vectors @ query))[:5]
        assert [hit.row.face_id for hit in hits] == [faces[i].face_id for i in exact]
        scanned = nearest(session, IndexedFace, query, where=[IndexedFace.collection_pk == collection.id], limit=5,
                          rows_filtered=len(faces))  # small: the exact scan
        assert [hit.row.face_id for hit in scanned] == [faces[i].face_id for i in exact]
        assert [hit.cosine for hit in hits] == pytest.approx(list((vectors @ query)[exact]), abs=1e-5)
