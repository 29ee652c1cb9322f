"""Boxes are found in any analysis's items, whatever their shape: today's labels and the shapes
persons, face search, celebrities and text will store (Rekognition's own item shapes)."""
from __future__ import annotations

from web.admin.overlays import boxes

BOX = {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}


def test_label_instances_are_captioned_with_the_label():
    item = {"Timestamp": 500, "Label": {"Name": "Dog", "Confidence": 97.0, "Parents": [{"Name": "Animal"}],
                                        "Instances": [{"BoundingBox": BOX, "Confidence": 91.5},
                                                      {"BoundingBox": {**BOX, "Left": 0.5}, "Confidence": 60.0}]}}
    found = boxes(item, "labels")
    assert [(b.caption, b.confidence, b.left) for b in found] == [("Dog", 91.5, 0.1), ("Dog", 60.0, 0.5)]
    assert found[0].text == "Dog 92%" and found[0].colour == found[1].colour
    assert boxes({"Timestamp": 0, "Label": {"Name": "Shoreline", "Confidence": 80.0, "Instances": []}}, "labels") == []


def test_a_person_and_their_face_share_the_person_s_colour():
    item = {"Timestamp": 0, "Person": {"Index": 3, "BoundingBox": BOX, "Face": {"BoundingBox": BOX, "Confidence": 99.0}}}
    person, face = boxes(item, "persons")
    assert (person.caption, face.caption) == ("Person 3", "Person 3 Face")
    assert person.colour == face.colour and face.confidence == 99.0


def test_matched_collection_faces_are_not_drawn_on_this_frame():
    item = {"Timestamp": 0, "Person": {"Index": 0, "BoundingBox": BOX, "Face": {"BoundingBox": BOX}},
            "FaceMatches": [{"Similarity": 99.0, "Face": {"FaceId": "f", "BoundingBox": {**BOX, "Left": 0.9}}}]}
    assert [b.left for b in boxes(item, "face_search")] == [0.1, 0.1]


def test_text_and_celebrities_use_their_own_names():
    text = {"Timestamp": 0, "TextDetection": {"DetectedText": "STOP", "Type": "LINE", "Confidence": 98.0,
                                              "Geometry": {"BoundingBox": BOX, "Polygon": []}}}
    assert [b.caption for b in boxes(text, "text")] == ["STOP"]
    celebrity = {"Timestamp": 0, "Celebrity": {"Name": "Ada Lovelace", "Face": {"BoundingBox": BOX}}}
    assert [b.caption for b in boxes(celebrity, "celebrities")] == ["Ada Lovelace Face"]


def test_malformed_boxes_are_skipped():
    assert boxes({"Face": {"BoundingBox": {"Left": "x", "Top": 0, "Width": 1, "Height": 1}}}, "faces") == []
    assert boxes({"Face": {"BoundingBox": None}}, "faces") == []
