"""Person tracking through the job engine on real clips: indexes stay put within a chunk and
across chunk edges (the tests' chunks are 4 s long, so every clip crosses several)."""
from __future__ import annotations

from collections import Counter

from tests.jobs.vision_jobs import get, run_job

INTEL = "people/intel_one-by-one-person-detection_first40s.mp4"
BASKETBALL = "people/mmaction2_basketball_gym.mp4"
# Looked at frame by frame (tests/models/test_tracking.py): in INTEL a woman is in view from
# ~6.5 s to ~19.5 s and a man from ~23 s to the end, never together; in BASKETBALL two players
# are in view the whole time.
WOMAN_IN_VIEW = (8000, 18500)  # chunk edges at 12 s and 16 s
MAN_IN_VIEW = (24500, 39999)  # chunk edges at 28, 32, 36 s


def _indexes(items, start: int, end: int) -> Counter:
    return Counter(i["Person"]["Index"] for i in items if start <= i["Timestamp"] <= end)


def test_one_index_per_person_across_chunk_edges(framewise_env):
    job_id = run_job(framewise_env, INTEL, {"persons": {}}, SampleFps=2.5)
    answer = get("persons", job_id)
    assert answer["JobStatus"] == "SUCCEEDED", answer.get("StatusMessage")
    items = answer["Persons"]
    assert _indexes(items, 0, 6000) == Counter(), "the empty room: nobody"
    woman, man = _indexes(items, *WOMAN_IN_VIEW), _indexes(items, *MAN_IN_VIEW)
    assert len(woman) == 1 and len(man) == 1 and woman.keys() != man.keys()
    assert list(woman) == [0], "numbered in order of first appearance"
    assert len({i["Person"]["Index"] for i in items}) == 2
    for item in items:
        box = item["Person"]["BoundingBox"]
        assert 0 <= box["Left"] <= 1 and 0 < box["Height"] <= 1
    by_index = get("persons", job_id, sort_by="INDEX")["Persons"]
    assert [i["Person"]["Index"] for i in by_index] == sorted(i["Person"]["Index"] for i in items)
    assert sorted(map(str, by_index)) == sorted(map(str, items)), "the same items in another order"


def test_basketball_players_keep_their_indexes(framewise_env):
    job_id = run_job(framewise_env, BASKETBALL, {"persons": {}})  # at the default 10 a second
    items = get("persons", job_id)["Persons"]
    seen = Counter(i["Person"]["Index"] for i in items)
    long_tracks = [index for index, count in seen.items() if count >= 10]
    assert len(long_tracks) == 2, seen
    assert len(seen) <= 3, seen
    # Where both players are found, each keeps its side and its index, over the chunk edges at
    # 4 s and 8 s and over the 5-8 s stretch where the detector loses one of them.
    both = {}
    for item in items:
        both.setdefault(item["Timestamp"], []).append(item["Person"])
    sides = set()
    for timestamp, people in both.items():
        if len(people) == 2 and not 5000 <= timestamp <= 7800:
            ordered = sorted(people, key=lambda p: p["BoundingBox"]["Left"] + p["BoundingBox"]["Width"] / 2)
            sides.add((ordered[0]["Index"], ordered[1]["Index"]))
    assert len(sides) == 1 and len(next(iter(sides))) == 2, sides
    faces = [i["Person"]["Face"] for i in items if "Face" in i["Person"]]
    for face in faces:
        assert {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"} <= set(face)


def test_a_visible_face_is_the_persons_face(framewise_env):
    items = get("persons", run_job(framewise_env, "faces/videoretalking_face2.mp4", {"persons": {}},
                                   SampleFps=2.0))["Persons"]
    assert {i["Person"]["Index"] for i in items} == {0}, "one person talking to the camera"
    with_face = [i["Person"] for i in items if "Face" in i["Person"]]
    assert len(with_face) >= 0.8 * len(items)
    for person in with_face:
        face, body = person["Face"], person["BoundingBox"]
        assert {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"} <= set(face)
        centre = face["BoundingBox"]["Left"] + face["BoundingBox"]["Width"] / 2
        assert body["Left"] <= centre <= body["Left"] + body["Width"]
