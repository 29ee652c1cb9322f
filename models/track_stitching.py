"""Join person tracks of chunks tracked independently into video-wide person indexes.

Chunks of a video run as separate tasks, each with its own `Tracker` and its own local indexes
0, 1, 2 ... At finalize, `stitch` decides which local tracks are the same person:

1. Overlap (preferred). A chunk's tracker is started `warm-up` seconds before the chunk's own
   range (the engine decodes those frames too, e.g. 2 s). Its rows before `start_ms` are only
   for stitching: at those timestamps the previous chunk saw the same frames through the same
   detector, so the same person has the same box in both, and tracks are paired by how many
   shared timestamps their boxes agree on (IoU >= 0.5). The warm-up also lets the new tracker
   confirm its tracks before its own range starts, so no rows are lost at the edge.
2. Edge boxes (no warm-up). A track seen in the last `EDGE_MS` of chunk k and one seen in the
   first `EDGE_MS` of chunk k+1 are paired by the IoU of their boxes at the edge, or by looking
   alike (embeddings) while being near each other.
3. Re-identification. A track of chunk k+1 left unpaired is compared by appearance with tracks
   that ended within `REID_MS` before it started in earlier chunks and were not continued, as
   the tracker itself does after an occlusion.

Pairs are chosen one to one (Hungarian); chains of pairs run across any number of chunks; the
people get global indexes in order of first appearance, as Rekognition numbers them.

When chunks are tracked one after another, handing `Tracker.state()` to the next chunk's
`Tracker.from_state` keeps indexes without any stitching; stitching is for parallel chunks.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from models.outputs import BoundingBox

EDGE_MS = 1500
REID_MS = 10_000
MIN_IOU = 0.3
SAME_BOX_IOU = 0.5  # the same detection seen by two chunks in their overlap
APPEARANCE_DISTANCE = 0.2  # cosine distance for an appearance-only pairing
MAX_CENTRE_SHIFT_PER_S = 0.5  # frame widths a person may move per second between sightings

Row = tuple[int, int, BoundingBox]  # (timestamp_ms, local index, box)


@dataclass
class ChunkTracks:
    """What one chunk's tracker produced. `rows` may start before `start_ms` (the warm-up)."""

    start_ms: int
    end_ms: int
    rows: list[Row] = field(default_factory=list)
    appearances: dict[int, list[float]] = field(default_factory=dict)  # Tracker.appearances()

    def to_json(self) -> dict:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms,
                "rows": [[t, i, [b.left, b.top, b.width, b.height]] for t, i, b in self.rows],
                "appearances": {str(k): v for k, v in self.appearances.items()}}

    @classmethod
    def from_json(cls, data: dict) -> ChunkTracks:
        return cls(data["start_ms"], data["end_ms"], [(t, i, BoundingBox(*b)) for t, i, b in data["rows"]],
                   {int(k): v for k, v in data["appearances"].items()})

    def own_rows(self) -> list[Row]:
        """The rows this chunk reports: those in [start_ms, end_ms)."""
        return [row for row in self.rows if self.start_ms <= row[0] < self.end_ms]

    def spans(self) -> dict[int, tuple[Row, Row]]:
        """Each local index's first and last own row."""
        found: dict[int, tuple[Row, Row]] = {}
        for row in sorted(self.own_rows(), key=lambda r: r[0]):
            first = found.get(row[1], (row, row))[0]
            found[row[1]] = (first, row)
        return found


def _centre_shift(a: BoundingBox, b: BoundingBox) -> float:
    return float(np.hypot(a.left + a.width / 2 - b.left - b.width / 2, a.top + a.height / 2 - b.top - b.height / 2))


def _appearance(a: list[float] | None, b: list[float] | None) -> float:
    if a is None or b is None:
        return np.inf
    va, vb = np.asarray(a), np.asarray(b)
    return 1.0 - float(va @ vb / max(np.linalg.norm(va) * np.linalg.norm(vb), 1e-12))


def _pairs(cost: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one pairs of finite cost, cheapest overall."""
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
    return [(r, c) for r, c in zip(rows, cols, strict=True) if np.isfinite(cost[r, c])]


def _overlap_cost(before: ChunkTracks, after: ChunkTracks) -> tuple[list[int], list[int], np.ndarray]:
    warm_up = [row for row in after.rows if row[0] < after.start_ms]
    earlier = defaultdict(list)
    for ts, index, box in before.rows:
        earlier[ts].append((index, box))
    votes: dict[tuple[int, int], int] = defaultdict(int)
    for ts, index, box in warm_up:
        for other, other_box in earlier.get(ts, ()):
            if box.iou(other_box) >= SAME_BOX_IOU:
                votes[(other, index)] += 1
    a_ids = sorted({a for a, _ in votes})
    b_ids = sorted({b for _, b in votes})
    cost = np.array([[-votes[(a, b)] if votes.get((a, b)) else np.inf for b in b_ids] for a in a_ids])
    return a_ids, b_ids, cost.reshape(len(a_ids), len(b_ids))


def _edge_cost(before: ChunkTracks, after: ChunkTracks, edge_ms: int) -> tuple[list[int], list[int], np.ndarray]:
    ends, starts = before.spans(), after.spans()
    a_ids = [i for i, (_, last) in ends.items() if last[0] >= before.end_ms - edge_ms]
    b_ids = [i for i, (first, _) in starts.items() if first[0] <= after.start_ms + edge_ms]
    cost = np.full((len(a_ids), len(b_ids)), np.inf)
    for r, a in enumerate(a_ids):
        last = ends[a][1]
        for c, b in enumerate(b_ids):
            first = starts[b][0]
            iou = last[2].iou(first[2])
            if iou >= MIN_IOU:
                cost[r, c] = 1.0 - iou
            elif (_appearance(before.appearances.get(a), after.appearances.get(b)) <= APPEARANCE_DISTANCE
                  and _centre_shift(last[2], first[2]) <= MAX_CENTRE_SHIFT_PER_S * max(1.0, (first[0] - last[0]) / 1000)):
                cost[r, c] = 2.0  # after every overlapping pair
    return a_ids, b_ids, cost


def find_root(parent: dict, key: tuple[int, int]) -> tuple[int, int]:
    """The track a joined group of chunk tracks is known by (a union-find kept as a parent map)."""
    while parent.setdefault(key, key) != key:
        key = parent[key]
    return key


def number_persons(chunks: list[ChunkTracks], parent: dict) -> dict[tuple[int, int], int]:
    """(chunk position, local index) -> global person index: joined tracks share one, and persons
    are numbered in order of first appearance."""
    first_seen: dict[tuple[int, int], tuple] = {}
    for k, chunk in enumerate(chunks):
        for index, (first, _) in chunk.spans().items():
            person = find_root(parent, (k, index))
            first_seen[person] = min(first_seen.get(person, (first[0], k, index)), (first[0], k, index))
    order = {person: n for n, person in enumerate(sorted(first_seen, key=first_seen.get))}
    return {(k, index): order[find_root(parent, (k, index))] for k, chunk in enumerate(chunks) for index in chunk.spans()}


def stitch(chunks: list[ChunkTracks], edge_ms: int = EDGE_MS, reid_ms: int = REID_MS) -> dict[tuple[int, int], int]:
    """(chunk position, local index) -> global person index, for every local index of every chunk."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    continued: set[tuple[int, int]] = set()  # tracks that already have a successor
    for k in range(len(chunks) - 1):
        before, after = chunks[k], chunks[k + 1]
        has_warm_up = any(row[0] < after.start_ms for row in after.rows)
        a_ids, b_ids, cost = (_overlap_cost(before, after) if has_warm_up else _edge_cost(before, after, edge_ms))
        linked = set()
        for r, c in _pairs(cost):
            parent[find_root(parent, (k + 1, b_ids[c]))] = find_root(parent, (k, a_ids[r]))
            continued.add((k, a_ids[r]))
            linked.add(b_ids[c])
        # Re-identify newcomers of chunk k+1 with people who vanished earlier and never came back.
        newcomers = [(b, first) for b, (first, _) in after.spans().items() if b not in linked]
        ended = [((j, a), last) for j in range(k + 1) for a, (_, last) in chunks[j].spans().items()
                 if (j, a) not in continued and chunks[j].appearances.get(a) is not None]
        reid = np.full((len(ended), len(newcomers)), np.inf)
        for r, ((j, a), last) in enumerate(ended):
            for c, (b, first) in enumerate(newcomers):
                gap = first[0] - last[0]
                if (0 < gap <= reid_ms and _centre_shift(last[2], first[2]) <= MAX_CENTRE_SHIFT_PER_S * gap / 1000 + 0.2):
                    distance = _appearance(chunks[j].appearances[a], after.appearances.get(b))
                    if distance <= APPEARANCE_DISTANCE:
                        reid[r, c] = distance
        for r, c in _pairs(reid):
            (j, a), _ = ended[r]
            parent[find_root(parent, (k + 1, newcomers[c][0]))] = find_root(parent, (j, a))
            continued.add((j, a))

    return number_persons(chunks, parent)
