"""A small interpreter that runs a TensorFlow.js *graph model* natively in PyTorch.

A TF.js graph model is a JSON GraphDef (`modelTopology.node`) plus binary weight shards that
`weightsManifest` describes (possibly quantized to float16 / uint8 / uint16). `load_graph_model`
reads both; `GraphModule` turns the sub-graph that the requested outputs need into a
`torch.nn.Module` whose constants are buffers (so `.to(device)` moves them).

Semantics follow TensorFlow: tensors are NHWC inside the graph (convolutions run on an NCHW
*view* of the same memory, which PyTorch treats as channels-last, so no copies are made),
`SAME` padding is TF's asymmetric padding (the extra row/column goes after), and
`ResizeBilinear` honours `align_corners` / `half_pixel_centers` exactly, including TF's legacy
mode (both false) that `torch.nn.functional.interpolate` cannot express.

Only ops this project's models need are implemented; any other op raises
`UnsupportedOpError` naming it when the module is built, never half-way through a forward.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GraphModule",
    "TfjsGraph",
    "UnsupportedOpError",
    "load_graph_model",
    "read_weights",
    "resize_bilinear",
    "same_padding",
]


class UnsupportedOpError(NotImplementedError):
    """The graph uses an op this interpreter does not implement."""


# --------------------------------------------------------------------------------------------
# Loading


_NUMPY_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}


def _dequantize(raw: bytes, offset: int, spec: dict) -> tuple[np.ndarray, int]:
    """One weight from a shard buffer: its value and how many bytes it took."""
    shape = [int(d) for d in spec.get("shape", [])]
    count = int(np.prod(shape)) if shape else 1
    dtype = spec["dtype"]
    quant = spec.get("quantization")
    if quant:
        qtype = quant["dtype"]
        if qtype not in ("float16", "uint8", "uint16"):
            raise ValueError(f"weight {spec['name']!r}: unsupported quantization dtype {qtype!r}")
        stored = np.frombuffer(raw, dtype=_NUMPY_DTYPES[qtype], count=count, offset=offset)
        used = stored.nbytes
        if qtype == "float16":
            value = stored.astype(np.float32)
        elif "scale" in quant:  # affine uint8/uint16: value = q * scale + min
            value = stored.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant.get("min", 0.0))
        else:
            raise ValueError(f"weight {spec['name']!r}: {qtype} quantization without scale/min")
        value = value.astype(_NUMPY_DTYPES.get(dtype, np.float32))
    else:
        if dtype not in ("float32", "int32", "bool"):
            raise ValueError(f"weight {spec['name']!r}: unsupported dtype {dtype!r}")
        stored = np.frombuffer(raw, dtype=_NUMPY_DTYPES[dtype], count=count, offset=offset)
        used = stored.nbytes
        value = stored.copy()
    return value.reshape(shape), used


def read_weights(manifest: list[dict], base_dir: Path) -> dict[str, np.ndarray]:
    """All weights of a TF.js `weightsManifest`, dequantized as its `quantization` fields say.

    Each manifest group's shards are concatenated in order and its weights read one after the
    other from that buffer, as TF.js does.
    """
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        raw = b"".join((Path(base_dir) / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            value, used = _dequantize(raw, offset, spec)
            weights[spec["name"]] = value
            offset += used
        if offset != len(raw):
            raise ValueError(f"weight shards {group['paths']} hold {len(raw)} bytes, manifest uses {offset}")
    return weights


@dataclass
class TfjsGraph:
    """A parsed TF.js graph model: nodes by name (in file order), weights, signature."""

    nodes: dict[str, dict]
    weights: dict[str, np.ndarray]
    signature: dict = field(default_factory=dict)

    @property
    def input_names(self) -> list[str]:
        return [n for n, node in self.nodes.items() if node["op"] == "Placeholder"]


def load_graph_model(model_json: Path) -> TfjsGraph:
    """Read `model.json` and its weight shards (looked up next to the JSON file)."""
    model_json = Path(model_json)
    doc = json.loads(model_json.read_text())
    if doc.get("format") not in (None, "graph-model"):
        raise ValueError(f"{model_json} is a {doc.get('format')!r}, not a TF.js graph model")
    topology = doc["modelTopology"]
    if topology.get("library", {}).get("function"):
        raise UnsupportedOpError(f"{model_json}: graph functions (control flow) are not supported")
    nodes = {node["name"]: node for node in topology["node"]}
    weights = read_weights(doc["weightsManifest"], model_json.parent)
    return TfjsGraph(nodes=nodes, weights=weights, signature=doc.get("signature", {}))


# --------------------------------------------------------------------------------------------
# Attribute helpers


def _attr(node: dict, key: str, default=None):
    """A node attribute decoded from its JSON AttrValue form."""
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    if "list" in value:
        lst = value["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    return default


def _parse_ref(ref: str) -> tuple[str, int]:
    name, _, index = ref.partition(":")
    return name, int(index) if index else 0


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's SAME padding for one spatial dimension: (before, after); the odd pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _spatial_padding(node: dict, h: int, w: int, kh: int, kw: int, strides, dilations) -> list[int]:
    """[top, bottom, left, right] padding for a NHWC conv/pool node."""
    padding = _attr(node, "padding", "VALID")
    if padding == "VALID":
        return [0, 0, 0, 0]
    if padding == "SAME":
        return [
            *same_padding(h, kh, strides[0], dilations[0]),
            *same_padding(w, kw, strides[1], dilations[1]),
        ]
    if padding == "EXPLICIT":
        p = _attr(node, "explicit_paddings", [])  # pairs per NHWC dim
        return [p[2], p[3], p[4], p[5]]
    raise UnsupportedOpError(f"{node['name']}: padding {padding!r}")


def _nhwc_attrs(node: dict, key: str) -> tuple[int, int]:
    values = _attr(node, key, [1, 1, 1, 1]) or [1, 1, 1, 1]
    if len(values) == 4:
        return values[1], values[2]
    if len(values) == 2:
        return values[0], values[1]
    return values[0], values[0]


# --------------------------------------------------------------------------------------------
# Kernels shared with callers


def _resize_axis(in_size: int, out_size: int, align_corners: bool, half_pixel: bool, device):
    """Source indices (lower, upper) and the lerp weight for one axis, TF semantics."""
    if align_corners and out_size > 1:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    pos = torch.arange(out_size, dtype=torch.float64, device=device)
    src = (pos + 0.5) * scale - 0.5 if half_pixel else pos * scale
    floor = torch.floor(src)
    lower = floor.clamp(min=0).long()
    upper = torch.ceil(src).clamp(max=in_size - 1).long()
    frac = (src - floor).float()
    return lower, upper, frac


def resize_bilinear(
    images: torch.Tensor, size: Sequence[int], align_corners: bool = False, half_pixel_centers: bool = False
) -> torch.Tensor:
    """`tf.image.resize_bilinear` / TF.js `resizeBilinear` on a NHWC batch, returning float32.

    The defaults (both flags false) are TF's legacy sampling, `src = dst * in / out`, which is
    what TF.js's `tf.image.resizeBilinear(x, size)` does. Integer input (e.g. uint8 frames) is
    gathered before it is cast, so big frames are not converted to float in full.
    """
    if images.dim() != 4:
        raise ValueError(f"resize_bilinear expects NHWC, got shape {tuple(images.shape)}")
    out_h, out_w = int(size[0]), int(size[1])
    _, in_h, in_w, _ = images.shape
    y0, y1, fy = _resize_axis(in_h, out_h, align_corners, half_pixel_centers, images.device)
    x0, x1, fx = _resize_axis(in_w, out_w, align_corners, half_pixel_centers, images.device)
    top = images[:, y0].float()
    bottom = images[:, y1].float()
    rows = top + (bottom - top) * fy.view(1, -1, 1, 1)
    left = rows[:, :, x0]
    right = rows[:, :, x1]
    return left + (right - left) * fx.view(1, 1, -1, 1)


def _to_nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _to_nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def _conv_weight(filt: torch.Tensor, depthwise: bool) -> torch.Tensor:
    """TF filter layout -> torch: HWIO -> OIHW; depthwise HW(C)(M) -> (C*M)1HW.

    Stored channels-last: an NHWC activation viewed as NCHW is channels-last already, so the
    convolution runs on the graph's own layout with no copy in or out."""
    if depthwise:
        kh, kw, c, m = filt.shape
        weight = filt.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    else:
        weight = filt.permute(3, 2, 0, 1)
    return weight.contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------------------------
# The module


@dataclass
class _Step:
    name: str
    op: str
    node: dict
    inputs: list[tuple[str, int]]


_Kernel = Callable[["GraphModule", _Step, list], object]
_KERNELS: dict[str, _Kernel] = {}
_ACTIVATIONS: dict[str, Callable[[torch.Tensor, dict], torch.Tensor]] = {
    "Relu": lambda x, node: F.relu(x),
    "Relu6": lambda x, node: F.relu6(x),
    "Elu": lambda x, node: F.elu(x),
    "Sigmoid": lambda x, node: torch.sigmoid(x),
    "Tanh": lambda x, node: torch.tanh(x),
    "LeakyRelu": lambda x, node: F.leaky_relu(x, _attr(node, "leakyrelu_alpha", 0.2)),
}
_CAST = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int64, "DT_INT64": torch.int64, "DT_BOOL": torch.bool}


def _kernel(*ops: str):
    def register(fn):
        for op in ops:
            _KERNELS[op] = fn
        return fn

    return register


class GraphModule(nn.Module):
    """Evaluates the part of a TF.js graph that `outputs` depend on.

    `forward(*inputs)` takes one NHWC tensor per name in `input_names` (any batch size; shape
    constants baked into the graph still apply where the graph reshapes) and returns a tuple of
    the requested outputs, in order. Integer tensors are carried as int64.
    """

    def __init__(self, graph: TfjsGraph, outputs: Sequence[str], inputs: Sequence[str] | None = None):
        super().__init__()
        self.output_refs = [_parse_ref(o) for o in outputs]
        self.input_names = list(inputs) if inputs is not None else graph.input_names
        needed = self._needed(graph, [name for name, _ in self.output_refs])
        unsupported = sorted(
            {graph.nodes[n]["op"] for n in needed} - set(_KERNELS) - {"Const", "Placeholder"}
        )
        if unsupported:
            raise UnsupportedOpError(f"unsupported TF.js graph op(s): {', '.join(unsupported)}")

        self._consts: dict[str, str] = {}  # node name -> buffer name
        self._host: dict[str, np.ndarray] = {}  # small int consts, read without a device sync
        self._conv: dict[str, str] = {}  # conv node name -> prepared weight buffer name
        self.steps: list[_Step] = []
        for name in needed:  # `needed` is in a valid evaluation order
            node = graph.nodes[name]
            op = node["op"]
            if op == "Placeholder":
                if name not in self.input_names:
                    raise ValueError(f"graph input {name!r} is needed but not given")
                continue
            if op == "Const":
                if name not in graph.weights:
                    raise ValueError(f"constant {name!r} has no value in the weights manifest")
                value = graph.weights[name]
                buffer = f"c{len(self._consts)}"
                if value.dtype == np.float32:
                    tensor = torch.from_numpy(np.ascontiguousarray(value))
                elif value.dtype == np.bool_:
                    tensor = torch.from_numpy(value.copy())
                else:
                    tensor = torch.from_numpy(value.astype(np.int64))
                    if value.size <= 64:
                        self._host[name] = value.astype(np.int64)
                self.register_buffer(buffer, tensor, persistent=False)
                self._consts[name] = buffer
                continue
            refs = [_parse_ref(i) for i in node.get("input", []) if not i.startswith("^")]
            step = _Step(name, op, node, refs)
            if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
                filt_name = refs[1][0]
                if filt_name in graph.weights:
                    depthwise = "Depthwise" in op
                    weight = _conv_weight(
                        torch.from_numpy(graph.weights[filt_name].astype(np.float32)), depthwise
                    )
                    buffer = f"w{len(self._conv)}"
                    self.register_buffer(buffer, weight, persistent=False)
                    self._conv[name] = buffer
            self.steps.append(step)
        self._release = self._last_uses()

    def _last_uses(self) -> list[tuple[str, ...]]:
        """For each step, the intermediate values no later step reads: forward() drops them
        right there, so peak memory is the live activations, not every activation of the graph."""
        keep = {name for name, _ in self.output_refs} | set(self._consts) | set(self.input_names)
        last: dict[str, int] = {}
        for position, step in enumerate(self.steps):
            for dep, _ in step.inputs:
                last[dep] = position
        release: list[list[str]] = [[] for _ in self.steps]
        for name, position in last.items():
            if name not in keep:
                release[position].append(name)
        return [tuple(names) for names in release]

    @staticmethod
    def _needed(graph: TfjsGraph, outputs: list[str]) -> list[str]:
        """Nodes the outputs depend on, in dependency order (iterative DFS post-order)."""
        order: list[str] = []
        state: dict[str, int] = {}
        for out in outputs:
            if out not in graph.nodes:
                raise KeyError(f"graph has no node {out!r}")
            stack = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    state[name] = 2
                    order.append(name)
                    continue
                if state.get(name):
                    continue
                state[name] = 1
                stack.append((name, True))
                node = graph.nodes[name]
                for ref in reversed(node.get("input", [])):
                    if ref.startswith("^"):
                        continue
                    dep = _parse_ref(ref)[0]
                    if dep not in graph.nodes:
                        raise KeyError(f"{name!r} reads missing node {dep!r}")
                    if state.get(dep) == 1:
                        raise ValueError(f"graph has a cycle through {dep!r}")
                    if not state.get(dep):
                        stack.append((dep, False))
        return order

    # helpers for kernels ---------------------------------------------------------------------

    def static(self, step: _Step, index: int) -> np.ndarray:
        """An input's value on the host: from the constant table, else copied off the device."""
        name = step.inputs[index][0]
        if name in self._host:
            return self._host[name]
        if name in self._consts:
            return getattr(self, self._consts[name]).cpu().numpy()
        raise ValueError(f"{step.name}: input {index} must be a constant")

    def conv_weight(self, step: _Step, filt: torch.Tensor, depthwise: bool) -> torch.Tensor:
        buffer = self._conv.get(step.name)
        return getattr(self, buffer) if buffer else _conv_weight(filt, depthwise)

    # -----------------------------------------------------------------------------------------

    def forward(self, *inputs: torch.Tensor) -> tuple:
        if len(inputs) != len(self.input_names):
            raise ValueError(
                f"expected {len(self.input_names)} input(s) {self.input_names}, got {len(inputs)}"
            )
        env: dict[str, object] = dict(zip(self.input_names, inputs, strict=True))
        for name, buffer in self._consts.items():
            env[name] = getattr(self, buffer)
        for step, release in zip(self.steps, self._release, strict=True):
            args = []
            for dep, index in step.inputs:
                value = env[dep]
                args.append(value[index] if isinstance(value, tuple) else value)
            env[step.name] = _KERNELS[step.op](self, step, args)
            for name in release:
                del env[name]
            del args
        results = []
        for name, index in self.output_refs:
            value = env[name]
            results.append(value[index] if isinstance(value, tuple) else value)
        return tuple(results)


# --------------------------------------------------------------------------------------------
# Kernels


def _conv(module: GraphModule, step: _Step, x: torch.Tensor, filt: torch.Tensor, depthwise: bool,
          bias: torch.Tensor | None = None):
    node = step.node
    if _attr(node, "data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(f"{step.name}: data_format {_attr(node, 'data_format')!r}")
    weight = module.conv_weight(step, filt, depthwise)
    strides = _nhwc_attrs(node, "strides")
    dilations = _nhwc_attrs(node, "dilations")
    kh, kw = weight.shape[2], weight.shape[3]
    top, bottom, left, right = _spatial_padding(node, x.shape[1], x.shape[2], kh, kw, strides, dilations)
    xc = _to_nchw(x)
    if top == bottom and left == right:
        padding = (top, left)
    else:
        xc = F.pad(xc, (left, right, top, bottom))
        padding = (0, 0)
    groups = x.shape[3] if depthwise else 1
    y = F.conv2d(xc, weight, bias, strides, padding, dilations, groups)
    return _to_nhwc(y)


def _fused_conv(m: GraphModule, step: _Step, args: list, depthwise: bool) -> torch.Tensor:
    ops = list(_attr(step.node, "fused_ops", []) or [])
    bias = None
    if ops[:1] == ["BiasAdd"]:
        # Folded into the convolution: one pass over the output instead of two.
        bias, ops, args = args[2], ops[1:], [*args[:2], *args[3:]]
    return _fused_tail(step, _conv(m, step, args[0], args[1], depthwise, bias), args[2:], ops)


def _fused_tail(step: _Step, y: torch.Tensor, extra: list, ops: list | None = None) -> torch.Tensor:
    if ops is None:
        ops = _attr(step.node, "fused_ops", []) or []
    pos = 0
    for op in ops:
        if op == "BiasAdd":
            y = y + extra[pos]
            pos += 1
        elif op == "FusedBatchNorm":
            scale, offset, mean, var = extra[pos : pos + 4]
            eps = _attr(step.node, "epsilon", 0.0)
            y = (y - mean) * (scale / torch.sqrt(var + eps)) + offset
            pos += 4
        elif op == "Prelu":
            alpha = extra[pos]
            pos += 1
            y = torch.where(y >= 0, y, y * alpha)
        elif op in _ACTIVATIONS:
            y = _ACTIVATIONS[op](y, step.node)
        else:
            raise UnsupportedOpError(f"{step.name}: fused op {op!r}")
    return y


@_kernel("Conv2D")
def _k_conv2d(m, step, args):
    return _conv(m, step, args[0], args[1], depthwise=False)


@_kernel("DepthwiseConv2dNative")
def _k_depthwise(m, step, args):
    return _conv(m, step, args[0], args[1], depthwise=True)


@_kernel("_FusedConv2D")
def _k_fused_conv(m, step, args):
    return _fused_conv(m, step, args, depthwise=False)


@_kernel("FusedDepthwiseConv2dNative")
def _k_fused_depthwise(m, step, args):
    return _fused_conv(m, step, args, depthwise=True)


@_kernel("MaxPool", "AvgPool")
def _k_pool(m, step, args):
    x = args[0]
    node = step.node
    if _attr(node, "data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(f"{step.name}: data_format {_attr(node, 'data_format')!r}")
    kh, kw = _nhwc_attrs(node, "ksize")
    strides = _nhwc_attrs(node, "strides")
    top, bottom, left, right = _spatial_padding(node, x.shape[1], x.shape[2], kh, kw, strides, (1, 1))
    xc = _to_nchw(x)
    if step.op == "MaxPool":
        if top or bottom or left or right:
            xc = F.pad(xc, (left, right, top, bottom), value=-math.inf)
        return _to_nhwc(F.max_pool2d(xc, (kh, kw), strides))
    # TF's SAME average pooling divides by the count of real (unpadded) pixels.
    ones = torch.ones_like(xc[:1, :1])
    if top or bottom or left or right:
        xc = F.pad(xc, (left, right, top, bottom))
        ones = F.pad(ones, (left, right, top, bottom))
    sums = F.avg_pool2d(xc, (kh, kw), strides)
    counts = F.avg_pool2d(ones, (kh, kw), strides)
    return _to_nhwc(sums / counts)


@_kernel("ResizeBilinear")
def _k_resize(m, step, args):
    size = m.static(step, 1).tolist()
    return resize_bilinear(
        args[0], size, _attr(step.node, "align_corners", False), _attr(step.node, "half_pixel_centers", False)
    )


_BINARY = {
    "Add": torch.add,
    "AddV2": torch.add,
    "Sub": torch.sub,
    "Mul": torch.mul,
    "RealDiv": torch.div,
    "Maximum": torch.maximum,
    "Minimum": torch.minimum,
    "Equal": torch.eq,
    "FloorDiv": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "FloorMod": torch.remainder,
}


@_kernel(*_BINARY)
def _k_binary(m, step, args):
    return _BINARY[step.op](args[0], args[1])


@_kernel("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu")
def _k_activation(m, step, args):
    return _ACTIVATIONS[step.op](args[0], step.node)


@_kernel("Identity")
def _k_identity(m, step, args):
    return args[0]


@_kernel("Softmax")
def _k_softmax(m, step, args):
    return torch.softmax(args[0], dim=-1)  # TF's Softmax is always over the last axis


@_kernel("MatMul", "_FusedMatMul")
def _k_matmul(m, step, args):
    a, b = args[0], args[1]
    if _attr(step.node, "transpose_a", False):
        a = a.transpose(-1, -2)
    if _attr(step.node, "transpose_b", False):
        b = b.transpose(-1, -2)
    y = a @ b
    # _FusedMatMul's tail (BiasAdd, then an activation) is the same as a fused convolution's.
    return _fused_tail(step, y, args[2:]) if step.op == "_FusedMatMul" else y


@_kernel("BiasAdd")
def _k_bias_add(m, step, args):
    if _attr(step.node, "data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(f"{step.name}: data_format {_attr(step.node, 'data_format')!r}")
    return args[0] + args[1]


@_kernel("Mean", "Sum", "Max")
def _k_reduce(m, step, args):
    axes = [int(a) for a in np.atleast_1d(m.static(step, 1))]
    keep = bool(_attr(step.node, "keep_dims", False))
    x = args[0]
    if step.op == "Max":
        return torch.amax(x, dim=axes, keepdim=keep)
    return (torch.mean if step.op == "Mean" else torch.sum)(x, dim=axes, keepdim=keep)


@_kernel("ConcatV2")
def _k_concat(m, step, args):
    axis = int(m.static(step, len(args) - 1))
    return torch.cat(args[:-1], dim=axis)


@_kernel("Reshape")
def _k_reshape(m, step, args):
    return args[0].reshape([int(v) for v in np.atleast_1d(m.static(step, 1))])


@_kernel("ExpandDims")
def _k_expand_dims(m, step, args):
    dim = int(m.static(step, 1))
    if dim < 0:
        dim += args[0].dim() + 1
    return args[0].unsqueeze(dim)


@_kernel("Squeeze")
def _k_squeeze(m, step, args):
    dims = _attr(step.node, "squeeze_dims", []) or []
    x = args[0]
    if not dims:
        return x.squeeze()
    return x.squeeze(tuple(d % x.dim() for d in dims))


@_kernel("Transpose")
def _k_transpose(m, step, args):
    return args[0].permute([int(v) for v in m.static(step, 1)])


@_kernel("Cast")
def _k_cast(m, step, args):
    dst = _attr(step.node, "DstT")
    if dst not in _CAST:
        raise UnsupportedOpError(f"{step.name}: Cast to {dst}")
    x = args[0]
    if _CAST[dst] == torch.int64 and x.is_floating_point():
        x = torch.trunc(x)
    return x.to(_CAST[dst])


@_kernel("TopKV2")
def _k_topk(m, step, args):
    k = int(m.static(step, 1))
    values, indices = torch.topk(args[0], k, dim=-1, largest=True, sorted=True)
    return values, indices


@_kernel("GatherV2")
def _k_gather(m, step, args):
    if _attr(step.node, "batch_dims", 0):
        raise UnsupportedOpError(f"{step.name}: GatherV2 with batch_dims")
    params, indices = args[0], args[1].long()
    axis = int(m.static(step, 2)) % params.dim()
    picked = params.index_select(axis, indices.reshape(-1))
    return picked.reshape(*params.shape[:axis], *indices.shape, *params.shape[axis + 1 :])


@_kernel("StridedSlice")
def _k_strided_slice(m, step, args):
    node = step.node
    if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
        raise UnsupportedOpError(f"{step.name}: StridedSlice with ellipsis_mask/new_axis_mask")
    begin, end, strides = (m.static(step, i).tolist() for i in (1, 2, 3))
    begin_mask = _attr(node, "begin_mask", 0)
    end_mask = _attr(node, "end_mask", 0)
    shrink_mask = _attr(node, "shrink_axis_mask", 0)
    index: list = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
        if shrink_mask & (1 << i):
            index.append(b)
            continue
        if s <= 0:
            raise UnsupportedOpError(f"{step.name}: StridedSlice with non-positive stride")
        index.append(slice(None if begin_mask & (1 << i) else b, None if end_mask & (1 << i) else e, s))
    return args[0][tuple(index)]
