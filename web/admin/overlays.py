"""Boxes to draw over a frame, found generically in any analysis's result items.

Any dict in an item that has a `BoundingBox` (Rekognition's ratios of the frame) is a box: a
label's Instances today, persons, faces and text lines as their analyses land, with no change
here. Its caption is the nearest name the item gives it: `Name`, `DetectedText`, an `Index`
(persons' tracks, coloured by index), or the key it sits under (`Face`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Keys whose boxes are in another image's coordinates (a collection face matched), not this frame's.
OTHER_IMAGES = frozenset({"FaceMatches"})
PALETTE = 8


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float
    caption: str
    analysis: str
    confidence: float | None
    colour: int  # a palette index: one caption root, one colour

    @property
    def text(self) -> str:
        return f"{self.caption} {self.confidence:.0f}%" if self.confidence is not None else self.caption


def _name(node: dict, key: str | None) -> str | None:
    for field in ("Name", "DetectedText"):
        if isinstance(node.get(field), str):
            return node[field]
    if isinstance(node.get("Index"), int):
        return f"{key or 'Index'} {node['Index']}"
    return None


def _colour(root: str) -> int:
    return int.from_bytes(hashlib.blake2s(root.encode(), digest_size=2).digest(), "big") % PALETTE


def boxes(item: dict, analysis: str) -> list[Box]:
    found: list[Box] = []

    def walk(node, key: str | None, caption: str | None, root: str | None, confidence: float | None) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child, None, caption, root, confidence)
            return
        if not isinstance(node, dict):
            return
        own = _name(node, key)
        if own is not None:
            caption, root = (f"{caption} {own}" if caption and key else own), (root or own)
        elif key and key not in ("Geometry",) and caption:
            caption = f"{caption} {key}"
        elif key and not caption:
            caption = key
        if isinstance(node.get("Confidence"), int | float):
            confidence = float(node["Confidence"])
        box = node.get("BoundingBox")
        if isinstance(box, dict) and all(isinstance(box.get(k), int | float) for k in ("Left", "Top", "Width", "Height")):
            label = caption or analysis
            found.append(Box(box["Left"], box["Top"], box["Width"], box["Height"], label, analysis, confidence,
                             _colour(root or label)))
        for child_key, child in node.items():
            if child_key not in OTHER_IMAGES and isinstance(child, dict | list):
                walk(child, child_key, caption, root, confidence)

    walk(item, None, None, None, None)
    return found
