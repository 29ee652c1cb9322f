"""The TF.js graph interpreter: TF semantics of its kernels, and the real CenterNet graph."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import torch

from models.catalog import spec
from models.tfjs_graph import (
    GraphModule,
    TfjsGraph,
    UnsupportedOpError,
    load_graph_model,
    read_weights,
    resize_bilinear,
    same_padding,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def centernet_graph(models_dir) -> TfjsGraph:
    return load_graph_model(spec("centernet-coco").directory(models_dir) / "centernet.json")


# --------------------------------------------------------------------------------------------
# helpers: tiny synthetic graphs and a naive TF reference


def _s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(values) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def _graph(nodes: list[dict], weights: dict[str, np.ndarray]) -> TfjsGraph:
    return TfjsGraph(nodes={n["name"]: n for n in nodes}, weights=weights)


def _conv_node(name, op, inputs, stride, padding, **extra):
    attr = {"strides": _ints([1, stride, stride, 1]), "padding": _s(padding), "data_format": _s("NHWC")}
    attr.update(extra)
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _tf_conv_reference(x, w, stride, padding, depthwise=False):
    """Naive NHWC convolution with TF's padding rules (numpy, float64)."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (pt, pb), (pl, pr) = same_padding(h, kh, stride), same_padding(wd, kw, stride)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (h + pt + pb - kh) // stride + 1
    ow = (wd + pl + pr - kw) // stride + 1
    if depthwise:
        mult = w.shape[3]
        out = np.zeros((n, oh, ow, c * mult))
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                for ch in range(c):
                    for m in range(mult):
                        out[:, i, j, ch * mult + m] = (patch[..., ch] * w[:, :, ch, m]).sum(axis=(1, 2))
        return out
    out = np.zeros((n, oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w)
    return out


# --------------------------------------------------------------------------------------------
# kernels


def test_same_padding_is_tf_asymmetric():
    assert same_padding(256, 3, 2) == (0, 1)  # the odd pixel goes after
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(8, 5, 2) == (1, 2)
    assert same_padding(7, 1, 1) == (0, 0)
    assert same_padding(10, 3, 1, dilation=2) == (2, 2)


@pytest.mark.parametrize(
    "size,stride,padding", [(6, 2, "SAME"), (7, 2, "SAME"), (6, 1, "SAME"), (7, 2, "VALID")]
)
def test_conv2d_and_depthwise_match_tf_reference(size, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, size, size, 3)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    dw = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)  # channel multiplier 2
    bias = rng.normal(size=(6,)).astype(np.float32)
    graph = _graph(
        [
            {"name": "x", "op": "Placeholder"},
            {"name": "w", "op": "Const"},
            {"name": "dw", "op": "Const"},
            {"name": "b", "op": "Const"},
            _conv_node("conv", "Conv2D", ["x", "w"], stride, padding),
            _conv_node(
                "dconv",
                "FusedDepthwiseConv2dNative",
                ["x", "dw", "b"],
                stride,
                padding,
                fused_ops={"list": {"s": [_s("BiasAdd")["s"], _s("Relu6")["s"]]}},
            ),
        ],
        {"w": w, "dw": dw, "b": bias},
    )
    conv, dconv = GraphModule(graph, ["conv", "dconv"])(torch.from_numpy(x))
    np.testing.assert_allclose(conv.numpy(), _tf_conv_reference(x, w, stride, padding), atol=1e-4)
    expected = np.clip(_tf_conv_reference(x, dw, stride, padding, depthwise=True) + bias, 0, 6)
    np.testing.assert_allclose(dconv.numpy(), expected, atol=1e-4)


def test_maxpool_same_ignores_padding():
    x = -np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1) - 1  # all negative: zero padding would win
    graph = _graph(
        [
            {"name": "x", "op": "Placeholder"},
            {
                "name": "p",
                "op": "MaxPool",
                "input": ["x"],
                "attr": {"ksize": _ints([1, 2, 2, 1]), "strides": _ints([1, 2, 2, 1]), "padding": _s("SAME")},
            },
        ],
        {},
    )
    (out,) = GraphModule(graph, ["p"])(torch.from_numpy(x))
    assert out[0, :, :, 0].tolist() == [[-1.0, -3.0], [-9.0, -11.0]]


def test_resize_bilinear_legacy_matches_tf():
    x = torch.tensor([[0.0, 10.0], [20.0, 30.0]]).reshape(1, 2, 2, 1)
    out = resize_bilinear(x, (4, 4))[0, :, :, 0]
    # TF legacy: src = dst * in/out, upper index clamped to the last row/column.
    expected = [[0, 5, 10, 10], [10, 15, 20, 20], [20, 25, 30, 30], [20, 25, 30, 30]]
    assert out.tolist() == expected
    # uint8 input is accepted and gives the same values as float input
    assert resize_bilinear(x.to(torch.uint8), (4, 4))[0, :, :, 0].tolist() == expected


@pytest.mark.parametrize("align_corners,half_pixel", [(True, False), (False, True)])
def test_resize_bilinear_other_modes_match_torch(align_corners, half_pixel):
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 5, 7, 3)).astype(np.float32))
    ours = resize_bilinear(x, (9, 4), align_corners=align_corners, half_pixel_centers=half_pixel)
    ref = torch.nn.functional.interpolate(
        x.permute(0, 3, 1, 2), size=(9, 4), mode="bilinear", align_corners=align_corners
    ).permute(0, 2, 3, 1)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_read_weights_dequantizes(tmp_path):
    f16 = np.array([1.5, -2.25, 3.0], dtype=np.float16)
    u8 = np.array([0, 10, 255], dtype=np.uint8)
    i32 = np.array([7, -1], dtype=np.int32)
    (tmp_path / "shard1").write_bytes(f16.tobytes() + u8.tobytes())
    (tmp_path / "shard2").write_bytes(i32.tobytes())
    manifest = [
        {
            "paths": ["shard1", "shard2"],
            "weights": [
                {
                    "name": "a",
                    "shape": [3],
                    "dtype": "float32",
                    "quantization": {"dtype": "float16", "original_dtype": "float32"},
                },
                {
                    "name": "b",
                    "shape": [3, 1],
                    "dtype": "float32",
                    "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0},
                },
                {"name": "c", "shape": [2], "dtype": "int32"},
            ],
        }
    ]
    weights = read_weights(manifest, tmp_path)
    assert weights["a"].dtype == np.float32 and weights["a"].tolist() == [1.5, -2.25, 3.0]
    assert weights["b"].shape == (3, 1) and weights["b"].ravel().tolist() == [-1.0, 4.0, 126.5]
    assert weights["c"].dtype == np.int32 and weights["c"].tolist() == [7, -1]


def test_unsupported_op_is_named():
    graph = _graph(
        [{"name": "x", "op": "Placeholder"}, {"name": "y", "op": "NonMaxSuppressionV5", "input": ["x"]}], {}
    )
    with pytest.raises(UnsupportedOpError, match="NonMaxSuppressionV5"):
        GraphModule(graph, ["y"])


# --------------------------------------------------------------------------------------------
# the real CenterNet graph


def test_centernet_graph_loads_float16_weights(centernet_graph):
    assert len(centernet_graph.weights) == 267
    assert centernet_graph.weights["tower_0/mul/y"].dtype == np.float32
    assert float(centernet_graph.weights["tower_0/mul/y"]) == 16.0
    assert centernet_graph.input_names == ["tower_0/images"]


def test_heads_support_batches(centernet_graph):
    module = GraphModule(centernet_graph, ["tower_0/keypoints", "tower_0/wh"]).eval()
    x = torch.rand(2, 512, 512, 3) * 255
    with torch.inference_mode():
        heat, wh = module(x)
        (single,) = GraphModule(centernet_graph, ["tower_0/keypoints"]).eval()(x[1:])
    assert heat.shape == (2, 128, 128, 80) and wh.shape == (2, 128, 128, 4)
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0
    torch.testing.assert_close(heat[1:], single, atol=1e-5, rtol=1e-4)


def test_in_graph_detections_match_torch_decode(centernet_graph):
    """The graph's own top-k decode (batch 1) == models.centernet.decode_heads on its heads."""
    from skimage import data

    from models.centernet import decode_heads, preprocess

    module = GraphModule(centernet_graph, ["tower_0/detections", "tower_0/keypoints", "tower_0/wh"]).eval()
    with torch.inference_mode():
        x = preprocess(torch.from_numpy(data.astronaut())[None])
        detections, heat, wh = module(x)
        boxes, scores, classes = decode_heads(heat, wh)
    assert detections.shape == (1, 100, 6)
    graph_rows = detections[0].numpy()
    strong = graph_rows[:, 4] > 0.05  # below that, equal scores may tie and swap order
    assert strong.sum() >= 5
    np.testing.assert_allclose(graph_rows[strong, :4], boxes[0].numpy()[strong], atol=1e-3)
    np.testing.assert_allclose(graph_rows[strong, 4], scores[0].numpy()[strong], atol=1e-6)
    assert graph_rows[strong, 5].astype(int).tolist() == classes[0].numpy()[strong].tolist()
