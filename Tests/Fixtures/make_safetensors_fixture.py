"""Writes the safetensors fixture for export-tool's importer test, with the real `safetensors`
package (numpy backend): an MLP 784-16-10 in PyTorch's layout (Linear weights [out, in], names of
an `nn.Sequential`: 0 = Linear, 1 = ReLU, 2 = Linear), plus reference outputs computed in NumPy
(float64, then rounded to float32) for a few MNIST-like inputs.

Usage: pip install safetensors numpy; python3 make_safetensors_fixture.py
Writes mlp_784_16_10.safetensors and mlp_784_16_10.reference.json beside this script.
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261122)
w0 = (rng.standard_normal((16, 784)) * np.sqrt(2 / 784)).astype(np.float32)
b0 = (rng.standard_normal(16) * 0.1).astype(np.float32)
w1 = (rng.standard_normal((10, 16)) * np.sqrt(2 / 16)).astype(np.float32)
b1 = (rng.standard_normal(10) * 0.1).astype(np.float32)
save_file({"0.weight": w0, "0.bias": b0, "2.weight": w1, "2.bias": b1},
          os.path.join(here, "mlp_784_16_10.safetensors"), metadata={"source": "numpy", "arch": "mlp:784,16,10"})

# Inputs: sparse "images" in [0, 1] like MNIST digits, and one dense input.
inputs = []
for k in range(4):
    x = np.zeros(784, np.float32)
    on = rng.choice(784, size=120 + 20 * k, replace=False)
    x[on] = rng.integers(1, 256, size=len(on)) / 255.0
    inputs.append(x)
inputs.append(rng.random(784).astype(np.float32))


def forward(x):
    h = np.maximum(x.astype(np.float64) @ w0.T.astype(np.float64) + b0, 0)
    z = h @ w1.T.astype(np.float64) + b1
    p = np.exp(z - z.max())
    return p / p.sum()


reference = {"inputs": [x.tolist() for x in inputs], "probabilities": [forward(x).astype(np.float32).tolist() for x in inputs]}
with open(os.path.join(here, "mlp_784_16_10.reference.json"), "w") as f:
    json.dump(reference, f)
