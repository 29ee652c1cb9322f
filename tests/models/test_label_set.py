"""benchmarks/label_set.json: the hand-labelled images the calibration and the benchmark rely on."""
from __future__ import annotations

import pytest

from benchmarks import label_set
from models.taxonomy import label_info


def test_folds_share_no_clip_or_photo():
    sources = {fold: {item.source for item in label_set.items(fold)} for fold in label_set.FOLDS}
    assert sources["a"] and sources["b"] and not sources["a"] & sources["b"]
    assert len(label_set.items()) == sum(len(label_set.items(fold)) for fold in label_set.FOLDS) >= 80


def test_every_label_is_one_the_models_can_say():
    for item in label_set.items():
        for name in [*item.expected, *(pattern.removesuffix("/*") for pattern in item.allowed)]:
            assert label_info(name).name == name, (item.title, name)


def test_what_counts_as_right():
    item = label_set.Item("x", None, "a", frozenset({"Dog"}), ("Car/*",))
    assert label_set.is_true(item, "Dog") and label_set.is_true(item, "Animal")  # an expected label's ancestor
    assert label_set.is_true(item, "Sports Car") and label_set.is_true(item, "Vehicle")
    assert not label_set.is_true(item, "Cat") and not label_set.is_true(item, "Mobile Phone")
    score = label_set.Score()
    assert score.add(item, {"Dog", "Animal", "Cat"}) == ["Cat"]
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 0)
    assert score.precision == 0.5 and score.recall == 1.0 and score.f1 == pytest.approx(2 / 3)


def test_images_load_from_skimage_and_the_shared_media():
    astronaut = next(i for i in label_set.items() if i.source == "skimage/astronaut")
    assert label_set.image(astronaut).shape == (512, 512, 3)
    frame = next(i for i in label_set.items() if i.source.startswith("media/") and i.at is not None)
    if not label_set.SHARED_MEDIA.exists():
        from tests.conftest import media_required

        if media_required():
            pytest.fail(f"real test media missing: {label_set.SHARED_MEDIA}")
        pytest.skip("real test media not present")
    picture = label_set.image(frame)
    assert picture.dtype.name == "uint8" and picture.ndim == 3
