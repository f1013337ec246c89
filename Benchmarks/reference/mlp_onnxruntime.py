"""Same-run reference for infer_run: the model file's MLP rebuilt as an ONNX graph (MatMul, Add,
Relu, ..., Softmax) and run by onnxruntime at batch 1 on one thread. Reads the weights straight from
our model file (docs/FORMAT.md), checks onnxruntime's output against the expected probabilities
computed in NumPy, and prints the median time of `InferenceSession.run`.

Usage: python3 mlp_onnxruntime.py model.bin [iterations]
"""
import struct
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def read_model(path):
    data = open(path, "rb").read()
    assert data[:8] == b"INFMODL\x00", "not a model file"
    layers, tensors = struct.unpack_from("<II", data, 16)
    layer_table, tensor_table = struct.unpack_from("<QQ", data, 24)
    input_len = np.prod(struct.unpack_from("<III", data, 64))
    shapes, arrays = [], []
    for t in range(tensors):
        r = tensor_table + 96 * t
        rank = struct.unpack_from("<I", data, r + 52)[0]
        shape = struct.unpack_from("<4I", data, r + 56)[:rank]
        offset, length = struct.unpack_from("<QQ", data, r + 72)
        arrays.append(np.frombuffer(data, dtype="<f4", count=length // 4, offset=offset).reshape(shape))
    steps = []
    for l in range(layers):
        kind, inputs, outputs, a0, a1 = struct.unpack_from("<5I", data, layer_table + 64 * l)
        steps.append(("dense", arrays[a0], arrays[a1]) if kind == 1 else ("act", a0))
    return int(input_len), steps


def build_graph(input_len, steps):
    nodes, inits, current = [], [], "x"
    for i, step in enumerate(steps):
        if step[0] == "dense":
            w, b = step[1], step[2]
            inits += [helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape, w.flatten().tolist()),
                      helper.make_tensor(f"b{i}", TensorProto.FLOAT, b.shape, b.flatten().tolist())]
            nodes += [helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"]),
                      helper.make_node("Add", [f"m{i}", f"b{i}"], [f"y{i}"])]
        else:
            op = {1: "Relu", 2: "Elu", 3: "Sigmoid", 4: "Tanh"}[step[1]]
            nodes.append(helper.make_node(op, [current], [f"y{i}"]))
        current = f"y{i}"
    nodes.append(helper.make_node("Softmax", [current], ["p"], axis=-1))
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, input_len])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def numpy_forward(x, steps):
    h = x.astype(np.float64)
    for step in steps:
        if step[0] == "dense":
            h = h @ step[1].astype(np.float64) + step[2]
        else:
            h = {1: lambda v: np.maximum(v, 0), 2: lambda v: np.where(v > 0, v, np.exp(v) - 1),
                 3: lambda v: 1 / (1 + np.exp(-v)), 4: np.tanh}[step[1]](h)
    e = np.exp(h - h.max())
    return e / e.sum()


def main():
    path = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    input_len, steps = read_model(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(build_graph(input_len, steps).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = np.where(rng.random((1, input_len)) < 0.2, rng.random((1, input_len)), 0).astype(np.float32)
    out = session.run(None, {"x": x})[0]
    assert np.abs(out[0] - numpy_forward(x[0], steps)).max() < 1e-5, "onnxruntime disagrees with NumPy"
    times = []
    feed = {"x": x}
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"onnxruntime {ort.__version__} batch-1 run: median {times[len(times) // 2] * 1e6:.2f} us "
          f"(p90 {times[len(times) * 9 // 10] * 1e6:.2f} us)")


if __name__ == "__main__":
    main()
