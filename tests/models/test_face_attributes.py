"""Age, gender and emotion (human's faceres and emotion graphs) against TF.js and on real photos;
pose, quality and the FaceDetail assembly."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face_detail import UNAVAILABLE, face_detail, models_needed, requested
from models.face_pipeline import FacePipeline
from models.face_pose import pose
from models.face_quality import quality, sharpness
from models.faceres import point_age
from models.human_face import crop_box, face_crops
from models.outputs import AgeGender, BoundingBox, ClassScores, Face
from models.registry import load
from models.sface import align_face
from tests.conftest import media

# @tensorflow/tfjs 4.22.0 (CPU backend) running human 3.3.6's faceres.json and emotion.json with
# human's own preprocessing (faceres.ts, emotion.ts) on the same 192x192 face crop of skimage's
# astronaut that `face_crops` makes here.
TFJS_FACERES_MALE = 0.22356712818145752
TFJS_FACERES_TOP_AGES = {29: 0.058178, 39: 0.040409, 31: 0.036062, 34: 0.035175, 33: 0.031292}
TFJS_EMOTION = [4.1520678e-08, 1.1675924e-14, 2.0632008e-07, 0.99996746, 1.5405236e-07, 1.8561691e-06, 3.0275247e-05]


def _rgb(relative: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(media(relative)).convert("RGB"))


@pytest.fixture(scope="session")
def pipeline(models_dir) -> FacePipeline:
    return FacePipeline(load("yunet-face", models_dir), load("sface", models_dir),
                        load("human-faceres", models_dir), load("human-emotion", models_dir))


@pytest.fixture(scope="session")
def astronaut_crop(pipeline) -> np.ndarray:
    from skimage import data

    image = data.astronaut()
    return face_crops(image, pipeline.detector.detect(image))


# --------------------------------------------------------------------------------------------
# the TF.js graphs in torch


def test_faceres_matches_tfjs(pipeline, astronaut_crop):
    male, ages = pipeline.faceres.raw(astronaut_crop)
    assert male[0, 0] == pytest.approx(TFJS_FACERES_MALE, abs=1e-5)
    assert ages.shape == (1, 100) and ages[0].sum() == pytest.approx(1.0, abs=1e-5)
    top = np.argsort(-ages[0])[:5].tolist()
    assert top == list(TFJS_FACERES_TOP_AGES)
    assert ages[0, top].tolist() == pytest.approx(list(TFJS_FACERES_TOP_AGES.values()), abs=1e-5)


def test_emotion_matches_tfjs(pipeline, astronaut_crop):
    (probabilities,) = pipeline.emotion.raw(astronaut_crop)
    np.testing.assert_allclose(probabilities[0], TFJS_EMOTION, atol=1e-6)


def test_point_age_is_humans_interpolation():
    ages = np.zeros(100, np.float32)
    ages[[29, 30, 31]] = [0.2, 0.5, 0.3]
    assert point_age(ages) == pytest.approx(33.0)  # 10 * 30 + 100 * 0.3, over 10
    ages[[29, 31]] = [0.3, 0.2]
    assert point_age(ages) == pytest.approx(27.0)


def test_crop_box_is_a_square_1_4_times_the_face_width():
    face = Face(0.9, BoundingBox(0.4, 0.2, 0.1, 0.3), {})
    x1, y1, x2, y2 = crop_box(face, 1000, 500)
    assert (x2 - x1) == (y2 - y1) == 140 and (x1 + x2) / 2 == 450 and (y1 + y2) / 2 == 175


@pytest.mark.parametrize("relative,male,low_age,high_age,mood", [
    ("faces/obama.jpg", True, 30, 50, "happy"),       # smiling, 48 when photographed (2009)
    ("faces/biden.jpg", True, 50, 70, "neutral"),     # straight face, in his sixties
    ("faces/alex-lacamoire.png", True, 25, 45, "happy"),
])
def test_real_faces(pipeline, relative, male, low_age, high_age, mood):
    image = _rgb(relative)
    crops = face_crops(image, pipeline.detector.detect(image))
    (age_gender,) = pipeline.faceres.predict(crops)
    (emotion,) = pipeline.emotion.predict(crops)
    assert (age_gender.male > 0.8) is male
    assert low_age <= age_gender.age <= high_age
    assert emotion.names[0] == mood


def test_the_astronaut_is_a_smiling_woman(pipeline):
    from skimage import data

    image = data.astronaut()
    crops = face_crops(image, pipeline.detector.detect(image))
    (age_gender,) = pipeline.faceres.predict(crops)
    (emotion,) = pipeline.emotion.predict(crops)
    assert age_gender.male < 0.3 and 25 <= age_gender.age <= 40  # Eileen Collins, 42 then
    assert emotion.top(1)[0][0] == "happy" and emotion.top(1)[0][1] > 0.99


# --------------------------------------------------------------------------------------------
# pose and quality

# GetFaceDetection's example in the reference (a 1920x1080 frame): Roll -15.5, Yaw 11.3, Pitch 16.0
REFERENCE_LANDMARKS = {"eyeLeft": (0.46415066719055176, 0.2572723925113678),
                       "eyeRight": (0.5068183541297913, 0.23705792427062988),
                       "nose": (0.49765899777412415, 0.28383663296699524),
                       "mouthLeft": (0.487221896648407, 0.3452930748462677),
                       "mouthRight": (0.5142884850502014, 0.33167609572410583)}


def test_pose_agrees_with_the_reference_example_in_sign():
    face = Face(0.99, BoundingBox(0.425, 0.163, 0.129, 0.23), REFERENCE_LANDMARKS)
    angles = pose(face, 1920, 1080)
    assert angles["Roll"] == pytest.approx(-15.5, abs=1.0)
    assert angles["Pitch"] > 5 and angles["Yaw"] > 5
    mirrored = {"eyeLeft": "eyeRight", "eyeRight": "eyeLeft", "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}
    flipped = Face(0.99, face.box, {mirrored.get(k, k): (1 - x, y) for k, (x, y) in REFERENCE_LANDMARKS.items()})
    other = pose(flipped, 1920, 1080)
    assert other["Roll"] == pytest.approx(-angles["Roll"], abs=1e-6)
    assert other["Yaw"] == pytest.approx(-angles["Yaw"], abs=1e-3)
    assert other["Pitch"] == pytest.approx(angles["Pitch"], abs=1e-3)


def test_pose_of_real_faces(pipeline):
    image = _rgb("faces/alex-lacamoire.png")
    (face,) = pipeline.detector.detect(image)
    angles = pose(face, image.shape[1], image.shape[0])
    # a near-frontal portrait, head a little turned to the image right
    assert abs(angles["Roll"]) < 10 and 5 < angles["Yaw"] < 25 and abs(angles["Pitch"]) < 10
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((212, 197), -20, 1.0), (424, 394))
    (tilted,) = pipeline.detector.detect(rotated)
    # the picture turned 20 degrees clockwise: roll grows (by 13: YuNet's eye points move less
    # than the picture), yaw stays; pitch moves by ~9, the estimator's noise on tilted faces
    tilted_angles = pose(tilted, 424, 394)
    assert 10 < tilted_angles["Roll"] - angles["Roll"] < 25
    assert tilted_angles["Yaw"] == pytest.approx(angles["Yaw"], abs=3)


def test_quality_falls_with_blur_and_darkness(pipeline):
    image = _rgb("faces/obama.jpg")
    (face,) = pipeline.detector.detect(image)
    crop = align_face(image, face)
    sharp = quality(crop)
    assert sharp["Sharpness"] > 95 and 40 < sharp["Brightness"] < 70
    blurred = [sharpness(align_face(cv2.GaussianBlur(image, (0, 0), sigma), face)) for sigma in (2, 4, 8)]
    assert blurred == sorted(blurred, reverse=True) and blurred[-1] < 10
    assert quality((crop * 0.3).astype(np.uint8))["Brightness"] < sharp["Brightness"] * 0.35


# --------------------------------------------------------------------------------------------
# FaceDetail


def test_requested_attributes():
    assert requested(None) == requested(["DEFAULT"]) == frozenset()
    assert requested(["ALL"]) == requested("ALL") == {"AGE_RANGE", "GENDER", "EMOTIONS"}
    assert requested(["DEFAULT", "GENDER", "SMILE"]) == {"GENDER"}  # SMILE: no model, nothing
    assert models_needed(requested(["ALL"])) == ("human-emotion", "human-faceres")
    assert models_needed(requested(["EMOTIONS"])) == ("human-emotion",)
    with pytest.raises(ValueError, match="BOGUS"):
        requested(["BOGUS"])


def test_face_detail_default_and_all():
    face = Face(0.93, BoundingBox(0.1, 0.2, 0.3, 0.4), dict(REFERENCE_LANDMARKS))
    angles, pixels = {"Roll": 1.0, "Yaw": 2.0, "Pitch": 3.0}, {"Brightness": 50.0, "Sharpness": 90.0}
    default = face_detail(face, angles, pixels)
    assert list(default) == ["BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"]
    assert default["BoundingBox"] == {"Width": 0.3, "Height": 0.4, "Left": 0.1, "Top": 0.2}
    assert default["Confidence"] == pytest.approx(93.0)
    assert [m["Type"] for m in default["Landmarks"]] == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    ages = np.zeros(100, np.float32)
    ages[30:40] = 0.1
    emotion = ClassScores(("happy", "neutral", "sad", "angry", "fear", "surprise", "disgust"),
                          np.array([0.7, 0.2, 0.05, 0.02, 0.02, 0.01, 0.0], np.float32))
    full = face_detail(face, angles, pixels, extras=requested(["ALL"]),
                       age_gender=AgeGender(age=34.5, ages=ages, male=0.2), emotion=emotion)
    assert full["AgeRange"] == {"Low": 32, "High": 37}
    assert full["Gender"] == {"Value": "Female", "Confidence": pytest.approx(80.0)}
    assert [e["Type"] for e in full["Emotions"]][:2] == ["HAPPY", "CALM"]
    assert sum(e["Confidence"] for e in full["Emotions"]) == pytest.approx(100.0, abs=1e-3)
    assert not set(full) & set(UNAVAILABLE.values())
    with pytest.raises(ValueError, match="human-emotion"):
        face_detail(face, angles, pixels, extras={"EMOTIONS"})


def test_pipeline_on_two_people(pipeline):
    (found,) = pipeline.run([_rgb("faces/two_people.jpg")], requested(["ALL"]))
    assert len(found) == 2
    for item in found:
        detail = item.detail
        assert set(detail) == {"BoundingBox", "AgeRange", "Gender", "Emotions", "Landmarks", "Pose",
                               "Quality", "Confidence"}
        assert detail["Gender"]["Value"] == "Male" and detail["AgeRange"]["Low"] <= detail["AgeRange"]["High"]
        assert np.linalg.norm(item.embedding.vector) == pytest.approx(1.0, abs=1e-5)
    biden = max(found, key=lambda f: f.face.box.left)
    assert biden.detail["AgeRange"]["High"] >= 60
    (plain,) = pipeline.run([_rgb("faces/obama.jpg")])
    assert set(plain[0].detail) == {"BoundingBox", "Landmarks", "Pose", "Quality", "Confidence"}
