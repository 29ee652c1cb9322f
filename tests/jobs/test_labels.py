from __future__ import annotations

from jobs.labels import LabelFilters, frame_labels, label_segments
from models.outputs import BoundingBox, ObjectBox

BOX = BoundingBox(0.1, 0.2, 0.3, 0.4)


def test_instances_grouped_and_ancestors_added():
    labels = frame_labels([ObjectBox("car", 0.91, BOX), ObjectBox("car", 0.75, BOX), ObjectBox("car", 0.2, BOX)],
                          min_confidence=50)
    by_name = {label["Name"]: label for label in labels}
    car = by_name["Car"]
    assert car["Confidence"] == 91.0
    assert [i["Confidence"] for i in car["Instances"]] == [91.0, 75.0]
    assert car["Instances"][0]["BoundingBox"] == {"Width": 0.3, "Height": 0.4, "Left": 0.1, "Top": 0.2}
    assert [p["Name"] for p in car["Parents"]][:2] == ["Vehicle", "Transportation"]
    assert by_name["Vehicle"]["Instances"] == []
    assert [p["Name"] for p in by_name["Vehicle"]["Parents"]][:1] == ["Transportation"]
    assert by_name["Transportation"]["Parents"] == [] or "Transportation" not in \
        [p["Name"] for p in by_name["Transportation"]["Parents"]]


def test_filters():
    detections = [ObjectBox("car", 0.9, BOX), ObjectBox("dog", 0.9, BOX)]
    only_dogs = LabelFilters.from_request({"GeneralLabels": {"LabelInclusionFilters": ["Dog"]}})
    assert "Car" not in {label["Name"] for label in frame_labels(detections, min_confidence=0, filters=only_dogs)}
    no_dogs = LabelFilters.from_request({"GeneralLabels": {"LabelExclusionFilters": ["dog"]}})
    assert "Dog" not in {label["Name"] for label in frame_labels(detections, min_confidence=0, filters=no_dogs)}


def test_segments_split_on_gaps_and_keep_max_confidence():
    def label(confidence):
        return {"Name": "Car", "Confidence": confidence, "Instances": [{"Confidence": confidence}]}

    rows = [(0, label(60)), (500, label(90)), (1000, label(70)), (5000, label(80))]
    segments = label_segments(rows, max_gap_millis=750)
    assert [(s.start_millis, s.end_millis) for s in segments] == [(0, 1000), (5000, 5000)]
    assert segments[0].label["Confidence"] == 90 and "Instances" not in segments[0].label
