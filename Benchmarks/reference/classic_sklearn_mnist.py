"""scikit-learn reference for the classic-model benchmarks on MNIST: wall-clock fit/predict seconds
(time.perf_counter) and test accuracy, pixels scaled to [0, 1] as float32.

  svm     SVC(kernel="rbf", C=1.0, gamma="scale") fitted on the first 10,000 training digits,
          predicting all 10,000 test digits; also the number of support vectors.
  knn     KNeighborsClassifier(n_neighbors=3, algorithm="brute") on all 60,000 training digits,
          predicting all 10,000 test digits.
  perceptron  Perceptron() with its defaults (tol=1e-3, n_iter_no_change=5, max_iter=1000,
          shuffled passes, one-vs-rest) on all 60,000 training digits; also the passes it ran.
  linear  (slow, only with --only linear or --all) LogisticRegression (multinomial, lbfgs,
          max_iter=100) and LinearSVC(C=1.0, dual=False) on all 60,000 training digits.

By default svm, knn and perceptron run. n_jobs stays at scikit-learn's default (None); BLAS/OpenMP threads
follow the usual environment variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, ...), and the
thread pools in use are reported on the first line.

Usage: python3 classic_sklearn_mnist.py MNIST_DIR [--only svm|knn|perceptron|linear] [--all]
Prints one JSON object per measurement per line.
"""
import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit(f"missing {stem}(.gz) in {directory}")


def load(directory):
    def images(stem):
        return (read_idx(find(directory, stem)).reshape(-1, 784).astype(np.float32) / 255.0)

    def labels(stem):
        return read_idx(find(directory, stem)).astype(np.int64)

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def emit(record):
    print(json.dumps(record), flush=True)


def timed(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})
    return result, seconds, messages


def with_warnings(record, messages):
    if messages:
        record["warnings"] = messages
    return record


def run_svm(x_train, y_train, x_test, y_test):
    n = 10_000
    model = SVC(kernel="rbf", C=1.0, gamma="scale")
    _, fit_s, w1 = timed(lambda: model.fit(x_train[:n], y_train[:n]))
    pred, pred_s, w2 = timed(lambda: model.predict(x_test))
    gamma = 1.0 / (x_train.shape[1] * x_train[:n].astype(np.float64).var())
    emit(with_warnings({"model": "svc_rbf_10k", "train_samples": n, "test_samples": len(y_test),
                        "fit_seconds": fit_s, "predict_seconds": pred_s,
                        "accuracy": float((pred == y_test).mean()),
                        "support_vectors": int(model.support_vectors_.shape[0]),
                        "gamma_used": gamma, "C": 1.0}, w1 + w2))


def run_knn(x_train, y_train, x_test, y_test):
    model = KNeighborsClassifier(n_neighbors=3, algorithm="brute")
    _, fit_s, w1 = timed(lambda: model.fit(x_train, y_train))
    pred, pred_s, w2 = timed(lambda: model.predict(x_test))
    emit(with_warnings({"model": "knn3_brute_60k", "train_samples": len(y_train),
                        "test_samples": len(y_test), "fit_seconds": fit_s,
                        "predict_seconds": pred_s, "accuracy": float((pred == y_test).mean())},
                       w1 + w2))


def run_perceptron(x_train, y_train, x_test, y_test):
    model = Perceptron()
    _, fit_s, w1 = timed(lambda: model.fit(x_train, y_train))
    pred, pred_s, w2 = timed(lambda: model.predict(x_test))
    emit(with_warnings({"model": "perceptron_default_60k", "train_samples": len(y_train),
                        "test_samples": len(y_test), "fit_seconds": fit_s,
                        "predict_seconds": pred_s, "accuracy": float((pred == y_test).mean()),
                        "n_iter": int(model.n_iter_)}, w1 + w2))


def run_linear(x_train, y_train, x_test, y_test):
    logistic = LogisticRegression(C=1.0, max_iter=100)
    _, fit_s, w1 = timed(lambda: logistic.fit(x_train, y_train))
    pred, pred_s, w2 = timed(lambda: logistic.predict(x_test))
    emit(with_warnings({"model": "logistic_multinomial_60k", "train_samples": len(y_train),
                        "test_samples": len(y_test), "fit_seconds": fit_s,
                        "predict_seconds": pred_s, "accuracy": float((pred == y_test).mean()),
                        "solver": "lbfgs", "max_iter": 100, "C": 1.0,
                        "n_iter": int(np.max(logistic.n_iter_))}, w1 + w2))

    svm = LinearSVC(C=1.0, dual=False, max_iter=1000)
    _, fit_s, w1 = timed(lambda: svm.fit(x_train, y_train))
    pred, pred_s, w2 = timed(lambda: svm.predict(x_test))
    emit(with_warnings({"model": "linear_svc_ovr_60k", "train_samples": len(y_train),
                        "test_samples": len(y_test), "fit_seconds": fit_s,
                        "predict_seconds": pred_s, "accuracy": float((pred == y_test).mean()),
                        "loss": "squared_hinge", "dual": False, "C": 1.0,
                        "n_iter": int(np.max(svm.n_iter_))}, w1 + w2))


def thread_info():
    try:
        from threadpoolctl import threadpool_info
        return [{"api": p.get("internal_api"), "num_threads": p.get("num_threads")}
                for p in threadpool_info()]
    except ImportError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist_dir")
    parser.add_argument("--only", choices=["svm", "knn", "perceptron", "linear"])
    parser.add_argument("--all", action="store_true", help="svm, knn and the slow linear models")
    args = parser.parse_args()

    runs = {"svm": run_svm, "knn": run_knn, "perceptron": run_perceptron, "linear": run_linear}
    if args.only:
        chosen = [args.only]
    elif args.all:
        chosen = ["svm", "knn", "perceptron", "linear"]
    else:
        chosen = ["svm", "knn", "perceptron"]

    (x_train, y_train, x_test, y_test), load_s, _ = timed(lambda: load(args.mnist_dir))
    emit({"model": "environment", "sklearn_version": sklearn.__version__,
          "numpy_version": np.__version__, "python": platform.python_version(),
          "cpu_count": os.cpu_count(), "thread_pools": thread_info(),
          "load_seconds": load_s, "train_shape": list(x_train.shape),
          "test_shape": list(x_test.shape)})
    for name in chosen:
        runs[name](x_train, y_train, x_test, y_test)


if __name__ == "__main__":
    main()
