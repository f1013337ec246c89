"""Same-run reference for infer_run: a model file's layers (dense, activation, conv2d, max/average
pool) rebuilt as an ONNX graph and run by onnxruntime at batch 1 on one thread (the MLP and LeNet-5
benchmarks both use it). Reads the weights straight from our model file (docs/FORMAT.md), checks
onnxruntime's probabilities against a float64 NumPy forward pass of the same layers, and prints the
median time of `InferenceSession.run`, then the same for an Identity graph of the same input: the
floor of one call from Python.

Usage: python3 model_onnxruntime.py model.bin [iterations]
"""
import struct
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

ACTIVATIONS = {1: "Relu", 2: "Elu", 3: "Sigmoid", 4: "Tanh"}


def read_tensors(data, count, table):
    arrays = []
    for t in range(count):
        r = table + 96 * t
        rank = struct.unpack_from("<I", data, r + 52)[0]
        dims = struct.unpack_from("<4I", data, r + 56)[:rank]
        offset, length = struct.unpack_from("<QQ", data, r + 72)
        arrays.append(np.frombuffer(data, dtype="<f4", count=length // 4, offset=offset).reshape(dims))
    return arrays


def read_model(path):
    data = open(path, "rb").read()
    assert data[:8] == b"INFMODL\x00", "not a model file"
    version = struct.unpack_from("<I", data, 8)[0]
    shape = struct.unpack_from("<III", data, 64)
    if version == 2:
        return shape, read_graph(data)
    layers, tensors = struct.unpack_from("<II", data, 16)
    layer_table, tensor_table = struct.unpack_from("<QQ", data, 24)
    arrays = read_tensors(data, tensors, tensor_table)
    steps = []
    for l in range(layers):
        kind, inputs, outputs, *args = struct.unpack_from("<16I", data, layer_table + 64 * l)
        if kind == 1:
            steps.append(("dense", arrays[args[0]], arrays[args[1]]))
        elif kind == 2:
            steps.append(("act", args[0]))
        elif kind == 3:
            c, h, w, kh, kw, sy, sx, top, left, oh, ow = args[2:13]
            bottom, right = (oh - 1) * sy + kh - h - top, (ow - 1) * sx + kw - w - left
            steps.append(("conv", arrays[args[0]], arrays[args[1]], (sy, sx), (top, left, bottom, right)))
        elif kind in (4, 5):
            steps.append(("maxpool" if kind == 4 else "avgpool", tuple(args[3:5]), tuple(args[5:7])))
        else:
            raise SystemExit(f"layer kind {kind} is not handled by this reference")
    return shape, steps


def read_graph(data):
    """A version-2 file's nodes, in order, as the same steps (each node must read the one before)."""
    values, nodes = struct.unpack_from("<II", data, 16)
    value_table, node_table = struct.unpack_from("<QQ", data, 24)
    arguments, tensors = struct.unpack_from("<II", data, 88)
    argument_table, tensor_table = struct.unpack_from("<QQ", data, 96)
    arrays = read_tensors(data, tensors, tensor_table)

    def value(v):
        r = value_table + 96 * v
        rank = struct.unpack_from("<I", data, r + 56)[0]
        return struct.unpack_from("<4I", data, r + 64)[:rank], struct.unpack_from("<I", data, r + 80)[0]

    steps = []
    for n in range(nodes):
        r = node_table + 128 * n
        op, n_in, n_out, first, count = struct.unpack_from("<5I", data, r + 48)
        inputs = struct.unpack_from("<6I", data, r + 68)[:n_in]
        args = {}
        for a in range(first, first + count):
            ar = argument_table + 48 * a
            name = data[ar:ar + 16].split(b"\0")[0].decode()
            kind, k = struct.unpack_from("<II", data, ar + 16)
            args[name] = list(struct.unpack_from(f"<{k}{'i' if kind == 1 else 'f'}", data, ar + 24))
        if op == 1:
            steps.append(("dense", arrays[value(inputs[1])[1]], arrays[value(inputs[2])[1]]))
        elif op in (2, 3, 4, 5):
            steps.append(("act", op - 1))  # relu, elu, sigmoid, tanh: version 1's activation codes
        elif op == 6:
            (c, h, w), _ = value(inputs[0])
            weight = arrays[value(inputs[1])[1]]
            sy, sx, top, left, oh, ow = args["geometry"]
            kh, kw = weight.shape[2:]
            bottom, right = (oh - 1) * sy + kh - h - top, (ow - 1) * sx + kw - w - left
            steps.append(("conv", weight, arrays[value(inputs[2])[1]], (sy, sx), (top, left, bottom, right)))
            if args.get("relu", [0])[0]:
                steps.append(("act", 1))
        elif op in (7, 8):
            wh, ww, sy, sx = args["window"]
            steps.append(("maxpool" if op == 7 else "avgpool", (wh, ww), (sy, sx)))
        elif op == 10:
            continue  # reshape: the layout is unchanged
        else:
            raise SystemExit(f"op {op} is not handled by this reference")
    return steps


def build_graph(shape, steps):
    nodes, inits, current, image = [], [], "x", True
    for i, step in enumerate(steps):
        out = f"y{i}"
        if step[0] == "conv":
            _, w, b, strides, (top, left, bottom, right) = step
            inits += [helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.flatten().tolist()),
                      helper.make_tensor(f"b{i}", TensorProto.FLOAT, b.shape, b.flatten().tolist())]
            nodes.append(helper.make_node("Conv", [current, f"w{i}", f"b{i}"], [out], strides=list(strides),
                                          pads=[top, left, bottom, right], kernel_shape=list(w.shape[2:])))
        elif step[0] in ("maxpool", "avgpool"):
            op = "MaxPool" if step[0] == "maxpool" else "AveragePool"
            nodes.append(helper.make_node(op, [current], [out], kernel_shape=list(step[1]), strides=list(step[2])))
        elif step[0] == "act":
            nodes.append(helper.make_node(ACTIVATIONS[step[1]], [current], [out]))
        else:
            _, w, b = step
            if image:
                nodes.append(helper.make_node("Flatten", [current], [f"f{i}"], axis=1))
                current, image = f"f{i}", False
            inits += [helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.flatten().tolist()),
                      helper.make_tensor(f"b{i}", TensorProto.FLOAT, b.shape, b.flatten().tolist())]
            nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [out]))
        current = out
    nodes.append(helper.make_node("Softmax", [current], ["p"], axis=-1))
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def numpy_forward(x, steps):
    h = x.astype(np.float64)  # C x H x W, then a vector after the first dense layer
    for step in steps:
        if step[0] == "conv":
            _, w, b, (sy, sx), (top, left, bottom, right) = step
            f, c, kh, kw = w.shape
            p = np.pad(h, ((0, 0), (top, bottom), (left, right)))
            oh, ow = (p.shape[1] - kh) // sy + 1, (p.shape[2] - kw) // sx + 1
            y = np.zeros((f, oh, ow)) + b.astype(np.float64)[:, None, None]
            for i in range(kh):
                for j in range(kw):
                    patch = p[:, i:i + sy * (oh - 1) + 1:sy, j:j + sx * (ow - 1) + 1:sx]
                    y += np.einsum("fc,chw->fhw", w[:, :, i, j].astype(np.float64), patch)
            h = y
        elif step[0] in ("maxpool", "avgpool"):
            (wh, ww), (sy, sx) = step[1], step[2]
            c, height, width = h.shape
            oh, ow = (height - wh) // sy + 1, (width - ww) // sx + 1
            windows = np.stack([h[:, i:i + sy * (oh - 1) + 1:sy, j:j + sx * (ow - 1) + 1:sx]
                                for i in range(wh) for j in range(ww)])
            h = windows.max(axis=0) if step[0] == "maxpool" else windows.mean(axis=0)
        elif step[0] == "act":
            h = {1: lambda v: np.maximum(v, 0), 2: lambda v: np.where(v > 0, v, np.exp(v) - 1),
                 3: lambda v: 1 / (1 + np.exp(-v)), 4: np.tanh}[step[1]](h)
        else:
            h = h.reshape(-1) @ step[1].astype(np.float64) + step[2]
    e = np.exp(h - h.max())
    return e / e.sum()


def main():
    path = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    shape, steps = read_model(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(build_graph(shape, steps).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = np.where(rng.random((1, *shape)) < 0.2, rng.random((1, *shape)), 0).astype(np.float32)
    out = session.run(None, {"x": x})[0]
    assert np.abs(out[0] - numpy_forward(x[0], steps)).max() < 1e-5, "onnxruntime disagrees with NumPy"
    feed = {"x": x}
    print(f"onnxruntime {ort.__version__} batch-1 run: median {median_us(session, feed, iterations):.2f} us")
    identity = helper.make_model(
        helper.make_graph([helper.make_node("Identity", ["x"], ["p"])], "floor",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])],
                          [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)]),
        opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    floor = ort.InferenceSession(identity.SerializeToString(), options, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__} Identity floor: median {median_us(floor, feed, iterations):.2f} us")


def median_us(session, feed, iterations):
    for _ in range(200):
        session.run(None, feed)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e6


if __name__ == "__main__":
    main()
