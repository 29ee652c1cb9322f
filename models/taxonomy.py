"""Model class names (COCO-80, ImageNet-1k) -> Amazon Rekognition label names, parents, aliases
and categories.

The COCO table lives in models/data/coco_labels.json (package data, read with importlib.resources so
it works from an installed wheel). Its "classes" section has one entry per COCO-80 class, spelled
as COCO spells it ("cell phone" -> "Mobile Phone"); its "ancestors" section describes every
parent label, so a parent such as "Vehicle" can be reported as a label of its own with its own
parents ("Transportation") and categories.

A label's `parents` holds all of its ancestors, as Rekognition returns them; where the chain is
linear they are nearest first (Car: Vehicle, Transportation). Use `parent_label` for a parent's
own parents rather than slicing a child's tuple: the hierarchy is a graph (Dog: Animal, Canine,
Mammal, Pet, where Canine's parents are Animal and Mammal).

The ImageNet table, models/data/imagenet_labels.json (built by scripts/build_imagenet_labels.py),
maps the 1000 classes a classifier scores, by their keys (the first synonym: "golden retriever"),
onto the same names: where a class is a COCO class it has the COCO label's name, and a breed or
kind hangs below the COCO label ("Golden Retriever" has the dog's parents plus Dog itself), so
evidence from a detector and a classifier meets in one label. `label_info` describes any label
name either table knows, leaf or ancestor.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

_DATA_FILE = "coco_labels.json"  # in models/data/, shipped as package data of `models`
_IMAGENET_FILE = "imagenet_labels.json"


@dataclass(frozen=True)
class LabelInfo:
    name: str
    parents: tuple[str, ...]
    aliases: tuple[str, ...]
    categories: tuple[str, ...]


def _info(name: str, entry: dict[str, Any]) -> LabelInfo:
    return LabelInfo(name=name, parents=tuple(entry.get("parents", ())), aliases=tuple(entry.get("aliases", ())),
                     categories=tuple(entry.get("categories", ())))


def _read(file_name: str) -> dict[str, Any]:
    return json.loads(resources.files("models").joinpath("data").joinpath(file_name).read_text(encoding="utf-8"))


@cache
def _load() -> tuple[MappingProxyType, MappingProxyType]:
    data = _read(_DATA_FILE)
    classes = {coco: _info(entry["name"], entry) for coco, entry in data["classes"].items()}
    ancestors = {name: _info(name, entry) for name, entry in data.get("ancestors", {}).items()}
    return MappingProxyType(classes), MappingProxyType(ancestors)


@cache
def _load_imagenet() -> tuple[tuple[str, ...], MappingProxyType]:
    data = _read(_IMAGENET_FILE)
    keys = tuple(entry["key"] for entry in data["classes"])
    classes = {entry["key"]: _info(entry["name"], entry) for entry in data["classes"]}
    return keys, MappingProxyType(classes)


@cache
def _all_names() -> MappingProxyType:
    """Every label name either table knows -> its description (leaves, then ancestors)."""
    named: dict[str, LabelInfo] = {}
    imagenet_ancestors = _read(_IMAGENET_FILE).get("ancestors", {})
    for info in [*_load()[0].values(), *_load_imagenet()[1].values(), *_load()[1].values(),
                 *(_info(name, entry) for name, entry in imagenet_ancestors.items())]:
        named.setdefault(info.name, info)
    return MappingProxyType(named)


def _key(coco_name: str) -> str:
    return coco_name.strip().lower().replace("_", " ")


def label_for(coco_name: str) -> LabelInfo:
    """The Rekognition label for a COCO class name ("car", "cell phone", "traffic light")."""
    classes = _load()[0]
    try:
        return classes[_key(coco_name)]
    except KeyError:
        raise KeyError(f"unknown COCO class name {coco_name!r}: models/data/{_DATA_FILE} maps only the "
                       f"80 COCO classes (e.g. 'person', 'car', 'cell phone')") from None


def all_labels() -> dict[str, LabelInfo]:
    """Every COCO class name -> its label (a fresh dict; the cached table stays unchanged)."""
    return dict(_load()[0])


def parent_label(name: str) -> LabelInfo:
    """A parent label by its Rekognition name ("Vehicle", or "Dog" as a breed's parent), with its
    own parents and categories."""
    try:
        return _all_names()[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a parent label in models/data/{_DATA_FILE} "
                       f"or {_IMAGENET_FILE}") from None


def label_info(name: str) -> LabelInfo:
    """Any label by its Rekognition name ("Golden Retriever", "Dog", "Animal")."""
    return parent_label(name)


def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class keys in the classifiers' output order ("tench", "goldfish", …)."""
    return _load_imagenet()[0]


def imagenet_label_for(key: str) -> LabelInfo:
    """The Rekognition label for an ImageNet class key ("golden retriever", "alp", "crane [517]")."""
    try:
        return _load_imagenet()[1][key]
    except KeyError:
        raise KeyError(f"unknown ImageNet class key {key!r}: see the `key`s in models/data/{_IMAGENET_FILE}") from None
