"""Faces paired with person boxes (pure)."""
from __future__ import annotations

from models.outputs import BoundingBox
from models.person_faces import match_faces


def test_each_face_goes_to_the_body_it_tops():
    people = [BoundingBox(0.1, 0.1, 0.2, 0.8), BoundingBox(0.5, 0.2, 0.2, 0.7)]
    faces = [BoundingBox(0.55, 0.22, 0.08, 0.1), BoundingBox(0.15, 0.12, 0.08, 0.1)]
    assert match_faces(people, faces) == {0: 1, 1: 0}


def test_a_face_low_in_a_box_or_outside_it_is_nobodys():
    people = [BoundingBox(0.1, 0.1, 0.3, 0.8)]
    assert match_faces(people, [BoundingBox(0.2, 0.7, 0.05, 0.08)]) == {}  # lower half: someone in front
    assert match_faces(people, [BoundingBox(0.6, 0.1, 0.05, 0.08)]) == {}
    assert match_faces([], [BoundingBox(0.6, 0.1, 0.05, 0.08)]) == {}


def test_overlapping_people_share_no_face():
    """Two bodies overlap and both contain the one face: it goes to one of them only, the one
    whose box holds all of it."""
    people = [BoundingBox(0.1, 0.1, 0.3, 0.8), BoundingBox(0.25, 0.05, 0.3, 0.9)]
    face = BoundingBox(0.3, 0.12, 0.12, 0.1)  # 0.30-0.42: all inside person 1, 10/12 inside person 0
    assert match_faces(people, [face]) == {1: 0}
