"""Person tracking: detector boxes -> stable person indexes across frames (ByteTrack + re-identification).

Per sampled frame the engine gives the person boxes a COCO detector found (`ObjectBox`es named
"person", with their scores) and, optionally, an appearance embedding per box (models/reid.py).
`Tracker.update` returns the confirmed tracks seen in that frame, each with its person `index`.

The association is ByteTrack's (Zhang et al., 2022), plus a re-identification step:

1. Every track's box is moved one step by its Kalman filter (models/kalman.py).
2. High-score boxes (>= high_score) are matched to all tracks, tracked or recently lost, by IoU;
   where embeddings are given, a pair that overlaps a little and looks alike may match on
   appearance instead (BoT-SORT's fused cost: the smaller of the IoU and appearance distances).
3. Low-score boxes (low_score..high_score: occluded or blurred people a plain threshold would
   drop) are matched, by IoU alone, to the tracks still unmatched. This is ByteTrack's point: a
   person half hidden behind another keeps their track instead of losing it.
4. Tentative tracks (seen once) get a chance at the remaining high boxes.
5. Re-identification: high boxes still unmatched are compared by appearance with tracks lost for
   up to `reid_seconds` (after an occlusion the Kalman prediction has drifted, so IoU cannot
   find them); a close enough match takes the lost track's index back.
6. Remaining high boxes with score >= new_track_score start tentative tracks; a track becomes
   confirmed, and gets the next index, on its `confirm_hits`-th match in a row (at once on the
   very first frame).
   Tracks lost longer than the re-id window are dropped.

Indexes count from 0 in order of confirmation. The whole state is JSON (`state()` /
`Tracker.from_state`), so a chunk can hand its open tracks to the next chunk; chunks tracked
independently are joined afterwards by models/track_stitching.py.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from models import kalman
from models.outputs import BoundingBox, ObjectBox


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds; the defaults suit a detector whose person scores run to 0.9 (YOLOX-style)."""

    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.6
    match_iou: float = 0.2  # first association: IoU must exceed this (ByteTrack: cost 0.8)
    low_match_iou: float = 0.5  # second association, low-score boxes
    tentative_match_iou: float = 0.3
    lost_seconds: float = 1.0  # a lost track is matched by motion + IoU for this long
    reid_seconds: float = 10.0  # ... and by appearance for this long
    fuse_iou: float = 0.5  # appearance may stand in for IoU only where the IoU distance is below this
    appearance_distance: float = 0.25  # cosine distance under which two crops "look alike"
    reid_distance: float = 0.2  # stricter, for re-identification with no motion cue
    reid_max_speed: float = 0.5  # frame widths per second a lost person may have moved
    embedding_momentum: float = 0.9  # a track's appearance: moving average of its crops' embeddings
    confirm_hits: int = 2  # matches before a tentative track becomes a person (ByteTrack: 2)
    min_height: float = 0.0  # boxes shorter than this (ratio of the frame height) are ignored


# Per detector. CenterNet (human 3.3.6) scores people low (0.13-0.31 for a person seen from above
# on people/intel_one-by-one..., 0.2-0.6 on the basketball clip), and its false "persons" there
# are small static things (a wall sign, a ball): hence low thresholds and a minimum height.
PRESETS = {
    "centernet-coco": TrackerConfig(high_score=0.2, low_score=0.1, new_track_score=0.25, min_height=0.08),
}


@dataclass
class Track:
    track_id: int  # internal, unique per tracker
    mean: list[float]
    covariance: list[list[float]]
    score: float
    last_seen_ms: int
    first_seen_ms: int
    hits: int = 1
    index: int | None = None  # the person index, once confirmed
    lost: bool = False
    embedding: list[float] | None = None

    @property
    def box(self) -> BoundingBox:
        return kalman.from_xyah(np.asarray(self.mean))


@dataclass(frozen=True)
class TrackedPerson:
    """One confirmed person in one frame."""

    index: int
    box: BoundingBox  # the detector's box (not the filtered one): what the frame really shows
    score: float
    detection: int  # position of the box in the frame's detections, to attach faces etc.


def iou_matrix(a: list[BoundingBox], b: list[BoundingBox]) -> np.ndarray:
    out = np.zeros((len(a), len(b)))
    for i, box_a in enumerate(a):
        for j, box_b in enumerate(b):
            out[i, j] = box_a.iou(box_b)
    return out


def _assign(cost: np.ndarray, limit: float) -> tuple[list[tuple[int, int]], set[int], set[int]]:
    """Minimum-cost one-to-one matching, keeping only pairs with cost < limit."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return [], set(range(rows)), set(range(cols))
    r, c = linear_sum_assignment(np.minimum(cost, limit + 1.0))
    pairs = [(i, j) for i, j in zip(r, c, strict=True) if cost[i, j] < limit]
    return pairs, set(range(rows)) - {i for i, _ in pairs}, set(range(cols)) - {j for _, j in pairs}


def _unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    return v / max(np.linalg.norm(v), 1e-12)


class Tracker:
    def __init__(self, config: TrackerConfig = TrackerConfig()):
        self.config = config
        self.tracks: list[Track] = []
        self.next_track_id = 0
        self.next_index = 0
        self.frames_seen = 0
        self.appearance_by_index: dict[int, list[float]] = {}

    # ------------------------------------------------------------------ state

    def state(self) -> dict:
        """Everything needed to continue tracking elsewhere, as plain JSON."""
        return {"config": asdict(self.config), "tracks": [asdict(t) for t in self.tracks],
                "next_track_id": self.next_track_id, "next_index": self.next_index,
                "frames_seen": self.frames_seen,
                "appearance_by_index": {str(k): v for k, v in self.appearance_by_index.items()}}

    @classmethod
    def from_state(cls, state: dict) -> Tracker:
        tracker = cls(TrackerConfig(**state["config"]))
        tracker.tracks = [Track(**t) for t in state["tracks"]]
        tracker.next_track_id = state["next_track_id"]
        tracker.next_index = state["next_index"]
        tracker.frames_seen = state["frames_seen"]
        tracker.appearance_by_index = {int(k): v for k, v in state["appearance_by_index"].items()}
        return tracker

    # ------------------------------------------------------------------ one frame

    def update(self, detections: list[ObjectBox], timestamp_ms: int,
               embeddings: list[np.ndarray] | None = None) -> list[TrackedPerson]:
        """Associate one frame's person boxes (already filtered to persons) with the tracks."""
        cfg = self.config
        if embeddings is not None and len(embeddings) != len(detections):
            raise ValueError("one embedding per detection, or none")
        for track in self.tracks:
            mean, cov = kalman.predict(np.asarray(track.mean), np.asarray(track.covariance))
            track.mean, track.covariance = mean.tolist(), cov.tolist()

        usable = [i for i, d in enumerate(detections) if d.box.height >= cfg.min_height]
        high = [i for i in usable if detections[i].score >= cfg.high_score]
        low = [i for i in usable if cfg.low_score <= detections[i].score < cfg.high_score]
        confirmed = [t for t in self.tracks if t.index is not None]
        tentative = [t for t in self.tracks if t.index is None]
        lost_window = cfg.lost_seconds * 1000
        pool = [t for t in confirmed if not t.lost or timestamp_ms - t.last_seen_ms <= lost_window]
        matched: list[tuple[Track, int]] = []

        # 2. high boxes x tracked and recently lost tracks: IoU, fused with appearance
        cost = self._fused_cost(pool, high, detections, embeddings)
        pairs, left_tracks, left_high = _assign(cost, 1.0 - cfg.match_iou)
        matched += [(pool[i], high[j]) for i, j in pairs]
        # 3. low boxes x tracks still unmatched that were tracked last frame: IoU only
        remaining = [pool[i] for i in sorted(left_tracks) if not pool[i].lost]
        iou = iou_matrix([t.box for t in remaining], [detections[j].box for j in low])
        pairs, _, _ = _assign(1.0 - iou, 1.0 - cfg.low_match_iou)
        matched += [(remaining[i], low[j]) for i, j in pairs]
        # 4. tentative tracks x high boxes left
        high_left = [high[j] for j in sorted(left_high)]
        iou = iou_matrix([t.box for t in tentative], [detections[j].box for j in high_left])
        pairs, _, left = _assign(1.0 - iou, 1.0 - cfg.tentative_match_iou)
        matched += [(tentative[i], high_left[j]) for i, j in pairs]
        high_left = [high_left[j] for j in sorted(left)]
        # 5. re-identification of lost tracks by appearance
        if embeddings is not None and high_left:
            taken = {id(t) for t, _ in matched}
            lost = [t for t in confirmed if id(t) not in taken and t.embedding is not None
                    and timestamp_ms - t.last_seen_ms <= cfg.reid_seconds * 1000]
            pairs, _, left = _assign(self._reid_cost(lost, high_left, detections, embeddings, timestamp_ms),
                                     cfg.reid_distance)
            matched += [(lost[i], high_left[j]) for i, j in pairs]
            high_left = [high_left[j] for j in sorted(left)]

        for track, j in matched:
            self._absorb(track, detections[j], timestamp_ms, None if embeddings is None else embeddings[j])
        matched_ids = {id(t) for t, _ in matched}
        for track in self.tracks:
            if id(track) not in matched_ids:
                track.lost = True
        # Unmatched tentative tracks die; confirmed ones wait out the re-id window.
        self.tracks = [t for t in self.tracks if id(t) in matched_ids or (
            t.index is not None and timestamp_ms - t.last_seen_ms <= cfg.reid_seconds * 1000)]
        # 6. new tracks
        for j in high_left:
            if detections[j].score >= cfg.new_track_score:
                track = self._start(detections[j], timestamp_ms, None if embeddings is None else embeddings[j])
                matched.append((track, j))
        self.frames_seen += 1
        people = [TrackedPerson(t.index, detections[j].box, detections[j].score, j)
                  for t, j in matched if t.index is not None]
        return sorted(people, key=lambda p: p.index)

    def appearances(self) -> dict[int, list[float]]:
        """Each person index's latest appearance embedding (for stitching chunks)."""
        return dict(self.appearance_by_index)

    # ------------------------------------------------------------------ helpers

    def _fused_cost(self, tracks, high, detections, embeddings) -> np.ndarray:
        cfg = self.config
        iou_distance = 1.0 - iou_matrix([t.box for t in tracks], [detections[j].box for j in high])
        if embeddings is None or not len(tracks) or not high:
            return iou_distance
        appearance = np.ones_like(iou_distance)
        for a, track in enumerate(tracks):
            if track.embedding is None:
                continue
            for b, j in enumerate(high):
                appearance[a, b] = 1.0 - float(_unit(track.embedding) @ _unit(embeddings[j]))
        # Appearance counts only for look-alikes that also overlap (BoT-SORT's gating).
        appearance[(appearance > cfg.appearance_distance) | (iou_distance > cfg.fuse_iou)] = 1.0
        return np.minimum(iou_distance, appearance)

    def _reid_cost(self, lost, candidates, detections, embeddings, timestamp_ms) -> np.ndarray:
        cfg = self.config
        cost = np.full((len(lost), len(candidates)), np.inf)
        for a, track in enumerate(lost):
            last = track.box
            reach = cfg.reid_max_speed * (timestamp_ms - track.last_seen_ms) / 1000 + max(last.width, last.height)
            for b, j in enumerate(candidates):
                box = detections[j].box
                moved = np.hypot(box.left + box.width / 2 - (last.left + last.width / 2),
                                 box.top + box.height / 2 - (last.top + last.height / 2))
                if moved <= reach:
                    cost[a, b] = 1.0 - float(_unit(track.embedding) @ _unit(embeddings[j]))
        return np.nan_to_num(cost, posinf=9.0)

    def _absorb(self, track: Track, detection: ObjectBox, timestamp_ms: int, embedding) -> None:
        cfg = self.config
        if track.lost and timestamp_ms - track.last_seen_ms > 0:
            # After a gap the filter's velocity is stale: restart it from the new box.
            mean, cov = kalman.initiate(kalman.to_xyah(detection.box))
        else:
            mean, cov = kalman.update(np.asarray(track.mean), np.asarray(track.covariance),
                                      kalman.to_xyah(detection.box))
        track.mean, track.covariance = mean.tolist(), cov.tolist()
        track.score, track.last_seen_ms, track.lost = detection.score, timestamp_ms, False
        track.hits += 1
        if embedding is not None:
            new = _unit(embedding)
            old = new if track.embedding is None else _unit(track.embedding)
            track.embedding = _unit(cfg.embedding_momentum * old + (1 - cfg.embedding_momentum) * new).tolist()
        if track.index is None and track.hits >= self.config.confirm_hits:
            self._confirm(track)
        if track.index is not None and track.embedding is not None:
            self.appearance_by_index[track.index] = track.embedding

    def _confirm(self, track: Track) -> None:
        track.index = self.next_index
        self.next_index += 1

    def _start(self, detection: ObjectBox, timestamp_ms: int, embedding) -> Track:
        mean, cov = kalman.initiate(kalman.to_xyah(detection.box))
        track = Track(self.next_track_id, mean.tolist(), cov.tolist(), detection.score, timestamp_ms, timestamp_ms,
                      embedding=None if embedding is None else _unit(embedding).tolist())
        self.next_track_id += 1
        if self.frames_seen == 0:  # ByteTrack confirms first-frame tracks at once
            self._confirm(track)
            if track.embedding is not None:
                self.appearance_by_index[track.index] = track.embedding
        self.tracks.append(track)
        return track
