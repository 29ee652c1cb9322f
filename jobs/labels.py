"""Turning a frame's detections into Rekognition `Label` objects, and labels into segments.

Pure functions: no database, no model. The taxonomy (models/taxonomy.py) supplies names,
parents, aliases and categories; here they are shaped the way GetLabelDetection returns them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from models.outputs import ObjectBox
from models.taxonomy import LabelInfo, label_for, parent_label


@dataclass(frozen=True)
class LabelFilters:
    """StartLabelDetection's Settings.GeneralLabels, matched case-insensitively."""

    include: frozenset[str] = field(default_factory=frozenset)
    exclude: frozenset[str] = field(default_factory=frozenset)
    include_categories: frozenset[str] = field(default_factory=frozenset)
    exclude_categories: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_request(cls, settings: dict | None) -> LabelFilters:
        general = (settings or {}).get("GeneralLabels") or {}

        def names(key: str) -> frozenset[str]:
            return frozenset(n.lower() for n in general.get(key) or ())

        return cls(names("LabelInclusionFilters"), names("LabelExclusionFilters"),
                   names("LabelCategoryInclusionFilters"), names("LabelCategoryExclusionFilters"))

    def admits(self, info: LabelInfo) -> bool:
        name = info.name.lower()
        categories = {c.lower() for c in info.categories}
        if name in self.exclude or categories & self.exclude_categories:
            return False
        if self.include or self.include_categories:
            return name in self.include or bool(categories & self.include_categories)
        return True


def frame_labels(detections: Iterable[ObjectBox], *, min_confidence: float,
                 filters: LabelFilters = LabelFilters()) -> list[dict]:
    """The labels for one sampled frame: one per detected class with all its instances, plus
    each ancestor as a label of its own (as Rekognition returns Car, Vehicle, Transportation)."""
    by_name: dict[str, dict] = {}
    ancestors: dict[str, dict] = {}
    for detection in detections:
        confidence = 100.0 * detection.score
        if confidence < min_confidence:
            continue
        info = label_for(detection.name)
        if not filters.admits(info):
            continue
        label = by_name.setdefault(info.name, {
            "Name": info.name,
            "Confidence": 0.0,
            "Instances": [],
            "Parents": [{"Name": p} for p in info.parents],
            "Aliases": [{"Name": a} for a in info.aliases],
            "Categories": [{"Name": c} for c in info.categories],
        })
        label["Confidence"] = max(label["Confidence"], confidence)
        label["Instances"].append({"BoundingBox": detection.box.to_wire(), "Confidence": confidence})
        for parent in info.parents:
            described = parent_label(parent)
            if not filters.admits(described):
                continue  # an excluded ancestor is not reported as a label of its own either
            if parent not in ancestors:
                ancestors[parent] = {
                    "Name": parent, "Confidence": 0.0, "Instances": [],
                    "Parents": [{"Name": p} for p in described.parents],
                    "Aliases": [{"Name": a} for a in described.aliases],
                    "Categories": [{"Name": c} for c in described.categories],
                }
            entry = ancestors[parent]
            entry["Confidence"] = max(entry["Confidence"], confidence)
    for name, entry in ancestors.items():
        by_name.setdefault(name, entry)  # a class that is also an ancestor keeps its instances
    for label in by_name.values():
        label["Instances"].sort(key=lambda i: -i["Confidence"])
    return sorted(by_name.values(), key=lambda label: label["Name"])


@dataclass(frozen=True)
class LabelSegment:
    name: str
    start_millis: int
    end_millis: int
    label: dict  # the highest-confidence Label seen in the segment, without Instances


def label_segments(rows: Sequence[tuple[int, dict]], *, max_gap_millis: int) -> list[LabelSegment]:
    """Merge each label's detections into segments of continuous presence.

    rows are (timestamp, Label) in timestamp order. A label stays in one segment while its
    sightings are at most max_gap_millis apart; Confidence is the segment's maximum.
    """
    open_segments: dict[str, list] = {}
    done: list[LabelSegment] = []
    for timestamp, label in rows:
        name = label["Name"]
        current = open_segments.get(name)
        if current is not None and timestamp - current[1] > max_gap_millis:
            done.append(_close(name, current))
            current = None
        if current is None:
            open_segments[name] = [timestamp, timestamp, label]
        else:
            current[1] = timestamp
            if label["Confidence"] > current[2]["Confidence"]:
                current[2] = label
    done.extend(_close(name, current) for name, current in open_segments.items())
    done.sort(key=lambda s: (s.start_millis, s.name))
    return done


def _close(name: str, current: list) -> LabelSegment:
    start, end, label = current
    bare = {key: value for key, value in label.items() if key != "Instances"}
    return LabelSegment(name=name, start_millis=start, end_millis=end, label=bare)
