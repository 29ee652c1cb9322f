"""Which detected face belongs to which tracked person, in one frame (for PersonDetail.Face).

Person tracking returns the person's `Face` "when one is visible". A face goes with the person
whose body box contains most of it, near the top: the face's centre must lie inside the person's
box and in its upper half (a face lower down is another person in front). When several faces
fit several people, the pairing that keeps the most face area inside bodies wins (Hungarian),
each face and each person used once.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from models.outputs import BoundingBox

MIN_INSIDE = 0.6  # share of the face box that must lie inside the person box


def _inside(face: BoundingBox, person: BoundingBox) -> float:
    width = min(face.right, person.right) - max(face.left, person.left)
    height = min(face.bottom, person.bottom) - max(face.top, person.top)
    if width <= 0 or height <= 0 or face.area <= 0:
        return 0.0
    return width * height / face.area


def match_faces(people: list[BoundingBox], faces: list[BoundingBox]) -> dict[int, int]:
    """person position -> face position, for the people who have a face in this frame."""
    score = np.zeros((len(people), len(faces)))
    for p, person in enumerate(people):
        for f, face in enumerate(faces):
            cx, cy = face.left + face.width / 2, face.top + face.height / 2
            in_upper_half = person.left <= cx <= person.right and person.top <= cy <= person.top + person.height / 2
            inside = _inside(face, person)
            if in_upper_half and inside >= MIN_INSIDE:
                score[p, f] = inside
    if not score.any():
        return {}
    rows, cols = linear_sum_assignment(-score)
    return {int(p): int(f) for p, f in zip(rows, cols, strict=True) if score[p, f] > 0}
