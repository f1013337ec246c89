"""Writes the ONNX fixtures of Tests/ONNXTests with onnx.helper, and what onnxruntime computes for
them: NAME.onnx and NAME.expected (little-endian: uint32 count, input length, output length; then
count inputs and count outputs as float32). Seeded, so a rerun writes the same graphs.

  mlp    Gemm (transB) + Relu + Gemm + Softmax: a 784-32-10 classifier.
  lenet  a small LeNet: Conv (pads) + Relu + MaxPool, Conv + BatchNormalization + Relu + AveragePool,
         Flatten, Gemm + Relu, Gemm + Tanh, Gemm + Softmax.
  block  a GPT block on [N, T, D]: LayerNormalization, three MatMul + Add projections, Attention
         (opset 23, causal, 2 heads), MatMul + Add, residual Add, LayerNormalization, MatMul + Add,
         Gelu, MatMul + Add, residual Add.
  ops    the rest: asymmetric Conv pads, Sigmoid, Mul/Sub/Div by constants (per channel, a Constant
         scalar, a whole sample), Concat, AveragePool, Elu, GlobalAveragePool, Flatten, Gemm (alpha,
         beta), Reshape, Transpose, MatMul, Identity, Exp, Neg.

  torch_lenet  a LeNet written by PyTorch's own exporter (torch.onnx.export, TorchScript path,
         opset 17, batch norm folded by it): what a user's file looks like. Needs torch.

Usage: python3 make_fixtures.py [DIR]   (pip install onnx onnxruntime numpy; torch for torch_lenet)
"""
import os
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261204)


def weight(name, *shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1 / np.sqrt(fan_in)
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


def model(nodes, inputs, outputs, initializers, opset):
    graph = helper.make_graph(nodes, "fixture", inputs, outputs, initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="infer-fixtures")
    m.ir_version = 10
    onnx.checker.check_model(m)
    return m


def mlp():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])
    nodes = [helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
             helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1)]
    inits = [weight("fc1.weight", 32, 784), weight("fc1.bias", 32, scale=0.1), weight("fc2.weight", 10, 32), weight("fc2.bias", 10, scale=0.1)]
    return model(nodes, [x], [y], inits, 17), rng.random((5, 1, 784), dtype=np.float32).reshape(5, 784)


def lenet():
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])
    nodes = [helper.make_node("Conv", ["image", "c1.w", "c1.b"], ["c1"], name="conv1", kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "c2.w", "c2.b"], ["c2"], name="conv2", kernel_shape=[5, 5]),
             helper.make_node("BatchNormalization", ["c2", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b2"], name="bn2", epsilon=1e-3),
             helper.make_node("Relu", ["b2"], ["r2"], name="relu2"),
             helper.make_node("AveragePool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p2"], ["f"], name="flatten", axis=1),
             helper.make_node("Gemm", ["f", "fc1.w", "fc1.b"], ["h1"], name="fc1", transB=1),
             helper.make_node("Relu", ["h1"], ["a1"], name="relu3"),
             helper.make_node("Gemm", ["a1", "fc2.w", "fc2.b"], ["h2"], name="fc2"),
             helper.make_node("Tanh", ["h2"], ["a2"], name="tanh"),
             helper.make_node("Gemm", ["a2", "fc3.w", "fc3.b"], ["logits"], name="fc3", transB=1),
             helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax")]
    inits = [weight("c1.w", 4, 1, 5, 5), weight("c1.b", 4, scale=0.1), weight("c2.w", 8, 4, 5, 5), weight("c2.b", 8, scale=0.1),
             numpy_helper.from_array((1 + 0.2 * rng.standard_normal(8)).astype(np.float32), "bn.scale"),
             numpy_helper.from_array((0.1 * rng.standard_normal(8)).astype(np.float32), "bn.bias"),
             numpy_helper.from_array((0.1 * rng.standard_normal(8)).astype(np.float32), "bn.mean"),
             numpy_helper.from_array((0.5 + rng.random(8)).astype(np.float32), "bn.var"),
             weight("fc1.w", 32, 200), weight("fc1.b", 32, scale=0.1),
             weight("fc2.w", 32, 24), weight("fc2.b", 24, scale=0.1),  # Gemm without transB: [in, out]
             weight("fc3.w", 10, 24), weight("fc3.b", 10, scale=0.1)]
    return model(nodes, [x], [y], inits, 17), rng.random((5, 1, 28, 28), dtype=np.float32)


def block():
    T, D, H = 8, 16, 2
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", T, D])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", T, D])
    nodes = [helper.make_node("LayerNormalization", ["x", "ln1.g", "ln1.b"], ["n1"], name="ln_1", axis=-1, epsilon=1e-5)]
    inits = [numpy_helper.from_array((1 + 0.1 * rng.standard_normal(D)).astype(np.float32), "ln1.g"), weight("ln1.b", D, scale=0.1),
             numpy_helper.from_array((1 + 0.1 * rng.standard_normal(D)).astype(np.float32), "ln2.g"), weight("ln2.b", D, scale=0.1)]
    for p in "qkv":
        nodes += [helper.make_node("MatMul", ["n1", f"{p}.w"], [f"{p}0"], name=f"attn.{p}"),
                  helper.make_node("Add", [f"{p}0", f"{p}.b"], [p], name=f"attn.{p}.bias")]
        inits += [weight(f"{p}.w", D, D), weight(f"{p}.b", D, scale=0.1)]
    nodes += [helper.make_node("Attention", ["q", "k", "v"], ["a"], name="attn", is_causal=1, q_num_heads=H, kv_num_heads=H),
              helper.make_node("MatMul", ["a", "proj.w"], ["o0"], name="attn.c_proj"),
              helper.make_node("Add", ["o0", "proj.b"], ["o"], name="attn.c_proj.bias"),
              helper.make_node("Add", ["x", "o"], ["r1"], name="residual1"),
              helper.make_node("LayerNormalization", ["r1", "ln2.g", "ln2.b"], ["n2"], name="ln_2"),
              helper.make_node("MatMul", ["n2", "fc.w"], ["f0"], name="mlp.c_fc"),
              helper.make_node("Add", ["f0", "fc.b"], ["f"], name="mlp.c_fc.bias"),
              helper.make_node("Gelu", ["f"], ["g"], name="gelu"),
              helper.make_node("MatMul", ["g", "out.w"], ["m0"], name="mlp.c_proj"),
              helper.make_node("Add", ["m0", "out.b"], ["m"], name="mlp.c_proj.bias"),
              helper.make_node("Add", ["r1", "m"], ["y"], name="residual2")]
    inits += [weight("proj.w", D, D), weight("proj.b", D, scale=0.1), weight("fc.w", D, 4 * D), weight("fc.b", 4 * D, scale=0.1),
              weight("out.w", 4 * D, D), weight("out.b", D, scale=0.1)]
    return model(nodes, [x], [y], inits, 23), rng.standard_normal((5, T, D)).astype(np.float32)


def ops():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 20])
    nodes = [helper.make_node("Conv", ["x", "a.w", "a.b"], ["a"], name="conv_a", kernel_shape=[3, 3], pads=[1, 0, 1, 2]),
             helper.make_node("Sigmoid", ["a"], ["as"], name="sigmoid"),
             helper.make_node("Mul", ["as", "per_channel"], ["am"], name="mul_channel"),
             helper.make_node("Constant", [], ["half"], name="half", value_float=0.5),
             helper.make_node("Sub", ["am", "half"], ["asub"], name="sub_scalar"),
             helper.make_node("Div", ["asub", "whole"], ["ad"], name="div_whole"),
             helper.make_node("Conv", ["x", "b.w"], ["b"], name="conv_b", kernel_shape=[3, 3], strides=[1, 1], auto_pad="SAME_UPPER"),
             helper.make_node("Tanh", ["b"], ["bt"], name="tanh"),
             helper.make_node("Sub", ["bias_row", "bt"], ["bs"], name="sub_from_constant"),
             helper.make_node("Concat", ["ad", "bs"], ["c"], name="concat", axis=1),
             helper.make_node("AveragePool", ["c"], ["p"], name="avgpool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Elu", ["p"], ["e"], name="elu"),
             helper.make_node("GlobalAveragePool", ["e"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["h"], name="fc", transB=1, alpha=0.5, beta=2.0),
             helper.make_node("Reshape", ["h", "shape34"], ["h34"], name="reshape34"),
             helper.make_node("Transpose", ["h34"], ["h43"], name="transpose", perm=[0, 2, 1]),
             helper.make_node("MatMul", ["h43", "m.w"], ["mm"], name="matmul"),
             helper.make_node("Exp", ["mm"], ["ex"], name="exp"),
             helper.make_node("Neg", ["ex"], ["ng"], name="neg"),
             helper.make_node("Reshape", ["ng", "shape20"], ["r"], name="reshape20"),
             helper.make_node("Identity", ["r"], ["i"], name="identity"),
             helper.make_node("Add", ["i", "row"], ["y"], name="add_row")]
    inits = [weight("a.w", 3, 2, 3, 3), weight("a.b", 3, scale=0.1), weight("b.w", 5, 2, 3, 3),
             numpy_helper.from_array((1 + rng.random((3, 1, 1))).astype(np.float32), "per_channel"),
             numpy_helper.from_array((1 + rng.random((1, 3, 6, 6))).astype(np.float32), "whole"),
             numpy_helper.from_array(rng.standard_normal((1, 6)).astype(np.float32), "bias_row"),
             weight("fc.w", 12, 8), weight("fc.b", 12, scale=0.1),
             numpy_helper.from_array(np.array([0, 3, 4], dtype=np.int64), "shape34"),
             weight("m.w", 3, 5),
             numpy_helper.from_array(np.array([-1, 20], dtype=np.int64), "shape20"),
             numpy_helper.from_array(rng.standard_normal(20).astype(np.float32), "row")]
    return model(nodes, [x], [y], inits, 17), rng.standard_normal((5, 2, 6, 6)).astype(np.float32)


def torch_lenet():
    import io
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.manual_seed(20261204)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.bn = nn.Conv2d(1, 4, 5, padding=2), nn.Conv2d(4, 8, 5), nn.BatchNorm2d(8)
            self.f1, self.f2, self.f3 = nn.Linear(200, 32), nn.Linear(32, 24), nn.Linear(24, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.c1(x)), 2)
            x = F.avg_pool2d(F.relu(self.bn(self.c2(x))), 2)
            x = F.relu(self.f1(torch.flatten(x, 1)))
            return torch.softmax(self.f3(torch.tanh(self.f2(x))), -1)

    net = LeNet().eval()
    with torch.no_grad():
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.running_mean.uniform_(-0.2, 0.2)
        net.bn.running_var.uniform_(0.5, 1.5)
    buffer = io.BytesIO()
    torch.onnx.export(net, (torch.rand(1, 1, 28, 28),), buffer, opset_version=17, dynamo=False, input_names=["image"],
                      output_names=["probabilities"], dynamic_axes={"image": {0: "N"}, "probabilities": {0: "N"}})
    return onnx.load_from_string(buffer.getvalue()), rng.random((5, 1, 28, 28), dtype=np.float32)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    for name, make in [("mlp", mlp), ("lenet", lenet), ("block", block), ("ops", ops), ("torch_lenet", torch_lenet)]:
        m, inputs = make()
        data = m.SerializeToString()
        session = ort.InferenceSession(data, options)
        feed = session.get_inputs()[0].name
        outputs = np.concatenate([session.run(None, {feed: inputs[i:i + 1]})[0] for i in range(len(inputs))])
        with open(os.path.join(directory, name + ".onnx"), "wb") as f:
            f.write(data)
        n = len(inputs)
        with open(os.path.join(directory, name + ".expected"), "wb") as f:
            f.write(struct.pack("<III", n, inputs[0].size, outputs[0].size))
            f.write(inputs.astype("<f4").tobytes())
            f.write(outputs.astype("<f4").tobytes())
        print(f"{name}: {len(data)} bytes, {n} samples of {inputs[0].size} -> {outputs[0].size} (onnx {onnx.__version__}, onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
