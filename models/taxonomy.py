"""COCO class names -> Amazon Rekognition label names, parents, aliases and categories.

The table lives in models/data/coco_labels.json (package data, read with importlib.resources so
it works from an installed wheel). Its "classes" section has one entry per COCO-80 class, spelled
as COCO spells it ("cell phone" -> "Mobile Phone"); its "ancestors" section describes every
parent label, so a parent such as "Vehicle" can be reported as a label of its own with its own
parents ("Transportation") and categories.

A label's `parents` holds all of its ancestors, as Rekognition returns them; where the chain is
linear they are nearest first (Car: Vehicle, Transportation). Use `parent_label` for a parent's
own parents rather than slicing a child's tuple: the hierarchy is a graph (Dog: Animal, Canine,
Mammal, Pet, where Canine's parents are Animal and Mammal).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

_DATA_FILE = "coco_labels.json"  # in models/data/, shipped as package data of `models`


@dataclass(frozen=True)
class LabelInfo:
    name: str
    parents: tuple[str, ...]
    aliases: tuple[str, ...]
    categories: tuple[str, ...]


def _info(name: str, entry: dict[str, Any]) -> LabelInfo:
    return LabelInfo(name=name, parents=tuple(entry.get("parents", ())), aliases=tuple(entry.get("aliases", ())),
                     categories=tuple(entry.get("categories", ())))


@cache
def _load() -> tuple[MappingProxyType, MappingProxyType]:
    text = resources.files("models").joinpath("data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    classes = {coco: _info(entry["name"], entry) for coco, entry in data["classes"].items()}
    ancestors = {name: _info(name, entry) for name, entry in data.get("ancestors", {}).items()}
    return MappingProxyType(classes), MappingProxyType(ancestors)


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
    """A parent label by its Rekognition name ("Vehicle"), with its own parents and categories."""
    ancestors = _load()[1]
    try:
        return ancestors[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a parent label in models/data/{_DATA_FILE}") from None
