"""The two ImageNet classifiers (EfficientNet-Lite3 TFLite, torchvision's MobileNetV2) on real photos."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.catalog import spec
from models.efficientnet_lite import LABELS_FILE, EfficientNetLite3
from models.efficientnet_lite import preprocess as effnet_preprocess
from models.mobilenet_v2 import MODEL_FILE, MobileNetV2, MobileNetV2Net, fold_batch_norms
from models.mobilenet_v2 import preprocess as mobilenet_preprocess
from models.registry import load
from models.taxonomy import imagenet_class_names
from tests.conftest import media
from tests.models.test_yolox import frame_at

CLASSIFIERS = ("efficientnet-lite3-imagenet", "mobilenet-v2-imagenet")


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    from skimage import data

    return {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}


@pytest.fixture(scope="session", params=CLASSIFIERS)
def classifier(request, models_dir):
    return load(request.param, models_dir, "cpu")


def test_the_package_label_list_is_our_class_order(models_dir):
    labels = spec("efficientnet-lite3-imagenet").paths(models_dir)[LABELS_FILE]
    if not labels.exists():
        pytest.skip("the package shipped no efficientnet_labels.txt")
    firsts = [line.split(",")[0].strip() for line in labels.read_text().splitlines()]
    keys = imagenet_class_names()
    assert len(firsts) == len(keys) == 1000
    assert all(key.split(" [")[0] == first for key, first in zip(keys, firsts, strict=True))


def test_coffee_is_espresso(classifier, photos):
    (scores,) = classifier.predict(photos["coffee"][None])
    assert scores.names[0] == "espresso" and scores.scores[0] > 0.8, scores.top(3)
    assert list(scores.scores) == sorted(scores.scores, reverse=True)
    assert len(scores.names) == classifier.top_k


def test_chelsea_is_a_kind_of_cat(classifier, photos):
    (scores,) = classifier.predict(photos["chelsea"][None])
    cats = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
    assert scores.names[0] in cats, scores.top(3)
    assert sum(scores.get(name) for name in cats) > 0.7


def test_the_puppy_is_a_retriever(classifier):
    frame = frame_at(media("objects/pexels_dog_eating_854132.mp4"), 0.5)
    (scores,) = classifier.predict(frame[None])
    assert scores.names[0] in {"golden retriever", "Labrador retriever"}, scores.top(3)


def test_the_cockatoo(classifier):
    frame = frame_at(media("objects/imageio_cockatoo_yuv420.mp4"), 0.5)
    (scores,) = classifier.predict(frame[None])
    assert scores.names[0] == "sulphur-crested cockatoo" and scores.scores[0] > 0.5, scores.top(3)


def test_predict_validates_and_batches(classifier, photos):
    from PIL import Image

    assert classifier.predict(np.zeros((0, 32, 32, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        classifier.predict(np.zeros((1, 32, 32, 3), np.float32))
    frames = np.stack([np.asarray(Image.fromarray(p).resize((400, 300))) for p in photos.values()])
    batched = classifier.predict(frames)
    singles = [classifier.predict(frame[None])[0] for frame in frames]
    for b, s in zip(batched, singles, strict=True):
        assert b.names[:3] == s.names[:3]
        np.testing.assert_allclose(b.scores[:3], s.scores[:3], atol=1e-5)


# --------------------------------------------------------------------------------------------
# each model's own pieces


def test_effnet_preprocess_is_a_centre_crop():
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:, 320:] = 255  # right half white
    out = effnet_preprocess(frame)
    assert out.shape == (1, 280, 280, 3) and out.dtype == np.uint8
    # 640x360 -> 498x280, crop columns 109..388: the white half starts at column 249 - 109 = 140
    assert out[0, :, 130].max() == 0 and out[0, :, 150].min() == 255


def test_mobilenet_state_dict_loads_strictly_and_folding_keeps_outputs(models_dir):
    net = MobileNetV2Net().eval()
    state = torch.load(spec("mobilenet-v2-imagenet").paths(models_dir)[MODEL_FILE], weights_only=True)
    assert net.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        before = net(x)
        after = fold_batch_norms(net)(x)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def test_mobilenet_preprocess_is_torchvisions_transform():
    frames = torch.full((1, 300, 400, 3), 255, dtype=torch.uint8)
    out = mobilenet_preprocess(frames)
    assert out.shape == (1, 3, 224, 224)
    # white after ImageNet normalisation
    expected = torch.tensor([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225])
    torch.testing.assert_close(out[0, :, 100, 100], expected)


def test_classes_are_the_models_spec_kind(models_dir):
    assert isinstance(load("efficientnet-lite3-imagenet", models_dir, "cpu"), EfficientNetLite3)
    assert isinstance(load("mobilenet-v2-imagenet", models_dir, "cpu"), MobileNetV2)
    assert {spec(name).kind for name in CLASSIFIERS} == {"scores"}
