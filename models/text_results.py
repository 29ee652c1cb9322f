"""OCR lines -> Rekognition `TextDetection` items (LINE and WORD), with the request's `Filters`.

Shared by `DetectText` (one image) and `GetTextDetection` (one item per detection per sampled
frame). Filters, as Rekognition documents them:

* `WordFilter.MinConfidence` (default 80), `MinBoundingBoxHeight` / `MinBoundingBoxWidth`
  (ratios of the frame): words below any of them are dropped.
* `RegionsOfInterest` (up to 10, each a `BoundingBox` or a `Polygon` of up to 10 points): a
  word is kept when more than half of it lies inside at least one region.

A line is kept when at least one of its words is; its text and geometry then cover the kept
words only. Ids restart for every image/frame: lines first (0..L-1), then words, each word's
`ParentId` the Id of its line.
"""
from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Polygon, box

from models.outputs import TextLine, TextWord

Points = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TextFilters:
    min_confidence: float = 80.0
    min_box_height: float = 0.0
    min_box_width: float = 0.0
    regions: tuple[Polygon, ...] = ()

    @classmethod
    def from_request(cls, filters: dict | None, *, default_min_confidence: float = 80.0) -> TextFilters:
        """From DetectText's / StartTextDetection's `Filters` member (absent -> the defaults)."""
        filters = filters or {}
        word = filters.get("WordFilter") or {}
        return cls(
            min_confidence=float(word.get("MinConfidence", default_min_confidence)),
            min_box_height=float(word.get("MinBoundingBoxHeight", 0.0)),
            min_box_width=float(word.get("MinBoundingBoxWidth", 0.0)),
            regions=tuple(region_polygon(region) for region in filters.get("RegionsOfInterest") or ()),
        )


def region_polygon(region: dict) -> Polygon:
    """A RegionOfInterest as a shape in frame ratios (its Polygon when given, else its BoundingBox)."""
    if region.get("Polygon"):
        shape = Polygon([(float(p["X"]), float(p["Y"])) for p in region["Polygon"]])
        return shape if shape.is_valid else shape.buffer(0)  # a self-crossing outline, repaired
    bounds = region.get("BoundingBox") or {}
    left, top = float(bounds.get("Left", 0.0)), float(bounds.get("Top", 0.0))
    return box(left, top, left + float(bounds.get("Width", 1.0)), top + float(bounds.get("Height", 1.0)))


def bounds(polygon: Points) -> dict:
    """The axis-aligned `BoundingBox` around a polygon."""
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return {"Width": max(xs) - min(xs), "Height": max(ys) - min(ys), "Left": min(xs), "Top": min(ys)}


def geometry(polygon: Points) -> dict:
    return {"BoundingBox": bounds(polygon), "Polygon": [{"X": x, "Y": y} for x, y in polygon]}


def inside_a_region(polygon: Points, regions: tuple[Polygon, ...]) -> bool:
    """More than half of the shape lies in at least one region (true when there are no regions)."""
    if not regions:
        return True
    shape = Polygon(polygon)
    if not shape.is_valid:
        shape = shape.buffer(0)
    if shape.area <= 0:
        return False
    return any(shape.intersection(region).area > 0.5 * shape.area for region in regions)


def word_passes(word: TextWord, filters: TextFilters) -> bool:
    size = bounds(word.polygon)
    return (word.score * 100.0 >= filters.min_confidence and size["Height"] >= filters.min_box_height
            and size["Width"] >= filters.min_box_width and inside_a_region(word.polygon, filters.regions))


def _covering(words: list[TextWord]) -> Points:
    xs = [x for w in words for x, _ in w.polygon]
    ys = [y for w in words for _, y in w.polygon]
    return (min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))


def text_detections(lines: list[TextLine], filters: TextFilters = TextFilters()) -> list[dict]:
    """The `TextDetection` dicts of one image or frame: LINEs, then WORDs."""
    kept_lines: list[tuple[TextLine, list[TextWord]]] = []
    for line in lines:
        words = [w for w in line.words if word_passes(w, filters)]
        if words:
            kept_lines.append((line, words))
    items, word_items = [], []
    next_word_id = len(kept_lines)
    for line_id, (line, words) in enumerate(kept_lines):
        whole = len(words) == len(line.words)
        items.append({
            "DetectedText": line.text if whole else " ".join(w.text for w in words),
            "Type": "LINE", "Id": line_id,
            "Confidence": line.score * 100.0 if whole else min(w.score for w in words) * 100.0,
            "Geometry": geometry(line.polygon if whole else _covering(words)),
        })
        for word in words:
            word_items.append({"DetectedText": word.text, "Type": "WORD", "Id": next_word_id, "ParentId": line_id,
                               "Confidence": word.score * 100.0, "Geometry": geometry(word.polygon)})
            next_word_id += 1
    return items + word_items
