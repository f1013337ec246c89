"""Same-run reference for the MLP training benchmark: MLP 784-128-10 (ReLU, softmax
cross-entropy), plain SGD lr 0.1, batch 64, one BLAS thread, written directly in NumPy (no
framework overhead). Prints samples/s for one epoch over MNIST's training set.

Usage: OPENBLAS_NUM_THREADS=1 python3 mlp_numpy.py MNIST_DIR
"""
import gzip
import struct
import sys
import time

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    directory = sys.argv[1]
    images = read_idx(directory + "/train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(directory + "/train-labels-idx1-ubyte.gz").astype(np.int64)
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((784, 128)) * np.sqrt(2 / 784)).astype(np.float32)
    b1 = np.zeros(128, np.float32)
    w2 = (rng.standard_normal((128, 10)) * np.sqrt(2 / 128)).astype(np.float32)
    b2 = np.zeros(10, np.float32)
    lr, batch = np.float32(0.1), 64
    order = rng.permutation(len(labels))
    start = time.perf_counter()
    for first in range(0, len(order), batch):
        idx = order[first:first + batch]
        x = images[idx].astype(np.float32) * np.float32(1 / 255)
        y = labels[idx]
        h = np.maximum(x @ w1 + b1, 0)
        z = h @ w2 + b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        dz = p / np.float32(len(y))
        dh = (dz @ w2.T) * (h > 0)
        w2 -= lr * (h.T @ dz)
        b2 -= lr * dz.sum(axis=0)
        w1 -= lr * (x.T @ dh)
        b1 -= lr * dh.sum(axis=0)
    seconds = time.perf_counter() - start
    print(f"numpy reference: {len(order) / seconds:.0f} samples/s")


if __name__ == "__main__":
    main()
