"""Reading a SageMaker Ground Truth manifest (JSON Lines) into Custom Labels dataset entries.

Each line is one image: `source-ref` (s3://bucket/key) and any number of label attributes, each
an attribute `<name>` with its `<name>-metadata` whose `type` says the format:

  groundtruth/image-classification: "<name>": <class index>, metadata "class-name": the label
  groundtruth/object-detection: "<name>": {"image_size": [{"width", "height", "depth"}],
      "annotations": [{"class_id", "left", "top", "width", "height"}]}, metadata "class-map":
      {"<class_id>": label}; boxes in pixels of image_size

A line with no label attribute is an unlabelled entry. Every problem is reported with its line
number and a reason; a manifest with any problem imports nothing (see `parse`).
"""
from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CLASSIFICATION = "groundtruth/image-classification"
DETECTION = "groundtruth/object-detection"
MIN_LABELS = 2  # a training dataset needs at least two labels
MIN_IMAGES_PER_LABEL = 10  # and at least this many images of each
MAX_REPORTED = 20  # errors listed in a dataset's StatusMessage


@dataclass(frozen=True)
class Entry:
    source_ref: str
    entry: dict  # the line's JSON object, as imported
    labels: tuple[str, ...]  # label names: image-level labels, or one per box
    boxes: int


@dataclass
class Manifest:
    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "line N: reason"

    def summary(self) -> str:
        shown = self.errors[:MAX_REPORTED]
        more = len(self.errors) - len(shown)
        return "; ".join(shown) + (f"; and {more} more errors" if more > 0 else "")


def split_s3_uri(uri: str) -> tuple[str, str] | None:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[5:].partition("/")
    return (bucket, key) if bucket and key else None


def _labels_of(line: dict) -> tuple[list[str], int, list[str]]:
    """(label names, box count, problems) of one parsed line."""
    labels: list[str] = []
    boxes = 0
    problems: list[str] = []
    for key, metadata in line.items():
        if not key.endswith("-metadata") or not isinstance(metadata, dict):
            continue
        kind = metadata.get("type")
        attribute = key[: -len("-metadata")]
        if kind not in (CLASSIFICATION, DETECTION):
            continue
        if attribute not in line:
            problems.append(f"'{key}' has no '{attribute}' attribute beside it")
            continue
        if kind == CLASSIFICATION:
            name = metadata.get("class-name")
            if not isinstance(name, str) or not name:
                problems.append(f"'{key}' has no class-name")
            else:
                labels.append(name)
            continue
        value, class_map = line[attribute], metadata.get("class-map")
        if not isinstance(value, dict) or not isinstance(class_map, dict):
            problems.append(f"'{attribute}' needs annotations and '{key}' a class-map")
            continue
        try:
            size = value["image_size"][0]
            width, height = float(size["width"]), float(size["height"])
        except (KeyError, IndexError, TypeError, ValueError):
            problems.append(f"'{attribute}' has no image_size with width and height")
            continue
        for number, box in enumerate(value.get("annotations") or [], start=1):
            try:
                name = class_map[str(box["class_id"])]
                left, top = float(box["left"]), float(box["top"])
                w, h = float(box["width"]), float(box["height"])
            except (KeyError, TypeError, ValueError):
                problems.append(f"box {number} of '{attribute}' needs class_id (in the class-map), left, top, "
                                "width and height")
                continue
            if w <= 0 or h <= 0 or left < 0 or top < 0 or left + w > width or top + h > height:
                problems.append(f"box {number} of '{attribute}' ({left:g}, {top:g}, {w:g}x{h:g}) is outside "
                                f"the {width:g}x{height:g} image")
                continue
            labels.append(str(name))
            boxes += 1
    return labels, boxes, problems


def parse(lines: Iterable[str], exists: Callable[[str, str], bool]) -> Manifest:
    """Every line checked; `exists(bucket, key)` says whether an image is in storage."""
    manifest = Manifest()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as error:
            manifest.errors.append(f"line {number}: not valid JSON ({error.msg})")
            continue
        if not isinstance(line, dict):
            manifest.errors.append(f"line {number}: not a JSON object")
            continue
        location = split_s3_uri(line.get("source-ref"))
        if location is None:
            manifest.errors.append(f"line {number}: source-ref must be an s3://bucket/key URI")
            continue
        labels, boxes, problems = _labels_of(line)
        if not problems and not exists(*location):
            problems.append(f"the image {line['source-ref']} is not there")
        if problems:
            manifest.errors.extend(f"line {number}: {problem}" for problem in problems)
            continue
        manifest.entries.append(Entry(line["source-ref"], line, tuple(labels), boxes))
    return manifest


def check_training_rules(entries: Iterable[Entry]) -> list[str]:
    """The rules a training dataset must meet: 10 images of each label, and at least 2 labels
    for image-level labels (boxes have the background as the other class)."""
    entries = list(entries)
    images = collections.Counter(label for entry in entries for label in set(entry.labels))
    needed = 1 if any(entry.boxes for entry in entries) else MIN_LABELS
    problems = []
    if len(images) < needed:
        problems.append(f"the dataset has {len(images)} label(s); at least {needed} are needed")
    problems.extend(f"label '{label}' has {count} image(s); at least {MIN_IMAGES_PER_LABEL} are needed"
                    for label, count in sorted(images.items()) if count < MIN_IMAGES_PER_LABEL)
    return problems


def boxes_of(line: dict) -> list[tuple[tuple[float, float, float, float], str]]:
    """The object-detection boxes of an imported line, as (x1, y1, x2, y2) ratios, with labels."""
    out = []
    for key, metadata in line.items():
        if key.endswith("-metadata") and isinstance(metadata, dict) and metadata.get("type") == DETECTION:
            value = line[key[: -len("-metadata")]]
            size = value["image_size"][0]
            width, height = float(size["width"]), float(size["height"])
            for box in value.get("annotations") or []:
                left, top = float(box["left"]) / width, float(box["top"]) / height
                out.append(((left, top, left + float(box["width"]) / width, top + float(box["height"]) / height),
                            str(metadata["class-map"][str(box["class_id"])])))
    return out
