"""Face tracks: the identity gate keeps a cut between two faces in one place apart, and chunks are
stitched by identity, not by where the boxes are."""
from __future__ import annotations

import numpy as np

from models.face_tracking import FaceTracker, stitch
from models.outputs import BoundingBox, ObjectBox
from models.track_stitching import ChunkTracks

BOX = BoundingBox(0.4, 0.2, 0.2, 0.3)


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128)
    return v / np.linalg.norm(v)


def test_a_cut_to_another_face_in_the_same_place_starts_a_new_person():
    tracker = FaceTracker()
    a, b = _unit(1), _unit(2)
    first = [tracker.update([ObjectBox("face", 0.9, BOX)], t, [a]) for t in (0, 500, 1000)]
    assert [p[0].index for p in first] == [0, 0, 0]
    (after_cut,) = tracker.update([ObjectBox("face", 0.9, BOX)], 1500, [b])
    assert after_cut.index == 1
    (same_again,) = tracker.update([ObjectBox("face", 0.9, BOX)], 2000, [a + 0.3 * _unit(3)])
    assert same_again.index == 0, "the first face comes back: its own index"


def test_stitching_pairs_tracks_by_identity():
    a, b = _unit(1), _unit(2)
    other_place = BoundingBox(0.05, 0.2, 0.2, 0.3)
    first = ChunkTracks(0, 4000, [(3500, 0, BOX), (3500, 1, other_place)], {0: a.tolist(), 1: b.tolist()})
    # In the next chunk the two people swapped places: boxes would pair them wrongly.
    second = ChunkTracks(4000, 8000, [(4000, 0, BOX), (4000, 1, other_place)], {0: b.tolist(), 1: a.tolist()})
    third = ChunkTracks(8000, 9000, [(8000, 0, BOX)], {0: _unit(5).tolist()})
    people = stitch([first, second, third])
    assert people[(0, 0)] == people[(1, 1)] and people[(0, 1)] == people[(1, 0)]
    assert people[(2, 0)] not in {people[(0, 0)], people[(0, 1)]}
    assert sorted(set(people.values())) == [0, 1, 2]
