"""Person tracking on real clips (CenterNet persons + MobileNetV2 appearance), chunk edges, and the pure parts."""
from __future__ import annotations

import json
from collections import Counter

import av
import numpy as np
import pytest
import torch

from models import kalman
from models.outputs import BoundingBox, ObjectBox
from models.registry import load
from models.track_stitching import ChunkTracks, stitch
from models.tracking import PRESETS, Tracker, TrackerConfig
from tests.conftest import media

INTEL = "people/intel_one-by-one-person-detection_first40s.mp4"
BASKETBALL = "people/mmaction2_basketball_gym.mp4"
# Looked at frame by frame (one PNG a second):
# INTEL: nobody until 6 s; a woman in a grey cardigan walks in at ~6.5 s, stands at the table
# and walks out to the right at ~19.5 s; nobody 20-23 s; a man in black walks in at ~23 s and
# stays to the end (40 s). Two people, never together.
INTEL_PEOPLE = 2
WOMAN_IN_VIEW = (8000, 18500)
MAN_IN_VIEW = (24500, 39999)
# BASKETBALL: two players the whole time (white shirt on the left at first, blue shirt on the
# right), who cross at ~5 s; the detector loses the blue player between ~5 and ~8 s; at 9.3 s
# the camera whips round.
BASKETBALL_PEOPLE = 2


def _detect(clip: str, every: int, models_dir) -> list[tuple[int, list[ObjectBox], list[np.ndarray]]]:
    """(timestamp ms, person boxes, their embeddings) for every `every`-th frame."""
    detector = load("centernet-coco", models_dir)
    embedder = load("mobilenetv2-reid", models_dir)
    low = type(detector)(detector.spec, detector.files, detector.device, detector.batch_size)
    low._built, low.min_score = detector.built, 0.1  # keep ByteTrack's low-score boxes
    samples = []
    # One torch thread: on a shared 2-core machine two threads spin against each other and run
    # these small models ~5x slower (measured: 3.3 s vs 0.6 s per frame under load).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with av.open(str(media(clip))) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index % every:
                    continue
                image = frame.to_ndarray(format="rgb24")
                people = [d for d in low.predict(image[None])[0] if d.name == "person"]
                vectors = [e.vector for e in embedder.embed_boxes(image, [p.box for p in people])]
                samples.append((round(frame.time * 1000), people, vectors))
    finally:
        torch.set_num_threads(threads)
    return samples


@pytest.fixture(scope="module")
def intel(models_dir):
    return _detect(INTEL, 4, models_dir)  # 2.5 samples a second


@pytest.fixture(scope="module")
def basketball(models_dir):
    return _detect(BASKETBALL, 3, models_dir)  # ~10 samples a second: fast motion


def track(samples, tracker: Tracker | None = None) -> tuple[list[tuple[int, int, BoundingBox]], Tracker]:
    tracker = tracker or Tracker(PRESETS["centernet-coco"])
    rows = []
    for timestamp, people, vectors in samples:
        rows += [(timestamp, p.index, p.box) for p in tracker.update(people, timestamp, vectors)]
    return rows, tracker


def indexes_between(rows, start: int, end: int) -> Counter:
    return Counter(index for timestamp, index, _ in rows if start <= timestamp <= end)


def index_at(rows, timestamp: int, side: str) -> int:
    """The index of the leftmost / rightmost person in the sampled frame nearest `timestamp`."""
    nearest = min({t for t, _, _ in rows}, key=lambda t: abs(t - timestamp))
    here = [(box.left + box.width / 2, index) for t, index, box in rows if t == nearest]
    return (min if side == "left" else max)(here)[1]


def test_intel_one_index_per_person(intel):
    rows, _ = track(intel)
    assert len({index for _, index, _ in rows}) == INTEL_PEOPLE
    woman, man = indexes_between(rows, *WOMAN_IN_VIEW), indexes_between(rows, *MAN_IN_VIEW)
    assert len(woman) == 1 and len(man) == 1 and woman.keys() != man.keys()
    assert list(woman) == [0]  # numbered in order of appearance
    # tracked on most samples while in view (the detector scores her 0.13-0.31 from above)
    assert woman[0] >= 0.8 * sum(1 for t, _, _ in intel if WOMAN_IN_VIEW[0] <= t <= WOMAN_IN_VIEW[1])
    assert indexes_between(rows, 0, 6000) == Counter()  # the empty room: nobody


def test_basketball_players_keep_their_indexes(basketball):
    rows, _ = track(basketball)
    distinct = {index for _, index, _ in rows}
    # Two players; CenterNet's box of the white player's legs alone at 0-0.4 s starts a short
    # track before her full box takes over, so one extra index.
    assert BASKETBALL_PEOPLE <= len(distinct) <= BASKETBALL_PEOPLE + 1
    white, blue = index_at(rows, 1000, "left"), index_at(rows, 0, "right")
    assert white != blue
    assert index_at(rows, 9000, "left") == white  # across their crossing at ~5 s
    assert index_at(rows, 8600, "right") == blue  # re-identified after 3 s undetected
    long_tracks = [index for index, n in Counter(i for _, i, _ in rows).items() if n >= 20]
    assert sorted(long_tracks) == sorted([white, blue])


def test_state_handed_over_through_json_continues_exactly(intel, basketball):
    for samples, edges in ((intel, (15000, 30000)), (basketball, (3000, 6000))):
        whole, _ = track(samples)
        rows, tracker = [], None
        for start, end in zip((0, *edges), (*edges, 10**9), strict=True):
            if tracker is not None:
                tracker = Tracker.from_state(json.loads(json.dumps(tracker.state())))
            part, tracker = track([s for s in samples if start <= s[0] < end], tracker)
            rows += part
        assert [(t, i) for t, i, _ in rows] == [(t, i) for t, i, _ in whole]


@pytest.mark.parametrize("warm_up_ms", [2000, 0])
def test_parallel_chunks_are_stitched(intel, basketball, warm_up_ms):
    """Chunks tracked independently (edges at 15 s while the woman stands in view, 30 s with the
    man; 3 s and 6 s in the basketball clip), then stitched. With a 2 s warm-up the result is the
    unchunked one exactly; without, a few rows at each edge are lost while a new tracker confirms
    its tracks, but nobody changes index."""
    for samples, edges in ((intel, (15000, 30000)), (basketball, (3000, 6000))):
        whole, _ = track(samples)
        chunks = []
        for start, end in zip((0, *edges), (*edges, 10**9), strict=True):
            part, tracker = track([s for s in samples if start - warm_up_ms <= s[0] < end])
            chunks.append(ChunkTracks(start, end, part, tracker.appearances()))
        mapping = stitch([ChunkTracks.from_json(json.loads(json.dumps(c.to_json()))) for c in chunks])
        stitched = sorted((t, mapping[(k, i)]) for k, c in enumerate(chunks) for t, i, _ in c.own_rows())
        expected = sorted((t, i) for t, i, _ in whole)
        if warm_up_ms:
            assert stitched == expected
        else:
            assert set(stitched) <= set(expected) and len(stitched) >= len(expected) - 10
        if samples is intel:
            assert len({i for t, i in stitched if WOMAN_IN_VIEW[0] <= t <= WOMAN_IN_VIEW[1]}) == 1


# ---------------------------------------------------------------- pure parts


def _box(x: float, y: float = 0.3, w: float = 0.1, h: float = 0.4) -> BoundingBox:
    return BoundingBox(x, y, w, h)


def test_kalman_follows_constant_motion():
    mean, cov = kalman.initiate(kalman.to_xyah(_box(0.1)))
    for step in range(1, 8):
        mean, cov = kalman.predict(mean, cov)
        mean, cov = kalman.update(mean, cov, kalman.to_xyah(_box(0.1 + 0.02 * step)))
    mean, _ = kalman.predict(mean, cov)
    assert kalman.from_xyah(mean).left == pytest.approx(0.1 + 0.02 * 8, abs=0.005)
    assert kalman.from_xyah(kalman.to_xyah(_box(0.3))) == pytest.approx(_box(0.3))


def test_low_score_boxes_carry_a_track_through_occlusion():
    """A person walks right; for three frames they are half hidden and scored 0.3 (below the high
    threshold): ByteTrack's second association keeps their index, a plain threshold would not."""
    tracker = Tracker(TrackerConfig())
    indexes = []
    for step in range(12):
        score = 0.3 if 4 <= step < 7 else 0.9
        people = tracker.update([ObjectBox("person", score, _box(0.1 + 0.03 * step))], step * 200)
        indexes += [p.index for p in people]
    assert indexes == [0] * 12


def test_two_people_crossing_keep_their_indexes():
    tracker = Tracker(TrackerConfig())
    seen = []
    for step in range(15):
        a, b = _box(0.1 + 0.05 * step, y=0.30), _box(0.8 - 0.05 * step, y=0.35)
        people = tracker.update([ObjectBox("person", 0.9, a), ObjectBox("person", 0.85, b)], step * 200)
        seen.append({p.detection: p.index for p in people})
    assert all(frame == {0: 0, 1: 1} for frame in seen)


def test_reidentified_by_appearance_after_a_long_occlusion():
    look = np.zeros(8)
    look[0] = 1.0
    other = np.zeros(8)
    other[1] = 1.0
    tracker = Tracker(TrackerConfig())
    for step in range(5):
        tracker.update([ObjectBox("person", 0.9, _box(0.2))], step * 200, [look])
    for step in range(5, 20):  # 3 s hidden: longer than lost_seconds
        tracker.update([], step * 200, [])
    # back a little further right, next to a stranger who starts a track of their own
    people = tracker.update([ObjectBox("person", 0.9, _box(0.45)), ObjectBox("person", 0.9, _box(0.7))],
                            4000, [look, other])
    assert [(p.detection, p.index) for p in people] == [(0, 0)]  # the stranger is only tentative
    people = tracker.update([ObjectBox("person", 0.9, _box(0.45)), ObjectBox("person", 0.9, _box(0.7))],
                            4200, [look, other])
    assert [(p.detection, p.index) for p in people] == [(0, 0), (1, 1)]


def test_without_appearance_a_long_occlusion_means_a_new_index():
    tracker = Tracker(TrackerConfig())
    for step in range(5):
        tracker.update([ObjectBox("person", 0.9, _box(0.2))], step * 200)
    for step in range(5, 20):
        tracker.update([], step * 200)
    tracker.update([ObjectBox("person", 0.9, _box(0.45))], 4000)
    assert [p.index for p in tracker.update([ObjectBox("person", 0.9, _box(0.46))], 4200)] == [1]


def test_noise_and_small_boxes_make_no_person():
    tracker = Tracker(TrackerConfig(min_height=0.1))
    tracker.update([ObjectBox("person", 0.95, _box(0.5, h=0.05))], 0)  # too small
    for step in range(1, 6):  # one-frame flickers at random places never get confirmed
        assert tracker.update([ObjectBox("person", 0.7, _box(0.15 * step))] if step % 2 else [], step * 200) == []
    assert tracker.next_index == 0


def test_stitching_by_edge_boxes_and_first_appearance_order():
    a = ChunkTracks(0, 1000, [(800, 0, _box(0.1)), (900, 0, _box(0.11)), (900, 1, _box(0.6))])
    # chunk 2's local indexes are in the other order; its first rows are at the edge
    b = ChunkTracks(1000, 2000, [(1000, 0, _box(0.61)), (1000, 1, _box(0.12)), (1500, 2, _box(0.9, h=0.2))])
    mapping = stitch([a, b])
    assert mapping == {(0, 0): 0, (0, 1): 1, (1, 1): 0, (1, 0): 1, (1, 2): 2}
