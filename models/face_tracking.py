"""Face tracks: the person tracker (models/tracking.py) on face boxes, gated by identity.

The tracker's association (Kalman-predicted IoU, appearance fused in, re-identification after a
gap) works for faces as for bodies, with SFace vectors as the appearance. Two changes make it
safe for face search, where one track is searched as one person:

* an identity gate: a face whose vector is too far from a track's (cosine below GATE_COSINE,
  which a different person's face reaches about 1 time in 10 on the calibration pairs and the
  same person's almost never between nearby frames) never joins it, however well the boxes
  overlap (a cut from one face to another in the same place);
* every face starts a confirmed track at once (YuNet at its threshold is precise, and a face
  seen in one sampled frame is still a sighting to report).
"""
from __future__ import annotations

import numpy as np

from models.tracking import Track, Tracker, TrackerConfig

GATE_COSINE = 0.17  # impostor mean + 1.3 sd (models/face_similarity.py); same-person frames run 0.6-0.95
FACE_TRACKER = TrackerConfig(
    high_score=0.5, low_score=0.5, new_track_score=0.5,  # YuNet keeps only faces >= 0.6
    match_iou=0.2, lost_seconds=1.0, reid_seconds=10.0,
    appearance_distance=0.6, reid_distance=0.6,  # cosine >= 0.4: Similarity ~80 on our scale
    fuse_iou=0.9, reid_max_speed=0.5, embedding_momentum=0.8, confirm_hits=1,
)


def _cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


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
