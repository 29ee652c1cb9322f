"""YuNet + SFace on real photos and video, against OpenCV's reference runtime, and the
similarity scale on real pairs."""
from __future__ import annotations

import numpy as np
import pytest

from models.face_similarity import SimilarityScale, cosine_threshold, false_match_rate, similarity
from models.outputs import BoundingBox, Face
from models.registry import load
from models.sface import align_face
from models.yunet import LANDMARK_NAMES, to_faces
from tests.conftest import media


def _rgb(relative: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(media(relative)).convert("RGB"))


@pytest.fixture(scope="session")
def detector(models_dir):
    return load("yunet-face", models_dir)


@pytest.fixture(scope="session")
def embedder(models_dir):
    return load("sface", models_dir)


@pytest.fixture(scope="session")
def hamilton_frames() -> list[tuple[int, np.ndarray]]:
    import av

    frames = []
    with av.open(str(media("faces/short_hamilton_clip.mp4"))) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 15 == 0:
                frames.append((index, frame.to_ndarray(format="rgb24")))
    return frames


def _vector(detector, embedder, relative: str) -> np.ndarray:
    image = _rgb(relative)
    (face,) = detector.detect(image)
    return embedder.embed(image, [face])[0].vector


# --------------------------------------------------------------------------------------------
# detection


def test_to_faces_names_landmarks_and_sorts_largest_first():
    small = [10, 10, 20, 20, 14, 15, 24, 15, 19, 20, 15, 25, 23, 25, 0.7]
    large = [50, 40, 100, 100, 70, 70, 130, 70, 100, 95, 75, 120, 125, 120, 0.9]
    faces = to_faces(np.array([small, large], np.float32), width=200, height=100, scale=0.5)
    assert [f.score for f in faces] == pytest.approx([0.9, 0.7])
    assert faces[0].box == BoundingBox(left=0.5, top=0.8, width=1.0, height=2.0)
    assert list(faces[0].landmarks) == list(LANDMARK_NAMES)
    assert faces[0].landmarks["eyeLeft"] == pytest.approx((0.7, 1.4))
    assert to_faces(None, 10, 10) == []


@pytest.mark.parametrize("relative,count", [("faces/two_people.jpg", 2), ("faces/obama.jpg", 1),
                                            ("faces/biden.jpg", 1), ("faces/lin-manuel-miranda.png", 1)])
def test_finds_every_face(detector, relative, count):
    faces = detector.detect(_rgb(relative))
    assert len(faces) == count
    assert all(0.85 < f.score < 1.0 for f in faces)


def test_two_people_boxes_and_landmarks(detector):
    left, right = sorted(detector.detect(_rgb("faces/two_people.jpg")), key=lambda f: f.box.left)
    # Obama's face in the left half, Biden's in the right, both in the top third
    assert 0.15 < left.box.left < 0.25 and 0.65 < right.box.left < 0.75
    assert left.box.bottom < 0.4 and right.box.bottom < 0.4
    for face in (left, right):
        points = face.landmarks
        assert list(points) == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
        for x, y in points.values():
            assert face.box.left < x < face.box.right and face.box.top < y < face.box.bottom
        # Rekognition's eyeLeft/mouthLeft are the image-left ones; eyes above nose above mouth
        assert points["eyeLeft"][0] < points["eyeRight"][0] and points["mouthLeft"][0] < points["mouthRight"][0]
        assert max(points["eyeLeft"][1], points["eyeRight"][1]) < points["nose"][1]
        assert points["nose"][1] < min(points["mouthLeft"][1], points["mouthRight"][1])


def test_no_face_in_a_cat_or_a_cup(detector):
    from skimage import data

    assert detector.predict(np.stack([data.coffee()])) == [[]]
    assert len(detector.detect(data.astronaut())) == 1


def test_matches_opencv_reference(detector, models_dir):
    import cv2

    image = _rgb("faces/two_people.jpg")
    reference = cv2.FaceDetectorYN.create(str(detector.files["face_detection_yunet_2023mar_int8bq.onnx"]), "",
                                          (image.shape[1], image.shape[0]), 0.6, 0.3, 5000)
    _, rows = reference.detect(np.ascontiguousarray(image[:, :, ::-1]))
    assert to_faces(rows, image.shape[1], image.shape[0]) == detector.detect(image)


def test_video_frames(detector, hamilton_frames):
    counts = {index: len(faces) for (index, _), faces in
              zip(hamilton_frames, detector.predict([f for _, f in hamilton_frames]), strict=True)}
    # 3.9-7.9 s: one performer in close-up; the closing audience shot has 6-7 faces
    assert all(counts[i] == 1 for i in range(90, 211, 15))
    assert counts[240] >= 6


# --------------------------------------------------------------------------------------------
# identity


def test_alignment_and_vectors_match_opencv(detector, embedder):
    import cv2

    image = _rgb("faces/obama.jpg")
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    reference = cv2.FaceRecognizerSF.create(str(embedder.files["face_recognition_sface_2021dec_int8bq.onnx"]), "")
    finder = cv2.FaceDetectorYN.create(str(detector.files["face_detection_yunet_2023mar_int8bq.onnx"]), "",
                                       (image.shape[1], image.shape[0]), 0.6, 0.3, 5000)
    _, rows = finder.detect(bgr)
    expected_crop = reference.alignCrop(bgr, rows[0])
    (face,) = detector.detect(image)
    crop = align_face(image, face)
    assert np.abs(crop[:, :, ::-1].astype(int) - expected_crop.astype(int)).max() <= 2
    expected = reference.feature(expected_crop).ravel()
    (ours,) = embedder.predict(crop[None])
    assert np.linalg.norm(ours.vector) == pytest.approx(1.0, abs=1e-5)
    assert float(ours.vector @ (expected / np.linalg.norm(expected))) > 0.9999


def test_batch_of_faces_equals_one_by_one(detector, embedder):
    image = _rgb("faces/two_people.jpg")
    faces = detector.detect(image)
    together = embedder.embed(image, faces)
    alone = [embedder.embed(image, [face])[0] for face in faces]
    for a, b in zip(together, alone, strict=True):
        assert np.all(np.isfinite(a.vector)) and np.allclose(a.vector, b.vector, atol=1e-6)


def test_obama_matches_obama_not_biden(detector, embedder):
    obama, obama2, biden = (_vector(detector, embedder, f"faces/{n}") for n in ("obama.jpg", "obama2.jpg", "biden.jpg"))
    assert similarity(float(obama @ obama2)) >= 99
    assert similarity(float(obama @ biden)) < 20  # cosine 0.127
    assert similarity(float(obama2 @ biden)) < 50  # cosine 0.269: the closest impostor pair here


def test_reference_photos_find_their_people_in_the_clip(detector, embedder, hamilton_frames):
    lin = _vector(detector, embedder, "faces/lin-manuel-miranda.png")
    alex = _vector(detector, embedder, "faces/alex-lacamoire.png")
    seen = {"lin": set(), "alex": set()}
    for index, frame in hamilton_frames:
        faces = detector.detect(frame)
        for face, vector in zip(faces, embedder.embed(frame, faces), strict=True):
            lin_s, alex_s = similarity(float(vector.vector @ lin)), similarity(float(vector.vector @ alex))
            assert min(lin_s, alex_s) < 80, "one face taken for both"
            if lin_s >= 80:
                seen["lin"].add(index)
            if alex_s >= 80:
                seen["alex"].add(index)
    # Miranda: the first frame (right of the picture) and the 3.9-7.9 s close-up; Lacamoire at the
    # piano, left of the first frame
    assert set(range(90, 211, 15)) <= seen["lin"] and 0 in seen["lin"]
    assert seen["alex"] == {0}


# --------------------------------------------------------------------------------------------
# similarity scale


def test_similarity_scale_is_the_documented_table():
    assert cosine_threshold(80) == pytest.approx(0.3951, abs=5e-4)
    assert false_match_rate(cosine_threshold(80)) == pytest.approx(1e-4, rel=1e-6)
    assert false_match_rate(cosine_threshold(50)) == pytest.approx(10 ** -2.5, rel=1e-6)
    for threshold in (0.5, 20, 50, 80, 90, 99):
        assert similarity(cosine_threshold(threshold)) == pytest.approx(threshold, abs=1e-6)
    cosines = np.linspace(-1, 1, 201)
    values = [similarity(c) for c in cosines]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == 100.0
    assert cosine_threshold(0) == -1.0
    assert SimilarityScale(0.0, 0.1).cosine_threshold(40) == pytest.approx(0.2326, abs=1e-3)  # z at 1e-2


def test_face_equality_is_by_value():
    face = Face(score=0.9, box=BoundingBox(0.1, 0.1, 0.2, 0.2), landmarks={"nose": (0.2, 0.2)})
    assert face == Face(score=0.9, box=BoundingBox(0.1, 0.1, 0.2, 0.2), landmarks={"nose": (0.2, 0.2)})
