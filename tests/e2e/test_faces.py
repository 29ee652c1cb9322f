"""Faces end to end: an unmodified boto3 client (and the framewise CLI for the celebrity gallery)
against the real stack — DetectFaces, CompareFaces, collections, face search, face detection and
celebrity recognition on real photos and a real clip."""
from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from tests.conftest import REPO, media
from tests.e2e.conftest import BUCKET, TENANT_B

pytestmark = pytest.mark.e2e

LIN, ALEX = "lin-manuel-miranda", "alex-lacamoire"


def _bytes(name: str) -> bytes:
    return media(f"faces/{name}").read_bytes()


def _pages(client, method: str, job_id: str, items_key: str, **kwargs) -> list[dict]:
    items, token = [], None
    while True:
        page = getattr(client, method)(JobId=job_id, MaxResults=5, **({"NextToken": token} if token else {}), **kwargs)
        assert page["JobStatus"] == "SUCCEEDED", page.get("StatusMessage")
        items += page[items_key]
        token = page.get("NextToken")
        if not token:
            return items


def test_detect_and_compare_faces(stack):
    client = stack.client()
    faces = client.detect_faces(Image={"Bytes": _bytes("two_people.jpg")})["FaceDetails"]
    assert len(faces) == 2
    assert {mark["Type"] for mark in faces[0]["Landmarks"]} == {"eyeLeft", "eyeRight", "nose", "mouthLeft",
                                                                "mouthRight"}
    (face,) = client.detect_faces(Image={"Bytes": _bytes("obama.jpg")}, Attributes=["ALL"])["FaceDetails"]
    assert face["Gender"]["Value"] == "Male" and face["AgeRange"]["Low"] <= face["AgeRange"]["High"]
    assert "Smile" not in face and "Beard" not in face, "no model produces these: absent, not invented"
    same = client.compare_faces(SourceImage={"Bytes": _bytes("obama.jpg")}, TargetImage={"Bytes": _bytes("obama2.jpg")})
    assert len(same["FaceMatches"]) == 1 and same["FaceMatches"][0]["Similarity"] >= 90
    other = client.compare_faces(SourceImage={"Bytes": _bytes("obama.jpg")}, TargetImage={"Bytes": _bytes("biden.jpg")})
    assert other["FaceMatches"] == [] and len(other["UnmatchedFaces"]) == 1


def test_bad_input_errors(stack):
    client = stack.client()
    with pytest.raises(client.exceptions.InvalidImageFormatException):
        client.detect_faces(Image={"Bytes": _bytes("obama.jpg")[:500]})
    with pytest.raises(client.exceptions.ImageTooLargeException):
        client.detect_faces(Image={"Bytes": b"\xff\xd8\xff" + bytes(20 * 1024 * 1024)})
    collection_id = "bad-input-" + secrets.token_hex(3)
    client.create_collection(CollectionId=collection_id)
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.coffee()).save(buffer, format="PNG")
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.search_faces_by_image(CollectionId=collection_id, Image={"Bytes": buffer.getvalue()})
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
        client.create_collection(CollectionId=collection_id)
    client.delete_collection(CollectionId=collection_id)
    for call in (lambda: client.describe_collection(CollectionId=collection_id),
                 lambda: client.index_faces(CollectionId=collection_id, Image={"Bytes": _bytes("obama.jpg")}),
                 lambda: client.search_faces_by_image(CollectionId=collection_id, Image={"Bytes": _bytes("obama.jpg")}),
                 lambda: client.delete_collection(CollectionId=collection_id)):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            call()


@pytest.fixture(scope="module")
def hamilton(stack) -> dict:
    """A collection with Lin-Manuel Miranda (from S3) and Alex Lacamoire (from bytes), and the clip."""
    client = stack.client()
    collection_id = "hamilton-" + secrets.token_hex(3)
    created = client.create_collection(CollectionId=collection_id)
    assert created["StatusCode"] == 200 and created["CollectionArn"].endswith(f"collection/{collection_id}")
    stack.upload(media(f"faces/{LIN}.png"), "faces/lin.png")
    lin = client.index_faces(CollectionId=collection_id, Image={"S3Object": {"Bucket": BUCKET, "Name": "faces/lin.png"}},
                             ExternalImageId=LIN, DetectionAttributes=["ALL"])
    alex = client.index_faces(CollectionId=collection_id, Image={"Bytes": _bytes(f"{ALEX}.png")}, ExternalImageId=ALEX)
    assert len(lin["FaceRecords"]) == 1 and len(alex["FaceRecords"]) == 1
    assert "Gender" in lin["FaceRecords"][0]["FaceDetail"]
    return {"collection": collection_id, "video": stack.upload(media("faces/short_hamilton_clip.mp4"), "faces/clip.mp4"),
            "faces": {LIN: lin["FaceRecords"][0]["Face"]["FaceId"], ALEX: alex["FaceRecords"][0]["Face"]["FaceId"]}}


def test_collections_through_boto3_and_its_paginators(stack, hamilton):
    client = stack.client()
    described = client.describe_collection(CollectionId=hamilton["collection"])
    assert described["FaceCount"] == 2 and described["FaceModelVersion"]
    collections = client.get_paginator("list_collections").paginate(PaginationConfig={"PageSize": 1}).build_full_result()
    assert hamilton["collection"] in collections["CollectionIds"]
    assert len(collections["FaceModelVersions"]) == len(collections["CollectionIds"])
    faces = client.get_paginator("list_faces").paginate(CollectionId=hamilton["collection"],
                                                        PaginationConfig={"PageSize": 1}).build_full_result()
    assert {face["ExternalImageId"] for face in faces["Faces"]} == {LIN, ALEX}
    found = client.search_faces_by_image(CollectionId=hamilton["collection"], Image={"Bytes": _bytes(f"{LIN}.png")})
    assert [m["Face"]["ExternalImageId"] for m in found["FaceMatches"]] == [LIN]
    assert client.search_faces(CollectionId=hamilton["collection"], FaceId=hamilton["faces"][LIN])["FaceMatches"] == []
    other = stack.client(TENANT_B)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.describe_collection(CollectionId=hamilton["collection"])
    assert hamilton["collection"] not in other.list_collections()["CollectionIds"]


def test_face_search_on_the_clip(stack, hamilton):
    client = stack.client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.start_face_search(Video=hamilton["video"], CollectionId="no-such-collection")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        stack.client(TENANT_B).start_face_search(Video=hamilton["video"], CollectionId=hamilton["collection"])
    job_id = client.start_face_search(Video=hamilton["video"], CollectionId=hamilton["collection"])["JobId"]
    stack.wait_for_job(client, job_id, getter="get_face_search")
    persons = _pages(client, "get_face_search", job_id, "Persons")
    seen: dict[str, set[int]] = {}
    for item in persons:
        (match,) = item["FaceMatches"]
        seen.setdefault(match["Face"]["ExternalImageId"], set()).add(item["Timestamp"])
        assert match["Similarity"] >= 80 and match["Face"]["FaceId"] == hamilton["faces"][match["Face"]["ExternalImageId"]]
    lin, alex = seen.get(LIN, set()), seen.get(ALEX, set())
    # As decoded: Lin on stage and Alex at the piano at 0-0.5 s, Alex in profile at 1-2.5 s,
    # Lin's close-ups at 3-7 s, the audience from 7.5 s.
    assert {t for t in lin if 3000 <= t < 7500} and {t for t in alex if t < 1000}
    assert not {t for t in lin if 1000 <= t < 3000 or t >= 7500} and not {t for t in alex if t >= 3000}
    by_index = _pages(client, "get_face_search", job_id, "Persons", SortBy="INDEX")
    assert [p["Person"]["Index"] for p in by_index] == sorted(p["Person"]["Index"] for p in persons)


def test_face_detection_job(stack, hamilton):
    client = stack.client()
    job_id = client.start_face_detection(Video=hamilton["video"], FaceAttributes="ALL")["JobId"]
    stack.wait_for_job(client, job_id, getter="get_face_detection")
    faces = _pages(client, "get_face_detection", job_id, "Faces")
    assert len({f["Timestamp"] for f in faces if 3000 <= f["Timestamp"] < 7500}) == 9
    assert all("Emotions" in f["Face"] and "Pose" in f["Face"] for f in faces)


def test_celebrity_gallery_names_them_in_the_clip(stack, hamilton):
    client = stack.client()
    empty = client.recognize_celebrities(Image={"Bytes": _bytes("two_people.jpg")})
    assert empty["CelebrityFaces"] == [] and len(empty["UnrecognizedFaces"]) == 2
    for name, photo in (("Lin-Manuel Miranda", f"{LIN}.png"), ("Alex Lacamoire", f"{ALEX}.png")):
        subprocess.run([sys.executable, "-m", "jobs.cli", "celebrities", "add", "--name", name, "--gender", "Male",
                        "--url", f"https://example.org/{name.split()[0]}", str(media(f"faces/{photo}"))],
                       cwd=REPO, env=stack.env, check=True, capture_output=True)
    job_id = client.start_celebrity_recognition(Video=hamilton["video"])["JobId"]
    stack.wait_for_job(client, job_id, getter="get_celebrity_recognition")
    items = _pages(client, "get_celebrity_recognition", job_id, "Celebrities", SortBy="ID")
    seen: dict[str, set[int]] = {}
    for item in items:
        seen.setdefault(item["Celebrity"]["Name"], set()).add(item["Timestamp"])
    lin, alex = seen.get("Lin-Manuel Miranda", set()), seen.get("Alex Lacamoire", set())
    assert {t for t in lin if 3000 <= t < 7500} and {t for t in alex if t < 1000}
    assert not {t for t in lin if 1000 <= t < 3000 or t >= 7500} and not {t for t in alex if t >= 3000}
    lin_id = next(i["Celebrity"]["Id"] for i in items if i["Celebrity"]["Name"] == "Lin-Manuel Miranda")
    info = client.get_celebrity_info(Id=lin_id)
    assert info["Name"] == "Lin-Manuel Miranda" and info["KnownGender"] == {"Type": "Male"}
    assert info["Urls"] == ["https://example.org/Lin-Manuel"]
    named = client.recognize_celebrities(Image={"Bytes": _bytes(f"{LIN}.png")})["CelebrityFaces"]
    assert [c["Name"] for c in named] == ["Lin-Manuel Miranda"] and named[0]["MatchConfidence"] >= 80
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_celebrity_info(Id="nobody")


def test_user_vectors_through_boto3(stack):
    client = stack.client()
    collection_id = "users-" + secrets.token_hex(3)
    client.create_collection(CollectionId=collection_id)
    ids = [client.index_faces(CollectionId=collection_id, Image={"Bytes": _bytes(name)})["FaceRecords"][0]["Face"]["FaceId"]
           for name in ("obama.jpg", "obama2.jpg", "biden.jpg")]
    client.create_user(CollectionId=collection_id, UserId="barack")  # boto3 adds a ClientRequestToken
    with pytest.raises(client.exceptions.ConflictException):
        client.create_user(CollectionId=collection_id, UserId="barack")
    answer = client.associate_faces(CollectionId=collection_id, UserId="barack", FaceIds=ids)
    assert [f["FaceId"] for f in answer["AssociatedFaces"]] == ids[:2]
    assert answer["UnsuccessfulFaceAssociations"][0]["Reasons"] == ["LOW_MATCH_CONFIDENCE"]
    assert client.list_users(CollectionId=collection_id)["Users"] == [{"UserId": "barack", "UserStatus": "ACTIVE"}]
    found = client.search_users_by_image(CollectionId=collection_id, Image={"Bytes": _bytes("obama2.jpg")})
    assert [m["User"]["UserId"] for m in found["UserMatches"]] == ["barack"]
    assert client.search_users_by_image(CollectionId=collection_id, Image={"Bytes": _bytes("biden.jpg")})["UserMatches"] == []
    assert client.search_users(CollectionId=collection_id, FaceId=ids[2])["UserMatches"] == []
    client.disassociate_faces(CollectionId=collection_id, UserId="barack", FaceIds=ids[:1])
    client.delete_user(CollectionId=collection_id, UserId="barack")
    assert client.describe_collection(CollectionId=collection_id)["UserCount"] == 0
