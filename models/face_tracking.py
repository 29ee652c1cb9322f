"""Face tracks: the person tracker (models/tracking.py) on face boxes, gated by identity.

The tracker's association (Kalman-predicted IoU, appearance fused in, re-identification after a
gap) works for faces as for bodies, with SFace vectors as the appearance. Two changes make it
safe for face search, where one track is searched as one person:

* an identity gate: a face whose vector is too far from a track's (cosine below GATE_COSINE,
  which a different person's face reaches about 1 time in 50 on the calibration pairs; the same
  person's faces half a second apart run 0.5-0.95) never joins it, however well the boxes
  overlap (a cut from one face to another in the same place). A wrongly split track costs a
  second search; a wrongly joined one would name a stranger;
* every face starts a confirmed track at once (YuNet at its threshold is precise, and a face
  seen in one sampled frame is still a sighting to report).
"""
from __future__ import annotations

import numpy as np

from models.track_stitching import ChunkTracks, find_root, number_persons
from models.tracking import Track, Tracker, TrackerConfig

GATE_COSINE = 0.25  # impostor mean + 2.1 sd (models/face_similarity.py)
FACE_TRACKER = TrackerConfig(
    high_score=0.5, low_score=0.5, new_track_score=0.5,  # YuNet keeps only faces >= 0.6
    match_iou=0.2, lost_seconds=1.0, reid_seconds=10.0,
    appearance_distance=0.6, reid_distance=0.6,  # cosine >= 0.4: Similarity ~80 on our scale
    fuse_iou=0.9, reid_max_speed=0.5, embedding_momentum=0.8, confirm_hits=1,
)


def _cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))

STITCH_COSINE = 0.4  # two chunks' tracks are one person only if their mean vectors are this close
STITCH_EDGE_MS = 1500


class FaceTracker(Tracker):
    def __init__(self, config: TrackerConfig = FACE_TRACKER):
        super().__init__(config)

    def _fused_cost(self, tracks, high, detections, embeddings) -> np.ndarray:
        cost = super()._fused_cost(tracks, high, detections, embeddings)
        if embeddings is not None:
            for a, track in enumerate(tracks):
                for b, j in enumerate(high):
                    if track.embedding is not None and _cosine(track.embedding, embeddings[j]) < GATE_COSINE:
                        cost[a, b] = 1.0  # above any match limit
        return cost

    def _start(self, detection, timestamp_ms: int, embedding) -> Track:
        track = super()._start(detection, timestamp_ms, embedding)
        if track.index is None:
            self._confirm(track)
            if track.embedding is not None:
                self.appearance_by_index[track.index] = track.embedding
        return track


def stitch(chunks: list[ChunkTracks], min_cosine: float = STITCH_COSINE,
           edge_ms: int = STITCH_EDGE_MS) -> dict[tuple[int, int], int]:
    """(chunk position, local index) -> person index, joining the tracks of consecutive chunks.

    Unlike bodies (models/track_stitching.py, which pairs by box overlap at the edge), faces
    carry identity: a track ending near a chunk's end and one starting near the next chunk's
    start are one person only when their mean vectors (`appearances`) agree, paired one to one
    by cosine (Hungarian). Persons are numbered in order of first appearance."""
    from scipy.optimize import linear_sum_assignment

    parent: dict[tuple[int, int], tuple[int, int]] = {}

    for k in range(len(chunks) - 1):
        before, after = chunks[k], chunks[k + 1]
        ends = [i for i, (_, last) in before.spans().items() if last[0] >= before.end_ms - edge_ms]
        starts = [i for i, (first, _) in after.spans().items() if first[0] <= after.start_ms + edge_ms]
        cost = np.full((len(ends), len(starts)), 9.0)
        for r, a in enumerate(ends):
            for c, b in enumerate(starts):
                cosine = _cosine(before.appearances[a], after.appearances[b])
                if cosine >= min_cosine:
                    cost[r, c] = 1.0 - cosine
        if cost.size:
            for r, c in zip(*linear_sum_assignment(cost), strict=True):
                if cost[r, c] < 9.0:
                    parent[find_root(parent, (k + 1, starts[c]))] = find_root(parent, (k, ends[r]))
    return number_persons(chunks, parent)
