"""CenterNet (human 3.3.6) on real images: what the model really finds, and its pure helpers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from models import fetch as fetch_module
from models.catalog import spec
from models.centernet import (
    COCO_LABELS,
    CenterNet,
    decode_heads,
    non_max_suppression,
    postprocess,
    preprocess,
    to_detections,
)
from models.outputs import BoundingBox, ObjectBox
from models.registry import load

REPO = Path(__file__).resolve().parents[2]
SHARED_MEDIA = Path(__file__).resolve().parents[2].parent / "shared" / "media"
TRAFFIC = SHARED_MEDIA / "traffic" / "intel_car-detection.mp4"

# `tower_0/detections` (x1, y1, x2, y2, score, class) for the first three peaks, as produced by
# @tensorflow/tfjs 4.22.0 (CPU backend) running the same centernet.json on the same pixels after
# tf.image.resizeBilinear(img, [512, 512]) -- i.e. what human itself computes.
TFJS_REFERENCE = {
    "astronaut": [[8.346, 8.818, 368.901, 519.552, 0.61, 0], [25.551, 17.618, 376.706, 516.552, 0.262, 0],
                  [282.246, 343.942, 505.863, 510.946, 0.17, 3]],
    "coffee": [[141.381, 27.508, 350.965, 332.267, 0.458, 41], [127.918, 14.254, 362.528, 456.759, 0.404, 60],
               [140.358, 29.58, 352.59, 351.504, 0.35, 41]],
    "chelsea": [[-4.208, 9.782, 479.457, 510.801, 0.477, 16], [-2.046, 8.671, 470.494, 510.241, 0.376, 16],
                [-4.208, 9.782, 479.457, 510.801, 0.253, 59]],
}  # fmt: skip


SPEC = spec("centernet-coco")


@pytest.fixture(scope="session")
def model_dir(models_dir) -> Path:
    return SPEC.directory(models_dir)


@pytest.fixture(scope="session")
def analyzer(models_dir) -> CenterNet:
    return load("centernet-coco", models_dir)


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    from skimage import data

    return {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}


def _right(d: ObjectBox) -> float:
    return d.box.right


def _bottom(d: ObjectBox) -> float:
    return d.box.bottom


# --------------------------------------------------------------------------------------------
# fetching


def test_fetch_models_is_a_no_op_when_present(model_dir, monkeypatch):
    monkeypatch.setattr("models.fetch.shutil.which", lambda name: None)  # npm would be needed otherwise
    files = fetch_module.fetch([SPEC], model_dir.parent)["centernet-coco"]
    assert files["centernet.json"] == model_dir / "centernet.json"
    assert files["centernet.bin"] == model_dir / "centernet.bin"
    assert fetch_module.missing([SPEC], model_dir.parent) == []


def test_fetch_models_needs_npm(tmp_path, monkeypatch):
    monkeypatch.setattr("models.fetch.shutil.which", lambda name: None)
    assert fetch_module.missing([SPEC], tmp_path) == ["centernet-coco"]
    with pytest.raises(RuntimeError, match="npm"):
        fetch_module.fetch([SPEC], tmp_path)


def test_fetch_models_refuses_a_tarball_with_another_hash(tmp_path, monkeypatch):
    def fake_pack(package, workdir):
        fake = workdir / package.archive
        fake.write_bytes(b"not the package")
        return fake

    monkeypatch.setattr("models.fetch._npm_pack", fake_pack)
    with pytest.raises(RuntimeError, match="does not match the pinned"):
        fetch_module.fetch([SPEC], tmp_path / "models")
    assert not (tmp_path / "models" / "human-3.3.6" / "centernet.bin").exists()


# --------------------------------------------------------------------------------------------
# pure pre/post-processing


def test_labels_match_the_package_labels_ts(model_dir):
    labels_ts = model_dir / "labels.ts"
    if not labels_ts.exists():
        pytest.skip("the package shipped no src/object/labels.ts")
    assert tuple(re.findall(r"label: '([^']+)'", labels_ts.read_text())) == COCO_LABELS
    assert len(COCO_LABELS) == 80 and COCO_LABELS[0] == "person" and COCO_LABELS[41] == "cup"


def test_preprocess_is_a_plain_stretch_to_512():
    frames = torch.full((2, 90, 160, 3), 200, dtype=torch.uint8)
    out = preprocess(frames)
    assert out.shape == (2, 512, 512, 3) and out.dtype == torch.float32
    assert torch.all(out == 200.0)  # no normalisation: human feeds 0..255
    with pytest.raises(ValueError):
        preprocess(torch.zeros(90, 160, 3, dtype=torch.uint8))


def test_decode_heads_finds_peaks_and_boxes():
    heat = torch.zeros(2, 8, 8, 3)
    wh = torch.zeros(2, 8, 8, 4)
    heat[0, 2, 5, 1] = 0.9  # peak: y=2, x=5, class 1
    heat[0, 2, 6, 1] = 0.8  # its neighbour: suppressed by the 3x3 max-pool
    heat[0, 6, 1, 2] = 0.7  # another peak, class 2
    wh[0, 2, 5] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    heat[1, 0, 0, 0] = 0.5
    boxes, scores, classes = decode_heads(heat, wh, input_size=32, top_k=4)  # stride 4
    assert boxes.shape == (2, 4, 4) and scores.shape == (2, 4) and classes.shape == (2, 4)
    assert scores[0, :2].tolist() == pytest.approx([0.9, 0.7])
    assert scores[0, 2].item() == 0.0  # the neighbour is gone
    assert classes[0, :2].tolist() == [1, 2]
    assert boxes[0, 0].tolist() == [20 - 1, 8 - 2, 20 + 3, 8 + 4]
    assert boxes[0, 1].tolist() == [4.0, 24.0, 4.0, 24.0]
    assert scores[1, 0].item() == pytest.approx(0.5) and classes[1, 0].item() == 0


def test_nms_follows_tfjs_semantics():
    boxes = np.array(
        [[0, 0, 10, 10], [0, 0, 10, 8], [20, 20, 30, 30], [0, 0, 10, 10.5], [40, 40, 50, 50]], float
    )
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.2])
    # IoU(0,1) = 0.8 -> suppressed; box 3 wins over 0; the 0.2 box is not > 0.2.
    assert non_max_suppression(boxes, scores, 10, 0.4, 0.2) == [3, 2]
    assert non_max_suppression(boxes, scores, 1, 0.4, 0.2) == [3]
    # IoU exactly at the threshold suppresses (tfjs: iou >= threshold).
    half = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], float)
    assert non_max_suppression(half, np.array([0.9, 0.8]), 10, 0.5, 0.0) == [0]
    # ties: the lower index first
    assert non_max_suppression(boxes[[2, 4]], np.array([0.5, 0.5]), 10, 0.4, 0.0) == [0, 1]


def test_to_detections_clamps_and_names():
    boxes = np.array([[-10.0, 256.0, 128.0, 600.0]])
    (det,) = to_detections(boxes, np.array([0.5]), np.array([2]), [0], input_size=512)
    assert det.name == "car" and det.score == pytest.approx(0.5)
    assert det.box == BoundingBox(left=0.0, top=0.5, width=0.25, height=0.5)


def test_postprocess_applies_threshold_nms_and_limit():
    boxes = np.array([[0, 0, 100, 100], [5, 5, 100, 100], [200, 200, 300, 300], [300, 300, 400, 400]], float)
    scores = np.array([0.6, 0.5, 0.4, 0.1])
    classes = np.array([0, 16, 41, 2])
    dets = postprocess(boxes, scores, classes, min_score=0.2, iou_threshold=0.4, max_detections=100)
    assert [d.name for d in dets] == ["person", "cup"]  # class-agnostic NMS, as human does
    assert len(postprocess(boxes, scores, classes, min_score=0.2, max_detections=1)) == 1


# --------------------------------------------------------------------------------------------
# the real model


def test_load_is_idempotent(analyzer, models_dir):
    module = analyzer.built
    analyzer.load()
    assert analyzer.built is module
    assert analyzer.name == "centernet-coco" and analyzer.version == "human-3.3.6-centernet"
    assert analyzer.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert load("centernet-coco", models_dir) is analyzer, "one instance per process"


def test_predict_validates_input(analyzer):
    assert analyzer.predict(np.zeros((0, 64, 64, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        analyzer.predict(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError):
        analyzer.predict(np.zeros((64, 64, 3), np.uint8))


@pytest.mark.parametrize("name", sorted(TFJS_REFERENCE))
def test_matches_tfjs_reference(analyzer, photos, name):
    boxes, scores, classes = analyzer.decode(photos[name][None])
    reference = np.array(TFJS_REFERENCE[name])
    np.testing.assert_allclose(boxes[0, :3].numpy(), reference[:, :4], atol=0.01)
    np.testing.assert_allclose(scores[0, :3].numpy(), reference[:, 4], atol=1e-3)
    assert classes[0, :3].tolist() == reference[:, 5].astype(int).tolist()


def test_astronaut_is_a_person(analyzer, photos):
    (dets,) = analyzer.predict(photos["astronaut"][None])
    assert [d.name for d in dets] == ["person"]
    (person,) = dets
    assert person.score == pytest.approx(0.610, abs=0.01)
    # the astronaut fills the left ~70 % of the picture, top to bottom
    assert person.box.left < 0.05 and person.box.top < 0.05
    assert 0.65 < _right(person) < 0.8 and _bottom(person) > 0.95


def test_coffee_is_a_cup(analyzer, photos):
    (dets,) = analyzer.predict(photos["coffee"][None])
    assert [d.name for d in dets] == ["cup"]  # the dining table (40 %) overlaps it and is suppressed
    (cup,) = dets
    assert cup.score == pytest.approx(0.458, abs=0.01)
    assert 0.2 < cup.box.left < 0.35 and 0.6 < _right(cup) < 0.75
    assert cup.box.top < 0.1 and 0.55 < _bottom(cup) < 0.75


def test_chelsea_the_cat(analyzer, photos):
    """What this model really says about skimage's cat: "dog" at ~48 %; "cat" is only a 20 %
    peak on the same box, which human's own thresholds (score > 0.2, class-agnostic NMS) drop."""
    (dets,) = analyzer.predict(photos["chelsea"][None])
    assert [d.name for d in dets] == ["dog"]
    (animal,) = dets
    assert animal.score == pytest.approx(0.477, abs=0.01)
    assert (
        animal.box.left < 0.05 and animal.box.top < 0.05 and _right(animal) > 0.9 and _bottom(animal) > 0.95
    )
    boxes, scores, classes = analyzer.decode(photos["chelsea"][None])
    top = [COCO_LABELS[c] for c in classes[0, :10].tolist()]
    assert "cat" in top
    cat = top.index("cat")
    assert scores[0, cat].item() == pytest.approx(0.20, abs=0.02)
    torch.testing.assert_close(boxes[0, cat], boxes[0, 0])  # the same centre and box as the dog


def test_traffic_video_has_a_car(analyzer):
    from tests.conftest import media

    media("traffic/intel_car-detection.mp4")  # skips outside CI when absent, fails in CI
    import av

    # 8.32 s (frame 104 at 12.5 fps): a white car leaves at the top centre of this overhead view.
    # At 10.0 s itself the lot is empty; the nearest frames with a car are 8.32 s and 17.76-18.0 s.
    with av.open(str(TRAFFIC)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= 8.32 - 1e-3:
                image = frame.to_ndarray(format="rgb24")
                break
    (dets,) = analyzer.predict(image[None])
    cars = [d for d in dets if d.name == "car"]
    assert cars, f"no car in {[(d.name, round(d.score, 3)) for d in dets]}"
    car = max(cars, key=lambda d: d.score)
    assert car.score > 0.25
    assert 0.3 < car.box.left < 0.45 and 0.45 < _right(car) < 0.6 and car.box.top < 0.05


def test_batch_equals_single_frames(analyzer, photos):
    from PIL import Image

    frames = np.stack([np.asarray(Image.fromarray(photos[n]).resize((512, 512))) for n in sorted(photos)])
    batched = analyzer.predict(frames)
    singles = [analyzer.predict(frame[None])[0] for frame in frames]
    assert len(batched) == 3
    assert [[d.name for d in dets] for dets in batched] == [[d.name for d in dets] for dets in singles]
    for b_dets, s_dets in zip(batched, singles, strict=True):
        for b, s in zip(b_dets, s_dets, strict=True):
            assert b.score == pytest.approx(s.score, abs=1e-5)
            assert [b.box.left, b.box.top, b.box.width, b.box.height] == pytest.approx(
                [s.box.left, s.box.top, s.box.width, s.box.height], abs=1e-5
            )
    # the raw peaks agree too, not just what survives the thresholds
    b_boxes, b_scores, _ = analyzer.decode(frames)
    s_boxes, s_scores, _ = analyzer.decode(frames[1:2])
    torch.testing.assert_close(b_scores[1:2, :20], s_scores[:, :20], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b_boxes[1:2, :20], s_boxes[:, :20], atol=1e-3, rtol=1e-4)


def test_boxes_are_ratios_of_the_frame(analyzer, photos):
    low = CenterNet(analyzer.spec, analyzer.files, analyzer.device, analyzer.batch_size)
    low.min_score = 0.05
    low._built = analyzer.built
    seen = 0
    for image in photos.values():
        for det in low.predict(image[None])[0]:
            box = det.box
            assert 0.0 <= box.left <= 1.0 and 0.0 <= box.top <= 1.0
            assert 0.0 <= box.width <= 1.0 - box.left + 1e-9 and 0.0 <= box.height <= 1.0 - box.top + 1e-9
            assert 0.0 < det.score <= 1.0 and det.name in COCO_LABELS
            seen += 1
    assert seen > 3
