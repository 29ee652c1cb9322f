from __future__ import annotations

from jobs.labels import LabelFilters, label_segments
from models.label_fusion import frame_labels
from models.outputs import BoundingBox, ObjectBox
from models.taxonomy import label_info

BOX = BoundingBox(0.1, 0.2, 0.3, 0.4)


def test_filters_admit_by_name_and_category():
    only_dogs = LabelFilters.from_request({"GeneralLabels": {"LabelInclusionFilters": ["Dog"]}})
    assert only_dogs.admits(label_info("Dog")) and not only_dogs.admits(label_info("Car"))
    no_dogs = LabelFilters.from_request({"GeneralLabels": {"LabelExclusionFilters": ["dog"]}})
    assert not no_dogs.admits(label_info("Dog")) and no_dogs.admits(label_info("Car"))
    assert LabelFilters.from_request(None).admits(label_info("Car"))


def test_excluding_an_ancestor_removes_only_that_label():
    detections = [ObjectBox("car", 0.95, BOX)]
    everything = {label["Name"] for label in frame_labels(detections, min_confidence=50)}
    assert {"Car", "Vehicle", "Transportation"} <= everything
    no_vehicle = LabelFilters.from_request({"GeneralLabels": {"LabelExclusionFilters": ["Vehicle"]}})
    labels = {label["Name"]: label for label in frame_labels(detections, min_confidence=50,
                                                              admits=no_vehicle.admits)}
    assert "Vehicle" not in labels and "Car" in labels
    assert "Vehicle" in [p["Name"] for p in labels["Car"]["Parents"]], "still the car's parent"


def test_segments_split_on_gaps_and_keep_max_confidence():
    def label(confidence):
        return {"Name": "Car", "Confidence": confidence, "Instances": [{"Confidence": confidence}]}

    rows = [(0, label(60)), (500, label(90)), (1000, label(70)), (5000, label(80))]
    segments = label_segments(rows, max_gap_millis=750)
    assert [(s.start_millis, s.end_millis) for s in segments] == [(0, 1000), (5000, 5000)]
    assert segments[0].label["Confidence"] == 90 and "Instances" not in segments[0].label
